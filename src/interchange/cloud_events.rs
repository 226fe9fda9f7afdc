//! CloudEvents 1.0, JSON structured mode, as a batch (`application/cloudevents-batch+json`): one
//! JSON object per event. `id` is the event id, `type` the event type, `subject` the aggregate
//! id, `source` names the scenario, `time` is the timestamp, `data` the data; the sandbox's
//! envelope travels in extension attributes `schemaversion`, `streamversion`, `position`,
//! `correlationid` and `causationid`.

use serde_json::{Map, Value, json};

use super::problems::{
    FieldNames, ImportError, Problems, RawEvent, exchange, json_document, text_field,
};
use super::time::{format_rfc3339, parse_rfc3339};
use super::{Entry, Exchange, insert_trace_ids};
use crate::event::StoredEvent;

/// The batch, one event per line inside a JSON array.
pub fn write(scenario: &str, events: &[StoredEvent]) -> String {
    let source = format!("/es-sandbox/{scenario}");
    let mut out = String::from("[\n");
    for (index, event) in events.iter().enumerate() {
        let mut object = json!({
            "specversion": "1.0",
            "id": event.event_id.to_string(),
            "source": source,
            "type": &*event.event_type,
            "subject": &*event.aggregate_id,
            "time": format_rfc3339(event.metadata.timestamp),
            "datacontenttype": "application/json",
            "data": event.data.to_value(),
            "schemaversion": event.schema_version,
            "streamversion": event.version,
            "position": event.position,
        });
        insert_trace_ids(&mut object, event, ["correlationid", "causationid"]);
        out.push_str("  ");
        out.push_str(&object.to_string());
        out.push_str(if index + 1 < events.len() {
            ",\n"
        } else {
            "\n"
        });
    }
    out.push_str("]\n");
    out
}

/// Reads a batch (or a single event), in log order: by `position` where every event has one.
pub fn read(text: &str) -> Result<Exchange, ImportError> {
    let events = match json_document(text)? {
        Value::Array(events) => events,
        event @ Value::Object(_) => vec![event],
        other => {
            return Err(ImportError::at(
                "$",
                format!(
                    "expected a batch (an array) of CloudEvents, found {}",
                    crate::event::json_kind(&other)
                ),
            ));
        }
    };
    let mut problems = Problems::default();
    let mut entries = Vec::with_capacity(events.len());
    for (index, event) in events.iter().enumerate() {
        let at = format!("$[{index}]");
        match entry(event, &at) {
            Ok(entry) => entries.push(entry),
            Err(message) => problems.add(at, message),
        }
    }
    if entries.iter().all(|e| e.position.is_some()) {
        entries.sort_by_key(|e| e.position);
    }
    exchange(problems, None, entries)
}

fn entry(event: &Value, at: &str) -> Result<Entry, String> {
    let Value::Object(map) = event else {
        return Err("an event must be an object".into());
    };
    if text_field(map.get("specversion"), "specversion")? != "1.0" {
        return Err("`specversion` must be \"1.0\"".into());
    }
    text_field(map.get("source"), "source")?;
    if map.contains_key("data_base64") {
        return Err("`data_base64` (binary data) is not supported: events carry JSON data".into());
    }
    match map.get("datacontenttype") {
        None | Some(Value::Null) => {}
        value => {
            let content_type = text_field(value, "datacontenttype")?;
            if !content_type.starts_with("application/json") {
                return Err(format!(
                    "`datacontenttype` must be application/json, found {:?}",
                    content_type.chars().take(64).collect::<String>()
                ));
            }
        }
    }
    let timestamp = match map.get("time") {
        None | Some(Value::Null) => None,
        value => {
            let time = text_field(value, "time")?;
            Some(parse_rfc3339(time).ok_or_else(|| {
                format!(
                    "`time` {:?} is not an RFC 3339 date-time",
                    time.chars().take(64).collect::<String>()
                )
            })?)
        }
    };
    let no_data = Value::Object(Map::new());
    let raw = RawEvent {
        aggregate_id: map.get("subject"),
        event_id: map.get("id"),
        event_type: map.get("type"),
        schema_version: map.get("schemaversion"),
        data: Some(map.get("data").unwrap_or(&no_data)),
        timestamp,
        correlation_id: map.get("correlationid"),
        causation_id: map.get("causationid"),
        version: map.get("streamversion"),
        position: map.get("position"),
        names: FieldNames {
            aggregate_id: "subject",
            event_id: "id",
            event_type: "type",
        },
    };
    raw.into_entry(at.to_string()).map_err(|p| p.message)
}
