//! The storage boundary: one trait every backend implements, and the types it speaks.
//!
//! The trait is shaped for the weakest backend (IndexedDB): every operation is async, nothing
//! needs `Send`, and an append hands over the whole batch so a backend can write it atomically.

mod chain;
mod error;
mod id_index;
mod log;
mod memory;
mod raw_export;
mod segment;
mod segment_io;
mod segment_wire;
mod segmented;
mod snapshot_shelf;

use serde::{Deserialize, Serialize};

pub use chain::{Inspection, Problem, inspect, truncate};
pub use error::StoreError;
pub use log::{Discontinuity, EventLog, Prepared};
pub use memory::{MemoryStore, Nowhere};
pub use raw_export::{RawContent, RawRecord, RawStore, export_raw};
pub use segment::SegmentCodec;
pub use segment_io::{
    CommitRecord, CommitStyle, LogRead, LogReader, RawSegment, SegmentIo, WriteError,
};
pub use segmented::SegmentedStore;

use crate::event::{EventId, ProposedEvent, StoredEvent};
use crate::expected::ExpectedVersion;
use crate::snapshot::Snapshot;

/// Most events one append may carry.
pub const MAX_BATCH: usize = 10_000;

/// An append-only, ordered, idempotent event store with snapshots.
#[allow(async_fn_in_trait)] // Deliberately no `Send` bound: browser storage futures are not `Send`.
pub trait EventStore {
    /// Appends a batch to one aggregate, all or nothing, after checking `expected`.
    ///
    /// Events get consecutive versions in the aggregate and consecutive positions in the log.
    /// Re-sending a batch whose ids are all stored with the same content returns the originals
    /// (`already_stored`) and writes nothing.
    async fn append(
        &self,
        aggregate_id: &str,
        expected: ExpectedVersion,
        events: Vec<ProposedEvent>,
    ) -> Result<AppendOutcome, StoreError>;

    /// One aggregate's events in version order.
    async fn read_stream(
        &self,
        aggregate_id: &str,
        range: VersionRange,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// Events of all aggregates in position order.
    async fn read_all(&self, query: &ReadAll) -> Result<Vec<StoredEvent>, StoreError>;

    /// How many events match a read (from its position, ignoring its limit and skip).
    async fn count(&self, query: &ReadAll) -> Result<usize, StoreError> {
        let all = ReadAll {
            limit: usize::MAX,
            skip: 0,
            ..query.clone()
        };
        Ok(self.read_all(&all).await?.len())
    }

    /// An aggregate's last version (0 when it has no events).
    async fn stream_version(&self, aggregate_id: &str) -> Result<u64, StoreError>;

    /// Every aggregate with its last version.
    async fn streams(&self) -> Result<Vec<StreamInfo>, StoreError>;

    /// Position of the last event in the log (0 when empty).
    async fn head_position(&self) -> Result<u64, StoreError>;

    /// Appends a batch as [`EventStore::append`] does and stores a snapshot of the aggregate
    /// after it, if the batch's last event lands where the snapshot was folded: at the
    /// snapshot's version and event id, and at log position `last_position` (rules may read
    /// positions). A store that can writes both in one transaction. The events are stored
    /// whatever becomes of the snapshot, which is only a shortcut.
    async fn append_with_snapshot(
        &self,
        aggregate_id: &str,
        expected: ExpectedVersion,
        events: Vec<ProposedEvent>,
        (snapshot, last_position): (Snapshot, u64),
    ) -> Result<(AppendOutcome, SnapshotFate), StoreError> {
        append_then_snapshot(
            self,
            aggregate_id,
            expected,
            events,
            (snapshot, last_position),
        )
        .await
    }

    /// Stores a snapshot, replacing one of the same aggregate and version.
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError>;

    /// An aggregate's snapshots, oldest version first.
    async fn snapshots(&self, aggregate_id: &str) -> Result<Vec<Snapshot>, StoreError>;

    /// An aggregate's newest snapshot at or below version `at_most`, if any: what a replay and
    /// the automatic snapshots need, without copying every snapshot of a long-lived aggregate.
    async fn newest_snapshot(
        &self,
        aggregate_id: &str,
        at_most: u64,
    ) -> Result<Option<Snapshot>, StoreError>;

    /// Catches up with events other writers (other tabs) stored; returns the new events.
    /// Stores nobody else writes to have nothing to catch up on.
    async fn refresh(&self) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(Vec::new())
    }

    /// Events after a position in position order, each with where it came from (appended
    /// through this store, or read from storage that another writer appended to): what live
    /// subscribers are told.
    async fn read_news(&self, after: u64, limit: usize) -> Result<Vec<News>, StoreError>;

    /// The stored event with an id, if there is one: how a retry is recognised before anything
    /// else is checked.
    async fn read_event(&self, event_id: EventId) -> Result<Option<StoredEvent>, StoreError>;

    /// The scenario document the store's events were written under, as recorded with it
    /// (`None`: nothing recorded yet).
    async fn scenario(&self) -> Result<Option<String>, StoreError>;

    /// Records the scenario document the store's events are written under.
    async fn record_scenario(&self, document: &str) -> Result<(), StoreError>;
}

