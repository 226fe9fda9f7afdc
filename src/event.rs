//! Events: the immutable facts an event store keeps, and the proposals that become them.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Longest aggregate id the store accepts, in bytes.
pub const MAX_AGGREGATE_ID_LEN: usize = 200;
/// Longest event type name the store accepts, in bytes.
pub const MAX_EVENT_TYPE_LEN: usize = 100;
/// Largest event data the store accepts, as compact JSON bytes.
pub const MAX_EVENT_DATA_LEN: usize = 64 * 1024;
/// Longest correlation or causation id the store accepts, in bytes.
pub const MAX_TRACE_ID_LEN: usize = 200;

/// A globally unique event id (a UUID), the key of idempotent appends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(uuid::Uuid);

impl EventId {
    /// A new random (version 4) id.
    pub fn new_random() -> Self {
        EventId(uuid::Uuid::new_v4())
    }

    /// An id derived from a name, the same every time: used for seed events so that two tabs
    /// seeding the same empty store append the same events once.
    pub fn derived(name: &str) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(name.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        EventId(uuid::Builder::from_custom_bytes(bytes).into_uuid())
    }

    /// Parses the usual hyphenated (or simple) UUID text form.
    pub fn parse(text: &str) -> Result<Self, InvalidEvent> {
        uuid::Uuid::parse_str(text)
            .map(EventId)
            .map_err(|_| InvalidEvent::EventId(text.chars().take(64).collect()))
    }

    /// Writes the hyphenated text form into a buffer, without allocating.
    pub fn encode<'b>(&self, buffer: &'b mut [u8; 45]) -> &'b str {
        self.0.hyphenated().encode_lower(buffer)
    }

    /// The 16 bytes of the UUID.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    /// Builds an id from its 16 bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        EventId(uuid::Uuid::from_bytes(bytes))
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// Why an event (or a part of one) is not acceptable input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidEvent {
    /// The text is not a UUID.
    #[error("event id {0:?} is not a UUID")]
    EventId(String),
    /// Data must be a JSON object.
    #[error("event data must be a JSON object, got {found}")]
    DataNotObject {
        /// The JSON kind that was found instead.
        found: &'static str,
    },
    /// Data is not valid JSON.
    #[error("event data is not valid JSON: {reason}")]
    DataNotJson {
        /// What the JSON parser said.
        reason: String,
    },
    /// Data is larger than the limit.
    #[error("event data is {len} bytes, more than the limit of {max}")]
    DataTooLarge {
        /// Size of the compact JSON.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An aggregate id is empty, too long or has control characters.
    #[error("aggregate id {id:?} is not valid: {reason}")]
    AggregateId {
        /// The id, cut to 64 characters.
        id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An event type is empty, too long or has characters other than letters, digits and `_`.
    #[error("event type {name:?} is not valid: {reason}")]
    EventType {
        /// The type, cut to 64 characters.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Schema versions start at 1.
    #[error("schema version must be 1 or more, got {0}")]
    SchemaVersion(u32),
    /// A correlation or causation id is too long.
    #[error("{field} is longer than {MAX_TRACE_ID_LEN} bytes")]
    TraceIdTooLong {
        /// `correlationId` or `causationId`.
        field: &'static str,
    },
}

/// Serialises a value as its text (`Display`), for error details.
pub fn as_text<T: fmt::Display, S: Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// Checks an aggregate id: 1 to [`MAX_AGGREGATE_ID_LEN`] bytes, no control characters.
pub fn check_aggregate_id(id: &str) -> Result<(), InvalidEvent> {
    let reason = if id.is_empty() {
        "it is empty"
    } else if id.len() > MAX_AGGREGATE_ID_LEN {
        "it is longer than 200 bytes"
    } else if id.chars().any(char::is_control) {
        "it contains control characters"
    } else if id.trim() != id {
        "it starts or ends with whitespace"
    } else {
        return Ok(());
    };
    Err(InvalidEvent::AggregateId {
        id: id.chars().take(64).collect(),
        reason,
    })
}

/// Checks an event type name: an identifier (`Deposited`, `user_registered`), so that rules can
/// name their handler after it.
pub fn check_event_type(name: &str) -> Result<(), InvalidEvent> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.len() > MAX_EVENT_TYPE_LEN {
        "it is longer than 100 bytes"
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        "it starts with a digit"
    } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        "only ASCII letters, digits and _ are allowed"
    } else {
        return Ok(());
    };
    Err(InvalidEvent::EventType {
        name: name.chars().take(64).collect(),
        reason,
    })
}

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

/// Milliseconds since the Unix epoch, always supplied by the caller: the core never reads a clock.
pub type Timestamp = i64;

/// What an event carries besides its data.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// When the event happened, in ms since the Unix epoch.
    pub timestamp: Timestamp,
    /// Groups events caused by one user action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The id of the message (command or event) that caused this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
}

impl Metadata {
    /// Metadata with only a timestamp.
    pub fn at(timestamp: Timestamp) -> Self {
        Metadata {
            timestamp,
            correlation_id: None,
            causation_id: None,
        }
    }

    fn check(&self) -> Result<(), InvalidEvent> {
        for (field, value) in [
            ("correlationId", &self.correlation_id),
            ("causationId", &self.causation_id),
        ] {
            if value.as_ref().is_some_and(|v| v.len() > MAX_TRACE_ID_LEN) {
                return Err(InvalidEvent::TraceIdTooLong { field });
            }
        }
        Ok(())
    }
}

