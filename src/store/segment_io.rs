//! What a durable backend does for a segmented store: read and write whole segments with a
//! commit record, all or nothing ([`SegmentIo`]). IndexedDB and localStorage are such backends.

use super::{Head, SegmentCodec, StoreError};
use crate::snapshot::Snapshot;

/// A stored segment: its key (the position of its first event) and its encoded events.
pub type RawSegment = (u64, Vec<u8>);

/// Why a backend did not write.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteError {
    /// The commit record is no longer the one expected (or a segment's key is taken): another
    /// writer appended first. Nothing was written.
    Taken,
    /// The write failed (quota, abort, …). Nothing was acknowledged.
    Failed(StoreError),
}

/// How a backend makes segments and the commit record durable together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitStyle {
    /// Segments and the commit record are written in one transaction (IndexedDB): a segment
    /// beyond the committed head, or off the chain of segments, was put there by hand.
    Atomic,
    /// Segments are written first and the commit record after them (localStorage, whose record
    /// lives in IndexedDB): a segment beyond the head is left by an interrupted write and is
    /// ignored, and other tabs may see segments a moment after the record.
    RecordLast,
}

/// What a backend's commit record holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CommitRecord {
    /// No record: a new store, or one written before records existed.
    #[default]
    Missing,
    /// The last acknowledged position and its event id.
    At(Head),
    /// A record that does not read.
    Unreadable(String),
    /// The backend's data was deleted and made anew behind the store's back (a browser deletes
    /// a site's IndexedDB data it finds corrupt after a crash): a witness kept elsewhere says
    /// the store existed, and up to which position it had acknowledged events when last seen.
    Gone {
        /// The last acknowledged position the witness saw, if it saw one.
        acknowledged: Option<u64>,
        /// What happened, for the person reading the error.
        reason: String,
    },
}

impl CommitRecord {
    /// The head it records, if it reads.
    pub fn head(&self) -> Option<Head> {
        match self {
            CommitRecord::At(head) => Some(*head),
            _ => None,
        }
    }

    /// The last position the store is known to have acknowledged.
    pub fn acknowledged(&self) -> Option<u64> {
        match self {
            CommitRecord::Gone { acknowledged, .. } => *acknowledged,
            _ => self.head().map(|h| h.position),
        }
    }
}

/// A read of a backend: its commit record and every segment whose key is at least the position
/// asked for, in key order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogRead {
    /// The commit record.
    pub record: CommitRecord,
    /// The segments by key: their bytes, or why the stored value is not a segment at all.
    pub segments: Vec<(u64, Result<Vec<u8>, String>)>,
}

/// What reads a stored log as it arrives: the commit record first, then each segment in key
/// order, so that decoding can overlap reading.
#[allow(async_fn_in_trait)] // No `Send`, as for the storage that calls it.
pub trait LogReader {
    /// The commit record; told once, before any segment.
    fn record(&mut self, record: CommitRecord);

    /// The next segment: its key and bytes, or why the stored value is not a segment at all.
    async fn segment(&mut self, key: u64, bytes: Result<Vec<u8>, String>);
}

/// A read kept whole: what [`SegmentIo::read_log`] answers.
impl LogReader for LogRead {
    fn record(&mut self, record: CommitRecord) {
        self.record = record;
    }

    async fn segment(&mut self, key: u64, bytes: Result<Vec<u8>, String>) {
        self.segments.push((key, bytes));
    }
}

/// Storage that keeps segments, a commit record and snapshots.
#[allow(async_fn_in_trait)] // No `Send`: browser storage futures are not `Send`.
pub trait SegmentIo {
    /// The encoding this backend stores.
    fn codec(&self) -> SegmentCodec;

    /// Names the storage in errors, such as `IndexedDB es-sandbox/bank`.
    fn describe(&self) -> String;

    /// How segments and the commit record are made durable together.
    fn commit_style(&self) -> CommitStyle;

    /// The commit record and every segment whose key is at least `from`, in key order.
    async fn read_log(&self, from: u64) -> Result<LogRead, StoreError>;

    /// Reads as [`SegmentIo::read_log`] does, handing the record and then each segment to
    /// `reader`; a backend whose segments arrive in parts hands each part over as it arrives.
    async fn read_log_into(
        &self,
        from: u64,
        reader: &mut impl LogReader,
    ) -> Result<(), StoreError> {
        let read = self.read_log(from).await?;
        reader.record(read.record);
        for (key, bytes) in read.segments {
            reader.segment(key, bytes).await;
        }
        Ok(())
    }

    /// Writes segments, the commit record `head` and `snapshots` (taken at events of these
    /// segments), all or nothing, if the stored record is still `expected` (`None`: no record);
    /// [`WriteError::Taken`] otherwise. Only [`CommitStyle::Atomic`] backends are handed
    /// snapshots: the others get them through [`SegmentIo::write_snapshot`] after the write.
    async fn write(
        &self,
        expected: Option<Head>,
        segments: Vec<RawSegment>,
        head: Head,
        snapshots: &[Snapshot],
    ) -> Result<(), WriteError>;

    /// Deletes every segment after `keep` (all of them for `None`) and makes `keep` the commit
    /// record, if the stored record is still `expected`.
    async fn truncate(&self, expected: &CommitRecord, keep: Option<Head>)
    -> Result<(), WriteError>;

    /// Waits a moment, so that other tabs' writes can arrive (see [`CommitStyle::RecordLast`]).
    async fn pause(&self);

    /// Gives the thread back now and then during long work (decoding a large log on opening),
    /// so that the page that reads stays responsive. Storage with no page to answer does
    /// nothing.
    async fn breathe(&self) {}

    /// Every stored snapshot, in any order. Snapshots that do not read are left out: they are
    /// only shortcuts.
    async fn read_snapshots(&self) -> Result<Vec<Snapshot>, StoreError>;

    /// Stores a snapshot, replacing one of the same aggregate and version.
    async fn write_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError>;

    /// The scenario document recorded with the store, if any.
    async fn read_scenario(&self) -> Result<Option<String>, StoreError>;

    /// Records the scenario document the store's events are written under.
    async fn write_scenario(&self, document: &str) -> Result<(), StoreError>;
}
