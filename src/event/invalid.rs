//! What the store accepts of an event: its limits, the checks of its names, and why an event
//! (or a part of one) is not acceptable input.

use std::fmt;

use serde::Serializer;

/// Longest aggregate id the store accepts, in bytes.
pub const MAX_AGGREGATE_ID_LEN: usize = 200;
/// Longest event type name the store accepts, in bytes.
pub const MAX_EVENT_TYPE_LEN: usize = 100;
/// Largest event data the store accepts, as compact JSON bytes.
pub const MAX_EVENT_DATA_LEN: usize = 64 * 1024;
/// Longest correlation or causation id the store accepts, in bytes.
pub const MAX_TRACE_ID_LEN: usize = 200;

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
