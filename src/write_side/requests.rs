//! What callers hand to the sandbox (new events, commands) and what it hands back.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::{EventData, EventId, StoredEvent, Timestamp};
use crate::expected::ExpectedVersion;

/// An event to append, as a caller writes it: the id, schema version and timestamp may be left
/// out (a new id, the current schema version and the caller's `now` are used).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewEvent {
    /// The event's id; give one to make retries idempotent.
    #[serde(default)]
    pub event_id: Option<EventId>,
    /// Its type, such as `Deposited`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Its schema version (default: the current one).
    #[serde(default)]
    pub schema_version: Option<u32>,
    /// Its data (default `{}`).
    #[serde(default = "EventData::empty")]
    pub data: EventData,
    /// When it happened (default: the caller's `now`).
    #[serde(default)]
    pub timestamp: Option<Timestamp>,
    /// Correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// Causation id.
    #[serde(default)]
    pub causation_id: Option<String>,
}

impl NewEvent {
    /// An event of a type with data, everything else defaulted.
    pub fn new(event_type: &str, data: EventData) -> Self {
        NewEvent {
            event_id: None,
            event_type: event_type.to_string(),
            schema_version: None,
            data,
            timestamp: None,
            correlation_id: None,
            causation_id: None,
        }
    }
}

/// A command for an aggregate.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandRequest {
    /// The aggregate, such as `acc-001`.
    pub aggregate_id: String,
    /// The command, such as `Deduct`.
    pub command: String,
    /// Its payload.
    pub payload: Value,
    /// How it is checked and how its events are stamped.
    pub options: CommandOptions,
}

/// How a command is checked and how its events are stamped (the JS `execute`'s options).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommandOptions {
    /// Refuse unless the aggregate is at this version.
    #[serde(default)]
    pub expected: Option<ExpectedVersion>,
    /// When it happens (default: the caller's `now`).
    #[serde(default)]
    pub timestamp: Option<Timestamp>,
    /// Correlation id for the events.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// Causation id for the events.
    #[serde(default)]
    pub causation_id: Option<String>,
    /// Ids for the events the command produces, in order, to make the command idempotent.
    #[serde(default)]
    pub event_ids: Vec<EventId>,
}

impl CommandRequest {
    /// A command with a payload, everything else defaulted.
    pub fn new(aggregate_id: &str, command: &str, payload: Value) -> Self {
        CommandRequest {
            aggregate_id: aggregate_id.to_string(),
            command: command.to_string(),
            payload,
            options: CommandOptions::default(),
        }
    }
}

/// What an append or a command stored, and the aggregate's state after it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Committed {
    /// The aggregate.
    pub aggregate_id: String,
    /// The events stored (or, for an idempotent retry, found), in order.
    pub events: Vec<StoredEvent>,
    /// True when every event was already stored and nothing was written.
    pub already_stored: bool,
    /// The aggregate's state after the events.
    pub state: Value,
    /// The aggregate's version after the events.
    pub version: u64,
    /// The version of the snapshot taken automatically, if one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_taken: Option<u64>,
    /// Why an automatic snapshot could not be taken (the events are stored regardless).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_error: Option<String>,
}
