//! The in-memory backend: for tests and throwaway demos; forgets everything when dropped.

use std::cell::RefCell;
use std::collections::HashMap;

use super::{
    AppendOutcome, EventLog, EventStore, News, Origin, Prepared, ReadAll, StoreError, StreamInfo,
    VersionRange,
};
use crate::event::{EventId, ProposedEvent, StoredEvent};
use crate::expected::ExpectedVersion;
use crate::snapshot::Snapshot;

/// A store that lives in memory only.
#[derive(Debug, Default)]
pub struct MemoryStore {
    log: RefCell<EventLog>,
    snapshots: RefCell<HashMap<String, Vec<Snapshot>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Inserts a snapshot into an aggregate's list, kept sorted by version, replacing one of the same
/// version. Shared by the backends that keep snapshots in memory.
pub fn insert_snapshot(list: &mut Vec<Snapshot>, snapshot: Snapshot) {
    match list.binary_search_by_key(&snapshot.version, |s| s.version) {
        Ok(index) => list[index] = snapshot,
        Err(index) => list.insert(index, snapshot),
    }
}

impl EventStore for MemoryStore {
    async fn append(
        &self,
        aggregate_id: &str,
        expected: ExpectedVersion,
        events: Vec<ProposedEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        let mut log = self.log.borrow_mut();
        match log.prepare(aggregate_id, expected, events)? {
            Prepared::AlreadyStored(outcome) => Ok(outcome),
            Prepared::New(events) => {
                log.extend(events.clone(), Origin::Local)
                    .map_err(|gap| StoreError::Corrupt {
                        store: "memory".to_string(),
                        key: gap.position.to_string(),
                        reason: gap.reason,
                        intact_up_to: gap.position.saturating_sub(1),
                    })?;
                Ok(AppendOutcome {
                    aggregate_id: aggregate_id.to_string(),
                    events,
                    already_stored: false,
                })
            }
        }
    }

    async fn read_stream(
        &self,
        aggregate_id: &str,
        range: VersionRange,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self.log.borrow().read_stream(aggregate_id, range))
    }

    async fn read_all(&self, query: &ReadAll) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self.log.borrow().read_all(query))
    }

    async fn stream_version(&self, aggregate_id: &str) -> Result<u64, StoreError> {
        Ok(self.log.borrow().stream_version(aggregate_id))
    }

    async fn streams(&self) -> Result<Vec<StreamInfo>, StoreError> {
        Ok(self.log.borrow().streams())
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        Ok(self.log.borrow().head_position())
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        let mut snapshots = self.snapshots.borrow_mut();
        let list = snapshots.entry(snapshot.aggregate_id.clone()).or_default();
        insert_snapshot(list, snapshot);
        Ok(())
    }

    async fn snapshots(&self, aggregate_id: &str) -> Result<Vec<Snapshot>, StoreError> {
        Ok(self
            .snapshots
            .borrow()
            .get(aggregate_id)
            .cloned()
            .unwrap_or_default())
    }

    async fn read_news(&self, after: u64, limit: usize) -> Result<Vec<News>, StoreError> {
        Ok(self.log.borrow().read_news(after, limit))
    }

    async fn read_event(&self, event_id: EventId) -> Result<Option<StoredEvent>, StoreError> {
        Ok(self.log.borrow().by_id(&event_id).cloned())
    }
}
