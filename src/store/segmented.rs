//! A durable store made of segments: the in-memory log, plus a backend that reads and writes whole
//! segments and a commit record. IndexedDB and localStorage are such backends ([`SegmentIo`]).
//!
//! Every write is a compare-and-swap on the commit record (the last acknowledged position and the
//! id of the event there): a backend writes the new segments and the new record only if the
//! stored record is still the one this store last saw, so a write succeeds exactly when this
//! tab's log was up to date, and the expected-version and idempotency checks (made against the
//! log) were made against the whole store. When another tab wrote first, the store reads what it
//! wrote and decides again. The commit record also proves that nothing acknowledged is missing:
//! a log that does not reach it lost records.
//!
//! Appends made while a write is in flight are committed together in the next write (group
//! commit): each keeps its own result, and the group costs one storage transaction.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use futures_channel::oneshot;

use super::chain::{self, Indexing, Problem};
use super::snapshot_shelf::SnapshotShelf;
use super::{
    AppendOutcome, CommitStyle, Discontinuity, EventLog, EventStore, Head, MAX_BATCH, News, Origin,
    Prepared, RawSegment, ReadAll, SegmentCodec, SegmentIo, SnapshotFate, StoreError, StreamInfo,
    VersionRange, WriteError, append_then_snapshot,
};
use crate::event::{EventId, ProposedEvent, StoredEvent};
use crate::expected::ExpectedVersion;
use crate::snapshot::Snapshot;

/// How often a group is re-decided because other writers got in first, before giving up.
const MAX_ATTEMPTS: usize = 50;

/// What an append hears back: its outcome, and what became of the snapshot it brought.
type Answer = Result<(AppendOutcome, SnapshotFate), StoreError>;

/// An append waiting for the next write.
struct Pending {
    aggregate_id: String,
    expected: ExpectedVersion,
    events: Vec<ProposedEvent>,
    /// A snapshot to write with the events if they land where it was taken: its version and
    /// event id, and this log position of the last event.
    snapshot: Option<(Snapshot, u64)>,
    reply: oneshot::Sender<Answer>,
}

/// An event store over a [`SegmentIo`].
pub struct SegmentedStore<Io> {
    io: Io,
    log: RefCell<EventLog>,
    /// The commit record as this store last saw it: what the next write expects.
    committed: Cell<Option<Head>>,
    /// Every snapshot, by aggregate, oldest first; read once at open.
    snapshots: RefCell<SnapshotShelf>,
    /// The scenario document recorded with the store; read once at open.
    scenario: RefCell<Option<String>>,
    queue: RefCell<VecDeque<Pending>>,
    writing: Cell<bool>,
}

impl<Io: SegmentIo> SegmentedStore<Io> {
    /// Opens a store, reading every segment and snapshot into memory. A log that is not intact
    /// up to its commit record fails with [`StoreError::Corrupt`], saying how far it is.
    pub async fn open(io: Io) -> Result<Self, StoreError> {
        let store = Self::empty(io);
        store.read_new_segments(true).await?;
        *store.snapshots.borrow_mut() = store.io.read_snapshots().await?.into_iter().collect();
        *store.scenario.borrow_mut() = store.io.read_scenario().await?;
        Ok(store)
    }

    /// A store over a backend known to hold nothing yet, without reading it.
    pub(super) fn empty(io: Io) -> Self {
        SegmentedStore {
            io,
            log: RefCell::new(EventLog::new()),
            committed: Cell::new(None),
            snapshots: RefCell::new(SnapshotShelf::default()),
            scenario: RefCell::new(None),
            queue: RefCell::new(VecDeque::new()),
            writing: Cell::new(false),
        }
    }

    /// The backend.
    pub fn io(&self) -> &Io {
        &self.io
    }

    /// Reads segments other writers stored since this log's head; returns the new events.
    pub async fn catch_up(&self) -> Result<Vec<StoredEvent>, StoreError> {
        let (before, added) = self.read_new_segments(false).await?;
        if added == 0 {
            return Ok(Vec::new());
        }
        Ok(self
            .log
            .borrow()
            .read_all(&ReadAll::from_position(before + 1, usize::MAX)))
    }

