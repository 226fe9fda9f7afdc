//! The snapshots a store keeps in memory: each aggregate's, sorted by version.

use std::collections::HashMap;

use crate::snapshot::Snapshot;

/// Each aggregate's snapshots, oldest version first, at most one per version.
#[derive(Default)]
pub struct SnapshotShelf {
    by_aggregate: HashMap<String, Vec<Snapshot>>,
}

impl SnapshotShelf {
    /// Shelves a snapshot, replacing one of the same aggregate and version.
    pub fn insert(&mut self, snapshot: Snapshot) {
        let list = self
            .by_aggregate
            .entry(snapshot.aggregate_id.clone())
            .or_default();
        match list.binary_search_by_key(&snapshot.version, |s| s.version) {
            Ok(index) => list[index] = snapshot,
            Err(index) => list.insert(index, snapshot),
        }
    }

    /// An aggregate's snapshots, oldest version first.
    pub fn all(&self, aggregate_id: &str) -> &[Snapshot] {
        self.by_aggregate
            .get(aggregate_id)
            .map_or(&[], Vec::as_slice)
    }

    /// An aggregate's newest snapshot at or below version `at_most`: a binary search, so that an
    /// aggregate with thousands of snapshots costs no more to ask than one with a few.
    pub fn newest(&self, aggregate_id: &str, at_most: u64) -> Option<&Snapshot> {
        let list = self.all(aggregate_id);
        let above = list.partition_point(|s| s.version <= at_most);
        above.checked_sub(1).and_then(|i| list.get(i))
    }
}

impl FromIterator<Snapshot> for SnapshotShelf {
    fn from_iter<I: IntoIterator<Item = Snapshot>>(snapshots: I) -> Self {
        let mut shelf = SnapshotShelf::default();
        for snapshot in snapshots {
            shelf.insert(snapshot);
        }
        shelf
    }
}
