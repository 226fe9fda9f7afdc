//! Conversions between JSON and Rhai values, at the edges of a fold (never once per step).

use rhai::Dynamic;
use serde_json::Value;

use crate::event::EventData;

/// Event data as a Rhai object map.
pub fn data_to_dynamic(data: &EventData) -> Result<Dynamic, String> {
    serde_json::from_str::<Dynamic>(data.as_json()).map_err(|e| e.to_string())
}

/// A JSON value as a Rhai value (objects become object maps, `null` becomes `()`).
pub fn json_to_dynamic(value: &Value) -> Result<Dynamic, String> {
    rhai::serde::to_dynamic(value).map_err(|e| e.to_string())
}

/// A Rhai value as JSON (`()` becomes `null`; functions and other script-only values are refused).
pub fn dynamic_to_json(value: &Dynamic) -> Result<Value, String> {
    serde_json::to_value(value).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips_through_rhai_values() {
        let cases = [
            json!({"balance": 100, "rate": 1.5, "whole": 2.0, "tags": ["a", null, true], "nested": {}}),
            json!({}),
            json!({"big": i64::MAX, "neg": -3}),
        ];
        for case in cases {
            let dynamic = json_to_dynamic(&case);
            assert_eq!(dynamic.and_then(|d| dynamic_to_json(&d)), Ok(case));
        }
    }

    #[test]
    fn event_data_becomes_a_map() {
        let data = EventData::parse(r#"{"amount": 30}"#).map_err(|e| e.to_string());
        let map = data.and_then(|d| data_to_dynamic(&d));
        assert_eq!(map.map(|m| m.is_map()), Ok(true));
    }
}