/// An event offered to the store: everything but the version and position, which the store assigns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProposedEvent {
    /// The caller's id for this event; re-sending it is idempotent.
    pub event_id: EventId,
    /// What happened, such as `Deposited`.
    #[serde(rename = "type")]
    pub event_type: Arc<str>,
    /// The shape version of `data` (1, 2, …), for upcasting.
    pub schema_version: u32,
    /// The facts.
    pub data: EventData,
    /// Timestamp and tracing ids.
    #[serde(flatten)]
    pub metadata: Metadata,
}

impl ProposedEvent {
    /// The event placed in the log: the one place a proposal gets its version and position,
    /// used by the store when it appends and by the rules when they fold a batch before it is
    /// stored.
    pub fn place(self, aggregate_id: &Arc<str>, version: u64, position: u64) -> StoredEvent {
        StoredEvent {
            position,
            event_id: self.event_id,
            aggregate_id: Arc::clone(aggregate_id),
            version,
            event_type: self.event_type,
            schema_version: self.schema_version,
            data: self.data,
            metadata: self.metadata,
        }
    }

    /// Checks the parts the store is strict about.
    pub fn check(&self) -> Result<(), InvalidEvent> {
        check_event_type(&self.event_type)?;
        if self.schema_version == 0 {
            return Err(InvalidEvent::SchemaVersion(0));
        }
        self.metadata.check()
    }
}

/// An event as stored: immutable, with its place in its aggregate and in the whole log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredEvent {
    /// Place in the whole log: 1, 2, 3 … across all aggregates.
    pub position: u64,
    /// Unique id of the event.
    pub event_id: EventId,
    /// The aggregate (stream) the event belongs to, such as `acc-001`. Shared, not copied, by
    /// the events of one aggregate.
    pub aggregate_id: Arc<str>,
    /// Place in its aggregate: 1, 2, 3 …
    pub version: u64,
    /// What happened, such as `Deposited`.
    #[serde(rename = "type")]
    pub event_type: Arc<str>,
    /// The shape version of `data`.
    pub schema_version: u32,
    /// The facts, exactly as stored.
    pub data: EventData,
    /// Timestamp and tracing ids.
    #[serde(flatten)]
    pub metadata: Metadata,
}

impl StoredEvent {
    /// Whether this stored event is what `proposed` describes for `aggregate_id`: the rule that
    /// decides whether a re-sent event id is an idempotent retry or a misuse.
    pub fn same_content(&self, aggregate_id: &str, proposed: &ProposedEvent) -> bool {
        self.event_id == proposed.event_id
            && *self.aggregate_id == *aggregate_id
            && *self.event_type == *proposed.event_type
            && self.schema_version == proposed.schema_version
            && self.data == proposed.data
            && self.metadata == proposed.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn data_is_canonical_so_equal_objects_compare_equal() {
        let a = EventData::parse(r#"{ "b": 1, "a": {"y": 2, "x": 1} }"#);
        let b = EventData::from_value(json!({"a": {"x": 1, "y": 2}, "b": 1}));
        assert_eq!(a, b);
        assert_eq!(
            a.map(|d| d.as_json().to_string()),
            Ok(r#"{"a":{"x":1,"y":2},"b":1}"#.to_string())
        );
    }

    #[test]
    fn data_serialises_as_its_json_to_text_and_to_values() {
        let data = EventData::from_value(json!({"b": [1, 2.5], "a": "x"}));
        let data = data.unwrap_or_else(|_| EventData::empty());
        assert_eq!(
            serde_json::to_string(&data).ok().as_deref(),
            Some(r#"{"a":"x","b":[1,2.5]}"#)
        );
        assert_eq!(
            serde_json::to_value(&data).ok(),
            Some(json!({"a": "x", "b": [1, 2.5]}))
        );
    }

    #[test]
    fn data_must_be_an_object_of_bounded_size() {
        assert_eq!(
            EventData::parse("[1]"),
            Err(InvalidEvent::DataNotObject { found: "an array" })
        );
        assert!(matches!(
            EventData::parse("{"),
            Err(InvalidEvent::DataNotJson { .. })
        ));
        let big = json!({ "s": "x".repeat(MAX_EVENT_DATA_LEN) });
        assert!(matches!(
            EventData::from_value(big),
            Err(InvalidEvent::DataTooLarge { .. })
        ));
    }

    #[test]
    fn names_are_checked() {
        let table: &[(&str, bool)] = &[
            ("Deposited", true),
            ("user_registered_v2", true),
            ("", false),
            ("2fast", false),
            ("has space", false),
            ("dash-ed", false),
        ];
        for (name, ok) in table {
            assert_eq!(check_event_type(name).is_ok(), *ok, "event type {name:?}");
        }
        let ids: &[(&str, bool)] = &[
            ("acc-001", true),
            ("a b", true),
            ("", false),
            (" acc", false),
            ("acc\n", false),
        ];
        for (id, ok) in ids {
            assert_eq!(check_aggregate_id(id).is_ok(), *ok, "aggregate id {id:?}");
        }
        assert!(check_aggregate_id(&"x".repeat(MAX_AGGREGATE_ID_LEN + 1)).is_err());
    }

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        assert_eq!(EventId::derived("seed/1"), EventId::derived("seed/1"));
        assert_ne!(EventId::derived("seed/1"), EventId::derived("seed/2"));
        let id = EventId::derived("x");
        assert_eq!(EventId::parse(&id.to_string()), Ok(id));
        assert!(EventId::parse("not-a-uuid").is_err());
    }
}
