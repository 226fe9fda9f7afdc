//! An event's data: a JSON object kept as canonical compact text, shared by `Arc`; and the
//! shared text a decoded segment's data is kept in.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Range;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::{InvalidEvent, MAX_EVENT_DATA_LEN};

/// Event data: a JSON object kept as canonical compact JSON text (keys sorted).
///
/// Kept as text because most reads only move it (to storage, to the page); it is parsed where it
/// is used. Canonical text makes "same content" a plain string comparison. The text may be a
/// part of a larger one shared by the events of one decoded segment ([`SharedTexts`]).
#[derive(Clone)]
pub struct EventData {
    text: Arc<str>,
    start: u32,
    end: u32,
}

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
        Ok(EventData::whole(text.into()))
    }

    /// Data that is all of `text`.
    fn whole(text: Arc<str>) -> Self {
        // No data is longer than `MAX_EVENT_DATA_LEN`; a longer text would read as empty.
        let end = u32::try_from(text.len()).unwrap_or(0);
        EventData {
            text,
            start: 0,
            end,
        }
    }

    /// Data from JSON text, which must hold an object.
    pub fn parse(text: &str) -> Result<Self, InvalidEvent> {
        let value: Value = serde_json::from_str(text).map_err(|e| InvalidEvent::DataNotJson {
            reason: e.to_string(),
        })?;
        Self::from_value(value)
    }

    /// Data from text that this crate itself stored as canonical JSON, read back from storage
    /// whose integrity was already checked (a checksum): skips re-parsing. (The segment reader
    /// keeps a segment's data in one shared text instead; serde's reading, its reference in
    /// tests, makes each event's own.)
    #[cfg(test)]
    pub(crate) fn from_stored_json(text: &str) -> Self {
        EventData::whole(text.into())
    }

    /// The empty object `{}`.
    pub fn empty() -> Self {
        EventData::whole("{}".into())
    }

    /// The canonical compact JSON text.
    pub fn as_json(&self) -> &str {
        // The range was that of a whole text pushed into the shared one: always in it.
        self.text
            .get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }

    /// The length of the text, without reading it (a million events' sizes are summed at once).
    pub fn json_len(&self) -> usize {
        self.end.saturating_sub(self.start) as usize
    }

    /// The data as a JSON value.
    pub fn to_value(&self) -> Value {
        // The text was produced by serde_json from an object, so it parses; `Null` is unreachable.
        serde_json::from_str(self.as_json()).unwrap_or(Value::Null)
    }
}

/// The same data is the same text, wherever it is kept.
impl PartialEq for EventData {
    fn eq(&self, other: &Self) -> bool {
        self.as_json() == other.as_json()
    }
}

impl Eq for EventData {}

impl Hash for EventData {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_json().hash(state);
    }
}

impl fmt::Debug for EventData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_json())
    }
}

impl fmt::Display for EventData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_json())
    }
}

/// The data texts of a segment's events, written one after the other to be kept in one
/// allocation: decoding a segment then allocates once for all its events' data instead of once
/// per event (in Chromium, opening 100,000 events 67 → 60 ms, a million 610 → 510 ms). An
/// event kept keeps its segment's texts with it.
pub(crate) struct SharedTexts {
    buffer: String,
}

impl SharedTexts {
    /// Room for texts of about `bytes` in all.
    pub fn with_capacity(bytes: usize) -> Self {
        SharedTexts {
            buffer: String::with_capacity(bytes),
        }
    }

    /// Adds a stored canonical text; where it is, or `None` past 4 GiB of texts.
    pub fn push(&mut self, text: &str) -> Option<Range<u32>> {
        let start = u32::try_from(self.buffer.len()).ok()?;
        let end = u32::try_from(self.buffer.len() + text.len()).ok()?;
        self.buffer.push_str(text);
        Some(start..end)
    }

    /// The texts, to be shared by their events.
    pub fn finish(self) -> Arc<str> {
        self.buffer.into()
    }
}

impl EventData {
    /// The data at `range` of a segment's shared texts (a range [`SharedTexts::push`] gave).
    pub(crate) fn shared(texts: &Arc<str>, range: Range<u32>) -> Self {
        EventData {
            text: Arc::clone(texts),
            start: range.start,
            end: range.end,
        }
    }
}

/// Serialises as the stored JSON text, without parsing it (serde_json's raw values): fast, and
/// exact. Meant for serde_json, to text or to a `Value`, which is how this crate serialises.
impl Serialize for EventData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match serde_json::value::RawValue::from_string(self.as_json().to_string()) {
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// Data kept in a segment's shared text is the same data as its own text, for equality and
    /// hashing alike; the other data of the same shared text is not.
    #[test]
    fn shared_data_is_the_same_data_as_its_own_text() {
        let mut texts = SharedTexts::with_capacity(0);
        let ranges = [r#"{"amount":5}"#, r#"{"amount":50}"#, "{}"]
            .map(|text| texts.push(text).unwrap_or_else(|| panic!("{text} pushed")));
        let texts = texts.finish();
        let shared = ranges.map(|range| EventData::shared(&texts, range));
        let own = [r#"{"amount":5}"#, r#"{"amount":50}"#, "{}"].map(EventData::from_stored_json);

        assert_eq!(
            shared.each_ref().map(EventData::as_json),
            own.each_ref().map(EventData::as_json)
        );
        assert_eq!(shared, own);
        assert_eq!(shared.each_ref().map(EventData::json_len), [12, 13, 2]);
        assert_ne!(shared[0], shared[1]);
        assert_eq!(shared[2], EventData::empty());
        let set: HashSet<EventData> = own.iter().cloned().collect();
        assert!(shared.iter().all(|data| set.contains(data)));
        assert_eq!(shared[1].to_value(), serde_json::json!({ "amount": 50 }));
        assert_eq!(
            serde_json::to_string(&shared[0]).ok().as_deref(),
            Some(r#"{"amount":5}"#)
        );
    }
}
