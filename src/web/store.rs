//! The store a page chooses at open time, behind the one storage trait.

use crate::event::{ProposedEvent, StoredEvent};
use crate::expected::ExpectedVersion;
use crate::snapshot::Snapshot;
use crate::store::{
    AppendOutcome, EventStore, MemoryStore, ReadAll, StoreError, StreamInfo, VersionRange,
};

/// One of the browser's backends.
pub enum BrowserStore {
    /// Nothing survives a reload.
    Memory(MemoryStore),
}

/// Calls the same method on whichever backend is inside.
macro_rules! each_backend {
    ($self:expr, $store:ident => $call:expr) => {
        match $self {
            BrowserStore::Memory($store) => $call,
        }
    };
}

impl EventStore for BrowserStore {
    async fn append(
        &self,
        aggregate_id: &str,
        expected: ExpectedVersion,
        events: Vec<ProposedEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        each_backend!(self, s => s.append(aggregate_id, expected, events).await)
    }

    async fn read_stream(
        &self,
        aggregate_id: &str,
        range: VersionRange,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        each_backend!(self, s => s.read_stream(aggregate_id, range).await)
    }

    async fn read_all(&self, query: &ReadAll) -> Result<Vec<StoredEvent>, StoreError> {
        each_backend!(self, s => s.read_all(query).await)
    }

    async fn stream_version(&self, aggregate_id: &str) -> Result<u64, StoreError> {
        each_backend!(self, s => s.stream_version(aggregate_id).await)
    }

    async fn streams(&self) -> Result<Vec<StreamInfo>, StoreError> {
        each_backend!(self, s => s.streams().await)
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        each_backend!(self, s => s.head_position().await)
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        each_backend!(self, s => s.save_snapshot(snapshot).await)
    }

    async fn snapshots(&self, aggregate_id: &str) -> Result<Vec<Snapshot>, StoreError> {
        each_backend!(self, s => s.snapshots(aggregate_id).await)
    }
}
