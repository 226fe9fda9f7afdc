//! The in-memory backend: for tests and throwaway demos; forgets everything when dropped. It is a
//! segmented store whose storage keeps nothing: the log the store holds in memory is all there
//! is, so appends, idempotency and conflicts go exactly the way they go for the durable backends.

use super::{
    CommitRecord, CommitStyle, Head, LogRead, RawSegment, SegmentCodec, SegmentIo, SegmentedStore,
    StoreError, WriteError,
};
use crate::snapshot::Snapshot;

/// A store that lives in memory only.
pub type MemoryStore = SegmentedStore<Nowhere>;

/// Storage that keeps nothing: every write succeeds, and there is never anything to read.
#[derive(Debug, Default, Clone, Copy)]
pub struct Nowhere;

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        SegmentedStore::empty(Nowhere)
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl SegmentIo for Nowhere {
    fn codec(&self) -> SegmentCodec {
        SegmentCodec::Binary
    }

    fn describe(&self) -> String {
        "memory".into()
    }

    fn commit_style(&self) -> CommitStyle {
        CommitStyle::Atomic
    }

    async fn read_log(&self, _from: u64) -> Result<LogRead, StoreError> {
        Ok(LogRead::default())
    }

    async fn write(
        &self,
        _expected: Option<Head>,
        _segments: Vec<RawSegment>,
        _head: Head,
        _snapshots: &[Snapshot],
    ) -> Result<(), WriteError> {
        Ok(())
    }

    async fn truncate(
        &self,
        _expected: &CommitRecord,
        _keep: Option<Head>,
    ) -> Result<(), WriteError> {
        Ok(())
    }

    async fn pause(&self) {}

    async fn read_snapshots(&self) -> Result<Vec<Snapshot>, StoreError> {
        Ok(Vec::new())
    }

    async fn write_snapshot(&self, _snapshot: &Snapshot) -> Result<(), StoreError> {
        Ok(())
    }

    async fn read_scenario(&self) -> Result<Option<String>, StoreError> {
        Ok(None)
    }

    async fn write_scenario(&self, _document: &str) -> Result<(), StoreError> {
        Ok(())
    }
}
