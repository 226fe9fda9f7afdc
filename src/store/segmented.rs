//! A durable store made of segments: the in-memory log, plus a backend that reads and writes whole
//! segments. IndexedDB and localStorage are such backends ([`SegmentIo`]).
//!
//! Appends use optimistic concurrency at the storage level: a segment's key is the position of its
//! first event, and a backend writes a segment only if no segment with that key exists. Since
//! segments are contiguous, a write succeeds exactly when this tab's log was up to date, so the
//! expected-version and idempotency checks (made against the log) were made against the whole
//! store. When another tab wrote first, the store reads what it wrote and decides again.
//!
//! Appends made while a write is in flight are committed together in the next write (group
//! commit): each keeps its own result, and the group costs one storage transaction.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};

use futures_channel::oneshot;

use super::{
    AppendOutcome, EventLog, EventStore, Prepared, ReadAll, SegmentCodec, StoreError, StreamInfo,
    VersionRange, insert_snapshot,
};
use crate::event::{ProposedEvent, StoredEvent};
use crate::expected::ExpectedVersion;
use crate::snapshot::Snapshot;

/// How often a group is re-decided because other writers got in first, before giving up.
const MAX_ATTEMPTS: usize = 50;

/// A stored segment: its key (the position of its first event) and its encoded events.
pub type RawSegment = (u64, Vec<u8>);

/// Why a backend did not write segments.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteError {
    /// A segment with one of the keys already exists: another writer appended first. Nothing was
    /// written.
    Taken,
    /// The write failed (quota, abort, …). Nothing was written.
    Failed(StoreError),
}

/// Storage that keeps segments and snapshots. Writes of several segments are atomic.
#[allow(async_fn_in_trait)] // No `Send`: browser storage futures are not `Send`.
pub trait SegmentIo {
    /// The encoding this backend stores.
    fn codec(&self) -> SegmentCodec;

    /// Names the storage in errors, such as `IndexedDB es-sandbox/bank`.
    fn describe(&self) -> String;

    /// Every segment whose key is at least `from`, in key order.
    async fn read_segments(&self, from: u64) -> Result<Vec<RawSegment>, StoreError>;

    /// Writes segments all or nothing; [`WriteError::Taken`] if any key exists already.
    async fn write_segments(&self, segments: Vec<RawSegment>) -> Result<(), WriteError>;

    /// Every stored snapshot, in any order. Snapshots that do not read are left out: they are
    /// only shortcuts.
    async fn read_snapshots(&self) -> Result<Vec<Snapshot>, StoreError>;

    /// Stores a snapshot, replacing one of the same aggregate and version.
    async fn write_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError>;
}

/// An append waiting for the next write.
struct Pending {
    aggregate_id: String,
    expected: ExpectedVersion,
    events: Vec<ProposedEvent>,
    reply: oneshot::Sender<Result<AppendOutcome, StoreError>>,
}

/// An event store over a [`SegmentIo`].
pub struct SegmentedStore<Io> {
    io: Io,
    log: RefCell<EventLog>,
    /// Every snapshot, by aggregate, oldest first; read once at open.
    snapshots: RefCell<HashMap<String, Vec<Snapshot>>>,
    queue: RefCell<VecDeque<Pending>>,
    writing: Cell<bool>,
}

impl<Io: SegmentIo> SegmentedStore<Io> {
    /// Opens a store, reading every segment and snapshot into memory.
    pub async fn open(io: Io) -> Result<Self, StoreError> {
        let store = SegmentedStore {
            io,
            log: RefCell::new(EventLog::new()),
            snapshots: RefCell::new(HashMap::new()),
            queue: RefCell::new(VecDeque::new()),
            writing: Cell::new(false),
        };
        store.read_new_segments().await?;
        let mut snapshots: HashMap<String, Vec<Snapshot>> = HashMap::new();
        for snapshot in store.io.read_snapshots().await? {
            let list = snapshots.entry(snapshot.aggregate_id.clone()).or_default();
            insert_snapshot(list, snapshot);
        }
        *store.snapshots.borrow_mut() = snapshots;
        Ok(store)
    }

    /// The backend.
    pub fn io(&self) -> &Io {
        &self.io
    }

    /// Reads segments other writers stored since this log's head; returns the new events.
    pub async fn catch_up(&self) -> Result<Vec<StoredEvent>, StoreError> {
        let (before, added) = self.read_new_segments().await?;
        if added == 0 {
            return Ok(Vec::new());
        }
        Ok(self
            .log
            .borrow()
            .read_all(&ReadAll::from_position(before + 1, usize::MAX)))
    }

    /// Reads and integrates the segments after the log's head; returns the head they were
    /// integrated after and how many events were new.
    async fn read_new_segments(&self) -> Result<(u64, usize), StoreError> {
        let from = self.log.borrow().head_position() + 1;
        let segments = self.io.read_segments(from).await?;
        if segments.is_empty() {
            return Ok((from - 1, 0));
        }
        let codec = self.io.codec();
        let mut decoded = Vec::with_capacity(segments.len());
        for (key, bytes) in segments {
            let events = codec
                .decode(&bytes)
                .map_err(|reason| self.corrupt(key, reason))?;
            if events.first().map(|e| e.position) != Some(key) {
                return Err(self.corrupt(
                    key,
                    "the first event's position is not the record's key".into(),
                ));
            }
            decoded.push(events);
        }
        // One allocation for all of them: events are large, and a cold load moves 100,000s.
        let mut events = Vec::with_capacity(decoded.iter().map(Vec::len).sum());
        for segment in decoded {
            events.extend(segment);
        }
        let mut log = self.log.borrow_mut();
        // The log may have moved on while reading (our own commit): new events start after it.
        let before = log.head_position();
        let added = log
            .integrate(events)
            .map_err(|gap| self.corrupt(gap.position, gap.reason))?;
        Ok((before, added))
    }