    /// Reads and integrates the committed segments after the log's head; returns the head they
    /// were integrated after and how many events were new. `opening`: the store is not handed
    /// out yet, so each segment may be indexed as soon as it is decoded.
    async fn read_new_segments(&self, opening: bool) -> Result<(u64, usize), StoreError> {
        let from = self.log.borrow().head_position() + 1;
        let mut indexing = Indexing::new(&self.log);
        let (record, chain) = if opening {
            // The chain breathes before each segment, so the log is indexed in short tasks, and
            // the decoded log is never held twice (a list of all events, then the log).
            chain::read_chain_into(&self.io, from, &mut indexing).await?
        } else {
            chain::read_chain(&self.io, from).await?
        };
        if let Some(head) = record.head()
            && head.position < from - 1
        {
            return Err(StoreError::Closed {
                reason: format!(
                    "the store was cut back to position {} elsewhere (recovery in another tab); reload the page",
                    head.position
                ),
            });
        }
        let reached = chain.reached(from);
        if let Some(problem) = chain.problem {
            return Err(self.corrupt(problem, reached));
        }
        let (before, added) = if opening {
            (from - 1, indexing.added())
        } else {
            // The log may have moved on while reading (our own commit): new events start after
            // it. All at once, so that the log others read never holds half a catch-up.
            let before = self.log.borrow().head_position();
            let events = chain.segments.into_iter().flatten().collect();
            (before, self.integrate(events, before)?)
        };
        if let Some(head) = record.head()
            && self
                .committed
                .get()
                .is_none_or(|seen| seen.position < head.position)
        {
            self.committed.set(Some(head));
        }
        Ok((before, added))
    }

    /// Adds events read from storage to the log (read when it was at `before`).
    fn integrate(&self, events: Vec<StoredEvent>, before: u64) -> Result<usize, StoreError> {
        self.log
            .borrow_mut()
            .integrate(events, Origin::Remote)
            .map_err(|gap| self.discontinuity(gap, before))
    }

    /// Events that do not continue the log at `head`, as a corrupt store.
    fn discontinuity(&self, gap: Discontinuity, head: u64) -> StoreError {
        self.corrupt(Problem::from(gap), head)
    }

