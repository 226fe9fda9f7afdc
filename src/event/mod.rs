//! Events: the immutable facts an event store keeps, and the proposals that become them. Their
//! id (`id`), their data (`data`) and what the store accepts of them (`invalid`) each have a
//! file; the event as proposed and as stored are here.

mod data;
mod id;
mod invalid;

#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod arbitrary;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub(crate) use data::SharedTexts;
pub use data::{EventData, json_kind};
pub use id::EventId;
pub use invalid::{
    InvalidEvent, MAX_AGGREGATE_ID_LEN, MAX_EVENT_DATA_LEN, MAX_EVENT_TYPE_LEN, MAX_TRACE_ID_LEN,
    as_text, check_aggregate_id, check_event_type,
};

/// Milliseconds since the Unix epoch, always supplied by the caller: the core never reads a clock.
pub type Timestamp = i64;

/// What an event carries besides its data.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// When the event happened, in ms since the Unix epoch.
    pub timestamp: Timestamp,
    /// Groups events caused by one user action. (Boxed rather than a `String`: the log holds
    /// every event in memory, and a box is a third smaller.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<Box<str>>,
    /// The id of the message (command or event) that caused this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Box<str>>,
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

    /// The length of this event as compact JSON (what `serde_json::to_string` gives), counted
    /// without writing it: the storage view sums it over every event of the log.
    pub fn json_len(&self) -> usize {
        let metadata = &self.metadata;
        let optional = |name: &str, value: &Option<Box<str>>| {
            value
                .as_deref()
                .map_or(0, |v| name.len() + json_string_len(v))
        };
        r#"{"position":"#.len()
            + digits(self.position)
            + r#","eventId":""#.len()
            + 36
            + r#"","aggregateId":"#.len()
            + json_string_len(&self.aggregate_id)
            + r#","version":"#.len()
            + digits(self.version)
            + r#","type":"#.len()
            + json_string_len(&self.event_type)
            + r#","schemaVersion":"#.len()
            + digits(u64::from(self.schema_version))
            + r#","data":"#.len()
            + self.data.json_len()
            + r#","timestamp":"#.len()
            + usize::from(metadata.timestamp < 0)
            + digits(metadata.timestamp.unsigned_abs())
            + optional(r#","correlationId":"#, &metadata.correlation_id)
            + optional(r#","causationId":"#, &metadata.causation_id)
            + "}".len()
    }
}

/// Decimal digits of a number.
fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

/// The length of a string as a JSON string, quotes and serde_json's escapes included.
fn json_string_len(text: &str) -> usize {
    2 + text
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0x00..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
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

    // Property tests run natively (proptest is a native dev-dependency).
    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #[test]
        fn json_len_is_the_length_of_the_json(event in super::arbitrary::any_stored_event()) {
            let json = serde_json::to_string(&event).unwrap_or_default();
            proptest::prop_assert_eq!(event.json_len(), json.len(), "{}", json);
        }
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
