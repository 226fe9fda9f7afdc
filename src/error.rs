//! The sandbox's error type: business rejections apart from technical failures, each with a kind
//! that the page and JS callers can switch on.

use serde::Serialize;

use crate::event::InvalidEvent;
use crate::interchange::ImportError;
#[cfg(feature = "read-model")]
use crate::read_side::{ProjectionError, QueryError};
use crate::scenario::ScenarioError;
use crate::script::ScriptError;
use crate::store::StoreError;

/// Why a sandbox operation did not happen. Nothing is written when one is returned.
///
/// Serialised (for JS callers' `details`), a variant is its fields, or the error it wraps.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum SandboxError {
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
    /// The store refused or failed (conflict, idempotency, storage).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A script failed.
    #[error(transparent)]
    Script(#[from] ScriptError),
    /// The scenario is not valid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
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
    /// The store's events were written under another scenario than the one given.
    #[error("{}", other_scenario(stored, given))]
    OtherScenario {
        /// The scenario recorded with the store.
        stored: String,
        /// The scenario given.
        given: String,
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
    /// A projection could not be set up or changed.
    #[cfg(feature = "read-model")]
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    /// A query gave no answer.
    #[cfg(feature = "read-model")]
    #[error(transparent)]
    Query(#[from] QueryError),
    /// A file (or link) to import has problems.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// Other input that cannot be used, such as a malformed options object.
    #[error("{what}: {reason}")]
    BadInput {
        /// Which input.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Why a store was not opened with another scenario, and the ways to open it.
fn other_scenario(stored: &str, given: &str) -> String {
    if stored == given {
        format!(
            "this store's events were written under other rules of scenario {stored}: open it with the store's own rules (onOtherScenario: \"useStored\") or with the ones given (\"useGiven\")"
        )
    } else {
        format!(
            "this store holds events of scenario {stored}, not {given}: open it with {stored} (onOtherScenario: \"useStored\"), or with {given} anyway (\"useGiven\")"
        )
    }
}

/// A shape mismatch in words: "`amount` must be integer, found a string \"five\"".
fn shape_message(field: &str, expected: &str, found: &str) -> String {
    if field.is_empty() {
        format!("must be {expected}, found {found}")
    } else {
        format!("`{field}` must be {expected}, found {found}")
    }
}

/// The class of an error, for callers that switch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    /// Optimistic concurrency conflict: reload and retry.
    Conflict,
    /// A business rule refused a command.
    BusinessRule,
    /// A script failed to compile or run.
    Script,
    /// Input that cannot be used.
    BadInput,
    /// An event id was misused (re-used with other content, or in a half-stored batch).
    Idempotency,
    /// Browser storage is full.
    StorageFull,
    /// A stored record cannot be read.
    Corrupt,
    /// Storage failed otherwise.
    Storage,
    /// A projection's SQL failed.
    Projection,
    /// A query was refused, failed or ran too long.
    Query,
    /// The store's events were written under another scenario.
    OtherScenario,
}

impl ErrorKind {
    /// The kind as the string JS sees: `conflict`, `businessRule`, …
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Conflict => "conflict",
            ErrorKind::BusinessRule => "businessRule",
            ErrorKind::Script => "script",
            ErrorKind::BadInput => "badInput",
            ErrorKind::Idempotency => "idempotency",
            ErrorKind::StorageFull => "storageFull",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::Storage => "storage",
            ErrorKind::Projection => "projection",
            ErrorKind::Query => "query",
            ErrorKind::OtherScenario => "otherScenario",
        }
    }
}

impl SandboxError {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SandboxError::Rejected { .. } => ErrorKind::BusinessRule,
            SandboxError::Script(_) | SandboxError::Scenario(ScenarioError::Script(_)) => {
                ErrorKind::Script
            }
            SandboxError::Store(store) => match store {
                StoreError::Conflict { .. } => ErrorKind::Conflict,
                StoreError::DuplicateInBatch { .. }
                | StoreError::EventIdReused { .. }
                | StoreError::PartlyStored { .. } => ErrorKind::Idempotency,
                StoreError::StorageFull { .. } => ErrorKind::StorageFull,
                StoreError::Corrupt { .. } => ErrorKind::Corrupt,
                StoreError::Backend { .. } | StoreError::Closed { .. } => ErrorKind::Storage,
                StoreError::InvalidEvent { .. }
                | StoreError::BadName { .. }
                | StoreError::InvalidAggregate(_)
                | StoreError::EmptyBatch
                | StoreError::BatchTooLarge { .. } => ErrorKind::BadInput,
            },
            #[cfg(feature = "read-model")]
            SandboxError::Projection(_) => ErrorKind::Projection,
            #[cfg(feature = "read-model")]
            SandboxError::Query(_) => ErrorKind::Query,
            SandboxError::OtherScenario { .. } => ErrorKind::OtherScenario,
            SandboxError::Scenario(_)
            | SandboxError::UnknownAggregate { .. }
            | SandboxError::UnknownCommand { .. }
            | SandboxError::UnknownEventType { .. }
            | SandboxError::UnknownSchemaVersion { .. }
            | SandboxError::VersionOutOfRange { .. }
            | SandboxError::InvalidEvent { .. }
            | SandboxError::Shape { .. }
            | SandboxError::Import(_)
            | SandboxError::BadInput { .. } => ErrorKind::BadInput,
        }
    }

    /// Shorthand for [`SandboxError::BadInput`].
    pub fn bad_input(what: impl Into<String>, reason: impl Into<String>) -> Self {
        SandboxError::BadInput {
            what: what.into(),
            reason: reason.into(),
        }
    }
}
