//! The one error type of the storage boundary.

use crate::error::ErrorKind;
use crate::event::{EventId, InvalidEvent};
use crate::expected::{ExpectedVersion, describe_actual};

/// Why a store refused or failed an operation. Every variant leaves the store as it was.
///
/// Serialised (for JS callers' `details`), a variant is its fields.
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum StoreError {
    /// An event of the batch is not acceptable.
    #[error("event {index} of the batch is not valid: {source}")]
    InvalidEvent {
        /// Zero-based index in the batch.
        index: usize,
        /// What is wrong.
        #[serde(rename = "reason", serialize_with = "crate::event::as_text")]
        source: InvalidEvent,
    },
    /// The aggregate id is not acceptable.
    #[error(transparent)]
    InvalidAggregate(#[serde(serialize_with = "crate::event::as_text")] InvalidEvent),
    /// An append needs at least one event.
    #[error("an append needs at least one event")]
    EmptyBatch,
    /// Too many events in one append.
    #[error("a batch holds at most {max} events, this one has {len}")]
    BatchTooLarge {
        /// Events in the batch.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Optimistic concurrency: the aggregate is not at the version the writer expected.
    #[error(
        "concurrency conflict on {aggregate_id}: expected {expected}, actual {}",
        describe_actual(*actual)
    )]
    Conflict {
        /// The aggregate appended to.
        aggregate_id: String,
        /// What the writer expected.
        expected: ExpectedVersion,
        /// The aggregate's last version (0 = no events).
        actual: u64,
    },
    /// The same event id appears twice in one batch.
    #[error("event id {event_id} appears more than once in the batch")]
    DuplicateInBatch {
        /// The repeated id.
        event_id: EventId,
    },
    /// The event id is already stored, with other content: ids are stored at most once, ever.
    #[error(
        "event id {event_id} is already stored (position {position}) with different content; an event id is stored at most once"
    )]
    EventIdReused {
        /// The re-used id.
        event_id: EventId,
        /// Where the stored event with that id is.
        position: u64,
    },
    /// Some ids of the batch are stored and some are not: neither a retry nor a new batch.
    #[error(
        "event id {event_id} is already stored (position {position}) but other events of the batch are not; re-send the original batch unchanged or use new ids"
    )]
    PartlyStored {
        /// The first already-stored id of the batch.
        event_id: EventId,
        /// Where it is stored.
        position: u64,
    },
    /// The storage is full (browser quota).
    #[error("{backend} storage is full: {detail}")]
    StorageFull {
        /// Which backend.
        backend: &'static str,
        /// What the browser said.
        detail: String,
    },
    /// The stored log is not intact: a record does not decode, does not continue the log, or
    /// acknowledged records are missing.
    #[error(
        "stored record {key} in {store} cannot be read: {reason} (the log is intact up to position {intact_up_to})"
    )]
    Corrupt {
        /// The store (database and object store, or key prefix).
        store: String,
        /// The record's key.
        key: String,
        /// Why it cannot be read.
        reason: String,
        /// The last position up to which the log reads and continues correctly.
        intact_up_to: u64,
    },
    /// The backend failed in another way.
    #[error("{backend} failed to {operation}: {message}")]
    Backend {
        /// Which backend.
        backend: &'static str,
        /// What was being done.
        operation: &'static str,
        /// What the backend said.
        message: String,
    },
    /// A store name that cannot be used.
    #[error("store name {name:?} must be 1 to 64 ASCII letters, digits, '.', '_' or '-'")]
    BadName {
        /// The name given.
        name: String,
    },
    /// The store was closed or destroyed.
    #[error("the store is closed: {reason}")]
    Closed {
        /// Why.
        reason: String,
    },
}

impl StoreError {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
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
        }
    }
}