    fn corrupt(&self, key: u64, reason: String) -> StoreError {
        StoreError::Corrupt {
            store: self.io.describe(),
            key: key.to_string(),
            reason,
        }
    }

    /// Commits queued appends until the queue is empty. Only one caller drives it at a time.
    async fn drain(&self) {
        loop {
            let group: Vec<Pending> = self.queue.borrow_mut().drain(..).collect();
            if group.is_empty() {
                return;
            }
            self.commit_group(group).await;
        }
    }

    /// Decides a group of appends against the log, writes the new events as one segment per
    /// append in one write, and answers each append. When another writer got in first, catches up
    /// and decides again.
    async fn commit_group(&self, group: Vec<Pending>) {
        let (requests, replies): (Vec<_>, Vec<_>) = group
            .into_iter()
            .map(|p| ((p.aggregate_id, p.expected, p.events), p.reply))
            .unzip();
        let mut last_error = None;
        for _ in 0..MAX_ATTEMPTS {
            let decided = self.log.borrow().prepare_group(requests.clone());
            let codec = self.io.codec();
            let segments: Vec<RawSegment> = decided
                .iter()
                .filter_map(|d| match d {
                    Ok(Prepared::New(events)) => {
                        Some((events.first()?.position, codec.encode(events)))
                    }
                    _ => None,
                })
                .collect();
            let written = if segments.is_empty() {
                Ok(())
            } else {
                self.io.write_segments(segments).await
            };
            match written {
                Ok(()) => {
                    let answers = self.accept(requests, decided);
                    for (reply, answer) in replies.into_iter().zip(answers) {
                        let _ = reply.send(answer);
                    }
                    return;
                }
                Err(WriteError::Taken) => {
                    if let Err(e) = self.read_new_segments().await {
                        last_error = Some(e);
                        break;
                    }
                }
                Err(WriteError::Failed(e)) => {
                    // Nothing was written: the appends that needed a write fail; the others
                    // (refusals and idempotent retries) keep their answers.
                    for (reply, d) in replies.into_iter().zip(decided) {
                        let answer = match d {
                            Ok(Prepared::New(_)) => Err(e.clone()),
                            Ok(Prepared::AlreadyStored(outcome)) => Ok(outcome),
                            Err(refused) => Err(refused),
                        };
                        let _ = reply.send(answer);
                    }
                    return;
                }
            }
        }
        let error = last_error.unwrap_or_else(|| StoreError::Backend {
            backend: "segmented",
            operation: "append",
            message: format!("other writers kept appending first, {MAX_ATTEMPTS} times in a row"),
        });
        for reply in replies {
            let _ = reply.send(Err(error.clone()));
        }
    }

    /// Adds a written group to the log and turns each decision into an answer.
    fn accept(
        &self,
        requests: Vec<(String, ExpectedVersion, Vec<ProposedEvent>)>,
        decided: Vec<Result<Prepared, StoreError>>,
    ) -> Vec<Result<AppendOutcome, StoreError>> {
        let mut log = self.log.borrow_mut();
        requests
            .into_iter()
            .zip(decided)
            .map(|((aggregate_id, _, _), d)| match d {
                Ok(Prepared::AlreadyStored(outcome)) => Ok(outcome),
                Ok(Prepared::New(events)) => {
                    log.integrate(events.clone())
                        .map_err(|gap| self.corrupt(gap.position, gap.reason))?;
                    Ok(AppendOutcome {
                        aggregate_id,
                        events,
                        already_stored: false,
                    })
                }
                Err(refused) => Err(refused),
            })
            .collect()
    }
}

impl<Io: SegmentIo> EventStore for SegmentedStore<Io> {
    async fn append(
        &self,
        aggregate_id: &str,
        expected: ExpectedVersion,
        events: Vec<ProposedEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue.borrow_mut().push_back(Pending {
            aggregate_id: aggregate_id.to_string(),
            expected,
            events,
            reply,
        });
        if !self.writing.replace(true) {
            let _driving = WritingFlag(&self.writing);
            self.drain().await;
        }
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Backend {
                backend: "segmented",
                operation: "append",
                message: "the write carrying this append was abandoned".into(),
            })
        })
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
        self.io.write_snapshot(&snapshot).await?;
        let mut cache = self.snapshots.borrow_mut();
        let list = cache.entry(snapshot.aggregate_id.clone()).or_default();
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

    async fn refresh(&self) -> Result<Vec<StoredEvent>, StoreError> {
        self.catch_up().await
    }
}

/// Clears the "a caller is writing" flag when the writing caller finishes or is dropped, so a
/// later append can drive the queue.
struct WritingFlag<'a>(&'a Cell<bool>);

impl Drop for WritingFlag<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}
