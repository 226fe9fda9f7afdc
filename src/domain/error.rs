//! The domain's error: what a command, an event, a shape or the rules can get wrong, apart from
//! storage. A business rule's refusal (`Rejected`) is apart from a script failing (`Script`).

use serde::Serialize;

use crate::error::ErrorKind;
use crate::event::InvalidEvent;
use crate::script::ScriptError;

/// Why the rules did not decide, fold or accept something. Nothing is written when one is
/// returned.
///
/// Serialised (for JS callers' `details`), a variant is its fields, or the error it wraps.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum DomainError {
    /// The rules refused the command: a business rule, not a failure.
    #[error("{command} on {aggregate_id} was rejected: {message}")]
    Rejected {
        /// The aggregate.
        aggregate_id: String,
        /// The command.
        command: String,
        /// The rule's message, such as "insufficient funds: balance 20, asked 30".
        message: String,
    },
    /// A script failed: the rules, an upcaster, or what they returned.
    #[error(transparent)]
    Script(#[from] ScriptError),
    /// No aggregate type of the scenario has ids like this one.
    #[error(
        "no aggregate of this scenario has an id like {aggregate_id:?}; ids start with {}",
        prefixes.join(" or ")
    )]
    UnknownAggregate {
        /// The id given.
        aggregate_id: String,
        /// The id prefixes there are.
        prefixes: Vec<String>,
    },
    /// The aggregate's rules have no handler for the command.
    #[error("{aggregate_type} has no command {command:?}; its commands are {}", known.join(", "))]
    UnknownCommand {
        /// The aggregate type.
        aggregate_type: String,
        /// The command given.
        command: String,
        /// Its commands.
        known: Vec<String>,
    },
    /// An appended event has a type the aggregate's rules cannot apply.
    #[error("{aggregate_type} rules cannot apply events of type {event_type:?}; they apply {}", known.join(", "))]
    UnknownEventType {
        /// The aggregate type.
        aggregate_type: String,
        /// The type given.
        event_type: String,
        /// The types it applies.
        known: Vec<String>,
    },
    /// An appended event claims a schema version the upcasters do not know.
    #[error("{event_type} has schema versions 1 to {current}; {given} is not one of them")]
    UnknownSchemaVersion {
        /// The event type.
        event_type: String,
        /// The version given.
        given: u32,
        /// The current version.
        current: u32,
    },
    /// A version beyond the aggregate's last.
    #[error("{aggregate_id} has {head} versions; there is no version {asked}")]
    VersionOutOfRange {
        /// The aggregate.
        aggregate_id: String,
        /// The version asked for.
        asked: u64,
        /// Its last version.
        head: u64,
    },
    /// An event given to append is not valid.
    #[error("event {index}: {source}")]
    InvalidEvent {
        /// Its index in the batch.
        index: usize,
        /// What is wrong.
        #[serde(rename = "reason", serialize_with = "crate::event::as_text")]
        source: InvalidEvent,
    },
    /// An event's data or a command's payload does not have its declared shape.
    #[error("{what}: {}", shape_message(field, expected, found))]
    Shape {
        /// The event type and schema version, or the command.
        what: String,
        /// The field's path (empty: the whole value).
        field: String,
        /// What the shape says it must be.
        expected: String,
        /// What it is.
        found: String,
    },
    /// Other input the rules cannot use, such as a replay asked for a version and a time.
    #[error("{what}: {reason}")]
    BadInput {
        /// Which input.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A shape mismatch in words: "`amount` must be integer, found a string \"five\"".
fn shape_message(field: &str, expected: &str, found: &str) -> String {
    if field.is_empty() {
        format!("must be {expected}, found {found}")
    } else {
        format!("`{field}` must be {expected}, found {found}")
    }
}

impl DomainError {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            DomainError::Rejected { .. } => ErrorKind::BusinessRule,
            DomainError::Script(_) => ErrorKind::Script,
            DomainError::UnknownAggregate { .. }
            | DomainError::UnknownCommand { .. }
            | DomainError::UnknownEventType { .. }
            | DomainError::UnknownSchemaVersion { .. }
            | DomainError::VersionOutOfRange { .. }
            | DomainError::InvalidEvent { .. }
            | DomainError::Shape { .. }
            | DomainError::BadInput { .. } => ErrorKind::BadInput,
        }
    }

    /// Shorthand for [`DomainError::BadInput`].
    pub fn bad_input(what: impl Into<String>, reason: impl Into<String>) -> Self {
        DomainError::BadInput {
            what: what.into(),
            reason: reason.into(),
        }
    }
}