    fn corrupt(&self, problem: Problem, intact_up_to: u64) -> StoreError {
        StoreError::Corrupt {
            store: self.io.describe(),
            key: problem.key,
            reason: problem.reason,
            intact_up_to,
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

    /// Decides a group of appends against the log, writes the new events (contiguous, so in
    /// as few segments as [`group_segments`] makes) with the new commit record and the
    /// snapshots taken at them in one write, and answers each append. When another writer got
    /// in first, catches up and decides again.
    async fn commit_group(&self, group: Vec<Pending>) {
        let mut requests = Vec::with_capacity(group.len());
        let mut snapshots = Vec::with_capacity(group.len());
        let mut replies = Vec::with_capacity(group.len());
        for p in group {
            requests.push((p.aggregate_id, p.expected, p.events));
            snapshots.push(p.snapshot);
            replies.push(p.reply);
        }
        let mut last_error = None;
        for _ in 0..MAX_ATTEMPTS {
            let decided = self.log.borrow().prepare_group(requests.clone());
            // A snapshot rides along only if its append's events land where it was taken.
            let fits: Vec<bool> = decided
                .iter()
                .zip(&snapshots)
                .map(|(d, snapshot)| match (d, snapshot) {
                    (Ok(Prepared::New(events)), Some((snapshot, last_position))) => {
                        snapshot.taken_at_end_of(events, *last_position)
                    }
                    _ => false,
                })
                .collect();
            let riding: Vec<Snapshot> = snapshots
                .iter()
                .zip(&fits)
                .filter_map(|(rider, fits)| {
                    rider.as_ref().filter(|_| *fits).map(|(s, _)| s.clone())
                })
                .collect();
            let codec = self.io.codec();
            let written: Vec<&[StoredEvent]> = decided
                .iter()
                .filter_map(|d| match d {
                    Ok(Prepared::New(events)) if !events.is_empty() => Some(events.as_slice()),
                    _ => None,
                })
                .collect();
            let new_head = written
                .last()
                .and_then(|events| events.last())
                .map(Head::of);
            let segments = group_segments(codec, &written);
            let outcome = match new_head {
                None => Ok(()),
                Some(head) => {
                    let expected = self.committed.get();
                    self.io.write(expected, segments, head, &riding).await
                }
            };
            match outcome {
                Ok(()) => {
                    if new_head.is_some() {
                        self.committed.set(new_head);
                    }
                    self.cache_snapshots(riding);
                    let answers = self.accept(requests, decided);
                    for ((reply, answer), fits) in replies.into_iter().zip(answers).zip(fits) {
                        let fate = if fits {
                            SnapshotFate::Saved
                        } else {
                            SnapshotFate::NotPlaced
                        };
                        let _ = reply.send(answer.map(|outcome| (outcome, fate)));
                    }
                    return;
                }
                Err(WriteError::Taken) => {
                    if let Err(e) = self.read_new_segments(false).await {
                        last_error = Some(e);
                        break;
                    }
                }
                Err(WriteError::Failed(e)) => {
                    // Nothing was acknowledged: the appends that needed a write fail; the others
                    // (refusals and idempotent retries) keep their answers.
                    for (reply, d) in replies.into_iter().zip(decided) {
                        let answer = match d {
                            Ok(Prepared::New(_)) => Err(e.clone()),
                            Ok(Prepared::AlreadyStored(outcome)) => {
                                Ok((outcome, SnapshotFate::NotPlaced))
                            }
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

    /// Keeps snapshots just written in the list read at open.
    fn cache_snapshots(&self, written: Vec<Snapshot>) {
        let mut shelf = self.snapshots.borrow_mut();
        for snapshot in written {
            shelf.insert(snapshot);
        }
    }

    /// Queues an append for the next write, drives the queue if nobody is, and waits for the
    /// append's answer.
    async fn enqueue(
        &self,
        aggregate_id: &str,
        expected: ExpectedVersion,
        events: Vec<ProposedEvent>,
        snapshot: Option<(Snapshot, u64)>,
    ) -> Answer {
        let (reply, answer) = oneshot::channel();
        self.queue.borrow_mut().push_back(Pending {
            aggregate_id: aggregate_id.to_string(),
            expected,
            events,
            snapshot,
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
                    let before = log.head_position();
                    log.integrate(events.clone(), Origin::Local)
                        .map_err(|gap| self.discontinuity(gap, before))?;
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
        let (outcome, _) = self.enqueue(aggregate_id, expected, events, None).await?;
        Ok(outcome)
    }

    async fn append_with_snapshot(
        &self,
        aggregate_id: &str,
        expected: ExpectedVersion,
        events: Vec<ProposedEvent>,
        snapshot: (Snapshot, u64),
    ) -> Result<(AppendOutcome, SnapshotFate), StoreError> {
        match self.io.commit_style() {
            // One transaction for the events, the record and the snapshot.
            CommitStyle::Atomic => {
                self.enqueue(aggregate_id, expected, events, Some(snapshot))
                    .await
            }
            // The record is written last, in another storage: the snapshot waits for it.
            CommitStyle::RecordLast => {
                append_then_snapshot(self, aggregate_id, expected, events, snapshot).await
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

    async fn count(&self, query: &ReadAll) -> Result<usize, StoreError> {
        Ok(self.log.borrow().count(query))
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
        self.cache_snapshots(vec![snapshot]);
        Ok(())
    }

    async fn snapshots(&self, aggregate_id: &str) -> Result<Vec<Snapshot>, StoreError> {
        Ok(self.snapshots.borrow().all(aggregate_id).to_vec())
    }

    async fn newest_snapshot(
        &self,
        aggregate_id: &str,
        at_most: u64,
    ) -> Result<Option<Snapshot>, StoreError> {
        Ok(self
            .snapshots
            .borrow()
            .newest(aggregate_id, at_most)
            .cloned())
    }

    async fn refresh(&self) -> Result<Vec<StoredEvent>, StoreError> {
        self.catch_up().await
    }

    async fn read_news(&self, after: u64, limit: usize) -> Result<Vec<News>, StoreError> {
        Ok(self.log.borrow().read_news(after, limit))
    }

    async fn read_event(&self, event_id: EventId) -> Result<Option<StoredEvent>, StoreError> {
        Ok(self.log.borrow().by_id(&event_id).cloned())
    }

    async fn scenario(&self) -> Result<Option<String>, StoreError> {
        Ok(self.scenario.borrow().clone())
    }

    async fn record_scenario(&self, document: &str) -> Result<(), StoreError> {
        self.io.write_scenario(document).await?;
        *self.scenario.borrow_mut() = Some(document.to_string());
        Ok(())
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

/// The segments a group's new events are written as: the events are contiguous positions
/// (the group was decided in order), so they are cut into runs of at most [`MAX_BATCH`] (no
/// larger than one append's segment), each keyed by its first position: a group of many small
/// appends is a few records to decode on opening, not one per append.
fn group_segments(codec: SegmentCodec, written: &[&[StoredEvent]]) -> Vec<RawSegment> {
    // One append's events are already a slice; several are joined (a copy) first.
    let joined: Vec<StoredEvent>;
    let events = match written {
        [one] => *one,
        _ => {
            joined = written.iter().flat_map(|e| e.iter().cloned()).collect();
            &joined
        }
    };
    events
        .chunks(MAX_BATCH)
        .filter_map(|run| Some((run.first()?.position, codec.encode(run))))
        .collect()
}
