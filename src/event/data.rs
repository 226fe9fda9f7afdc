//! An event's data: a JSON object kept as canonical compact text, shared by `Arc`.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::{InvalidEvent, MAX_EVENT_DATA_LEN};

/// Event data: a JSON object kept as canonical compact JSON text (keys sorted).
///
/// Kept as text because most reads only move it (to storage, to the page); it is parsed where it
/// is used. Canonical text makes "same content" a plain string comparison.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EventData(Arc<str>);

impl EventData {
    /// Data from a parsed JSON value, which must be an object.
    pub fn from_value(value: Value) -> Result<Self, InvalidEvent> {
        match value {
            Value::Object(map) => Self::from_map(map),
            other => Err(InvalidEvent::DataNotObject {
                found: json_kind(&other),
            }),
        }
    }

    /// Data from a JSON object.
    pub fn from_map(map: Map<String, Value>) -> Result<Self, InvalidEvent> {
        // Serialising a `Value` cannot fail: all its keys are strings.
        let text =
            serde_json::to_string(&Value::Object(map)).map_err(|e| InvalidEvent::DataNotJson {
                reason: e.to_string(),
            })?;
        if text.len() > MAX_EVENT_DATA_LEN {
            return Err(InvalidEvent::DataTooLarge {
                len: text.len(),
                max: MAX_EVENT_DATA_LEN,
            });
        }
        Ok(EventData(text.into()))
    }

    /// Data from JSON text, which must hold an object.
    pub fn parse(text: &str) -> Result<Self, InvalidEvent> {
        let value: Value = serde_json::from_str(text).map_err(|e| InvalidEvent::DataNotJson {
            reason: e.to_string(),
        })?;
        Self::from_value(value)
    }

    /// Data from text that this crate itself stored as canonical JSON, read back from storage
    /// whose integrity was already checked (a checksum): skips re-parsing on the hot load path.
    pub(crate) fn from_stored_json(text: &str) -> Self {
        EventData(text.into())
    }

    /// The empty object `{}`.
    pub fn empty() -> Self {
        EventData("{}".into())
    }

    /// The canonical compact JSON text.
    pub fn as_json(&self) -> &str {
        &self.0
    }

    /// The data as a JSON value.
    pub fn to_value(&self) -> Value {
        // The text was produced by serde_json from an object, so it parses; `Null` is unreachable.
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }
}

impl fmt::Debug for EventData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for EventData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Serialises as the stored JSON text, without parsing it (serde_json's raw values): fast, and
/// exact. Meant for serde_json, to text or to a `Value`, which is how this crate serialises.
impl Serialize for EventData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match serde_json::value::RawValue::from_string(self.0.to_string()) {
            Ok(raw) => raw.serialize(serializer),
            Err(e) => Err(serde::ser::Error::custom(e)),
        }
    }
}

impl<'de> Deserialize<'de> for EventData {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        EventData::from_value(value).map_err(serde::de::Error::custom)
    }
}

/// Names the kind of a JSON value for error messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