/// [`EventStore::append_with_snapshot`] in two writes: the batch, then the snapshot if it fits.
pub(crate) async fn append_then_snapshot<S: EventStore + ?Sized>(
    store: &S,
    aggregate_id: &str,
    expected: ExpectedVersion,
    events: Vec<ProposedEvent>,
    (snapshot, last_position): (Snapshot, u64),
) -> Result<(AppendOutcome, SnapshotFate), StoreError> {
    let outcome = store.append(aggregate_id, expected, events).await?;
    if !outcome.ends_at(&snapshot, last_position) {
        return Ok((outcome, SnapshotFate::NotPlaced));
    }
    let fate = match store.save_snapshot(snapshot).await {
        Ok(()) => SnapshotFate::Saved,
        Err(e) => SnapshotFate::Failed(e),
    };
    Ok((outcome, fate))
}

/// What became of the snapshot handed over with an append.
#[derive(Clone, Debug, PartialEq)]
pub enum SnapshotFate {
    /// Stored with the events.
    Saved,
    /// Not stored: the batch did not end where the snapshot was taken (another writer appended
    /// first, or the batch was already stored).
    NotPlaced,
    /// Not stored: the events were, but writing the snapshot failed.
    Failed(StoreError),
}

/// Where an event in a store's log came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Origin {
    /// Appended through this store object (this tab).
    Local,
    /// Read from storage: appended by another writer (another tab), or there when it opened.
    Remote,
}

/// An event of the log with where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct News {
    /// The event.
    pub event: StoredEvent,
    /// Where it came from.
    pub origin: Origin,
}

/// The commit record of a durable store: the last acknowledged position and the id of the event
/// there. Written with every append, so a log that does not reach it lost records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Head {
    /// The last acknowledged position.
    pub position: u64,
    /// The id of the event at that position.
    pub event_id: EventId,
}

impl Head {
    /// The head after an event.
    pub fn of(event: &StoredEvent) -> Self {
        Head {
            position: event.position,
            event_id: event.event_id,
        }
    }
}

/// What an append did.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppendOutcome {
    /// The aggregate appended to.
    pub aggregate_id: String,
    /// The batch's events as stored, in batch order.
    pub events: Vec<StoredEvent>,
    /// True when the batch was already stored and nothing was written.
    pub already_stored: bool,
}

impl AppendOutcome {
    /// The aggregate's version after the batch (its last event's version).
    pub fn last_version(&self) -> u64 {
        self.events.iter().map(|e| e.version).max().unwrap_or(0)
    }

    /// Whether the batch was written now and its last event is the one a snapshot was taken at
    /// (same aggregate, version and event id), at log position `last_position`.
    pub fn ends_at(&self, snapshot: &Snapshot, last_position: u64) -> bool {
        !self.already_stored && snapshot.taken_at_end_of(&self.events, last_position)
    }

    /// Position of the batch's last event.
    pub fn last_position(&self) -> u64 {
        self.events.iter().map(|e| e.position).max().unwrap_or(0)
    }
}

/// Versions to read from one aggregate, both ends inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionRange {
    /// First version to read (1 = from the start).
    #[serde(default)]
    pub from: u64,
    /// Last version to read; `None` reads to the end.
    #[serde(default)]
    pub to: Option<u64>,
}

impl VersionRange {
    /// All versions.
    pub const ALL: VersionRange = VersionRange { from: 1, to: None };

    /// Versions `from..` to the end.
    pub fn from(from: u64) -> Self {
        VersionRange { from, to: None }
    }

    /// Versions `1..=to`.
    pub fn up_to(to: u64) -> Self {
        VersionRange {
            from: 1,
            to: Some(to),
        }
    }
}

/// A read across all aggregates.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadAll {
    /// First position to read (1 = from the start).
    #[serde(default)]
    pub from_position: u64,
    /// Most events to return.
    #[serde(default = "ReadAll::default_limit")]
    pub limit: usize,
    /// Only these event types (empty = all).
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Only this aggregate.
    #[serde(default)]
    pub aggregate_id: Option<String>,
    /// Skip this many matching events first (paging through a filtered log).
    #[serde(default)]
    pub skip: usize,
}

impl ReadAll {
    fn default_limit() -> usize {
        1_000
    }

    /// Everything from a position, up to `limit` events.
    pub fn from_position(from_position: u64, limit: usize) -> Self {
        ReadAll {
            from_position,
            limit,
            event_types: Vec::new(),
            aggregate_id: None,
            skip: 0,
        }
    }

    /// Only events of these types.
    pub fn of_types(mut self, types: &[&str]) -> Self {
        self.event_types = types.iter().map(|t| t.to_string()).collect();
        self
    }

    /// Whether an event passes the filters.
    pub fn matches(&self, event: &StoredEvent) -> bool {
        (self.event_types.is_empty() || self.event_types.iter().any(|t| **t == *event.event_type))
            && self
                .aggregate_id
                .as_ref()
                .is_none_or(|id| **id == *event.aggregate_id)
    }
}

/// An aggregate in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamInfo {
    /// Its id.
    pub aggregate_id: String,
    /// Its last version.
    pub version: u64,
    /// Position of its last event.
    pub last_position: u64,
}
