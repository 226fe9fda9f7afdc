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
use std::collections::{HashMap, VecDeque};

use futures_channel::oneshot;

use super::{
    AppendOutcome, Discontinuity, EventLog, EventStore, Head, News, Origin, Prepared, ReadAll,
    SegmentCodec, StoreError, StreamInfo, VersionRange, insert_snapshot,
};
use crate::event::{EventId, ProposedEvent, StoredEvent};
use crate::expected::ExpectedVersion;
use crate::snapshot::Snapshot;

/// How often a group is re-decided because other writers got in first, before giving up.
const MAX_ATTEMPTS: usize = 50;
/// How many times a read waits for other tabs' segments to arrive before calling them missing
/// (with [`SegmentIo::pause`] between reads: about three seconds in a browser).
const MAX_WAITS: usize = 150;

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
}

impl CommitRecord {
    /// The head it records, if it reads.
    pub fn head(&self) -> Option<Head> {
        match self {
            CommitRecord::At(head) => Some(*head),
            _ => None,
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

    /// Writes segments and the commit record `head`, all or nothing, if the stored record is
    /// still `expected` (`None`: no record); [`WriteError::Taken`] otherwise.
    async fn write(
        &self,
        expected: Option<Head>,
        segments: Vec<RawSegment>,
        head: Head,
    ) -> Result<(), WriteError>;

    /// Deletes every segment after `keep` (all of them for `None`) and makes `keep` the commit
    /// record, if the stored record is still `expected`.
    async fn truncate(&self, expected: &CommitRecord, keep: Option<Head>)
    -> Result<(), WriteError>;

    /// Waits a moment, so that other tabs' writes can arrive (see [`CommitStyle::RecordLast`]).
    async fn pause(&self);

    /// Every stored snapshot, in any order. Snapshots that do not read are left out: they are
    /// only shortcuts.
    async fn read_snapshots(&self) -> Result<Vec<Snapshot>, StoreError>;

    /// Stores a snapshot, replacing one of the same aggregate and version.
    async fn write_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError>;
}

/// Where a stored log stops being intact, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The key of the first record that is not part of the intact log.
    pub key: String,
    /// What is wrong with it.
    pub reason: String,
}

/// What is stored, read without opening: how far the log is intact, and what follows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inspection {
    /// The last acknowledged position, as the commit record says (`None`: no record).
    pub committed: Option<u64>,
    /// The last position of the intact log: every record up to it reads and continues the log.
    pub intact_up_to: u64,
    /// The first problem, if the log is not intact up to the commit record.
    pub problem: Option<Problem>,
    /// Records in storage.
    pub records: usize,
    /// Records after the intact log (what truncating drops).
    pub records_after: usize,
}

/// The events of a stored log as far as it is intact.
struct Chain {
    events: Vec<StoredEvent>,
    /// The last position of each intact segment.
    ends: Vec<u64>,
    problem: Option<Problem>,
}

impl Chain {
    fn reached(&self, from: u64) -> u64 {
        self.events.last().map_or(from - 1, |e| e.position)
    }
}

/// Follows the chain of segments from `from`: each segment must sit at the position after the
/// one before it, decode, and hold events that start at its key. Stops at the first that does
/// not, or at the commit record's position, and checks that the event there is the one the
/// record names. A chain that stops short of the record without a problem may still fill up
/// (see [`CommitStyle::RecordLast`]); the caller decides when it is missing.
fn decode_chain(
    codec: SegmentCodec,
    style: CommitStyle,
    from: u64,
    record: &CommitRecord,
    segments: Vec<(u64, Result<Vec<u8>, String>)>,
) -> Chain {
    let limit = record.head().map(|h| h.position);
    let mut events: Vec<StoredEvent> = Vec::new();
    let mut ends = Vec::new();
    let mut next = from;
    let problem = |key: u64, reason: String| {
        Some(Problem {
            key: key.to_string(),
            reason,
        })
    };
    let mut found = None;
    for (key, bytes) in segments {
        let beyond = limit.is_some_and(|limit| key > limit);
        if style == CommitStyle::RecordLast && (beyond || key < next) {
            // An interrupted write left it: it was never acknowledged.
            continue;
        }
        if beyond {
            // Say what is wrong with the record itself first, if anything is.
            let reason = match bytes.and_then(|bytes| codec.decode(&bytes)) {
                Err(reason) => reason,
                Ok(_) => format!(
                    "it lies beyond the last acknowledged position {}: it was added by hand",
                    limit.unwrap_or(0)
                ),
            };
            found = problem(key, reason);
            break;
        }
        if key < next {
            found = problem(
                key,
                format!(
                    "it overlaps the record before it, which ends at {}",
                    next - 1
                ),
            );
            break;
        }
        if key > next {
            if style == CommitStyle::RecordLast && limit.is_some() {
                // The record at `next` has not arrived yet, or is lost: the chain is short.
                break;
            }
            found = problem(
                key,
                format!("a record at position {next} is missing before it"),
            );
            break;
        }
        match bytes.and_then(|bytes| codec.decode(&bytes)) {
            Err(reason) => found = problem(key, reason),
            Ok(segment) if segment.first().map(|e| e.position) != Some(key) => {
                found = problem(
                    key,
                    "the first event's position is not the record's key".into(),
                );
            }
            Ok(segment) => {
                if let Some(head) = record.head()
                    && let Some(at_head) = segment.iter().find(|e| e.position == head.position)
                    && at_head.event_id != head.event_id
                {
                    found = problem(
                        key,
                        format!(
                            "position {} holds event {} but event {} was acknowledged there: the record was replaced",
                            head.position, at_head.event_id, head.event_id
                        ),
                    );
                    break;
                }
                next = segment.last().map_or(next, |e| e.position + 1);
                ends.push(next - 1);
                events.extend(segment);
            }
        }
        if found.is_some() {
            break;
        }
    }
    if let Some(limit) = limit {
        // Only a segment that straddles the head gets past it; keep what was acknowledged.
        events.retain(|e| e.position <= limit);
        ends.retain(|&end| end <= limit);
    }
    if let (CommitRecord::Unreadable(reason), None) = (record, &found) {
        found = Some(Problem {
            key: "head".into(),
            reason: format!("the commit record cannot be read: {reason}"),
        });
    }
    Chain {
        events,
        ends,
        problem: found,
    }
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
    /// The commit record as this store last saw it: what the next write expects.
    committed: Cell<Option<Head>>,
    /// Every snapshot, by aggregate, oldest first; read once at open.
    snapshots: RefCell<HashMap<String, Vec<Snapshot>>>,
    queue: RefCell<VecDeque<Pending>>,
    writing: Cell<bool>,
}

impl<Io: SegmentIo> SegmentedStore<Io> {
    /// Opens a store, reading every segment and snapshot into memory. A log that is not intact
    /// up to its commit record fails with [`StoreError::Corrupt`], saying how far it is.
    pub async fn open(io: Io) -> Result<Self, StoreError> {
        let store = SegmentedStore {
            io,
            log: RefCell::new(EventLog::new()),
            committed: Cell::new(None),
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

    /// Reads what is stored without opening it: how far the log is intact, and what follows.
    pub async fn inspect(io: &Io) -> Result<Inspection, StoreError> {
        let (read, chain) = Self::read_chain(io, 1).await?;
        let intact_up_to = chain.reached(1);
        Ok(Inspection {
            committed: read.record.head().map(|h| h.position),
            intact_up_to,
            problem: chain.problem,
            records: read.segments.len(),
            records_after: read
                .segments
                .iter()
                .filter(|(key, _)| *key > intact_up_to)
                .count(),
        })
    }

    /// Keeps the log up to `keep` (which must end a record of the intact log) and drops every
    /// record after it, making `keep` the last acknowledged position. For a store that does not
    /// open: the page's "keep the valid prefix".
    pub async fn truncate(io: &Io, keep: u64) -> Result<Inspection, StoreError> {
        let (read, chain) = Self::read_chain(io, 1).await?;
        let intact_up_to = chain.reached(1);
        if keep != 0 && !chain.ends.contains(&keep) {
            return Err(StoreError::Backend {
                backend: "segmented",
                operation: "truncate",
                message: format!(
                    "position {keep} is not the end of a record of the intact log (intact up to {intact_up_to})"
                ),
            });
        }
        let head = chain
            .events
            .iter()
            .find(|e| e.position == keep)
            .map(Head::of);
        match io.truncate(&read.record, head).await {
            Ok(()) => Self::inspect(io).await,
            Err(WriteError::Taken) => Err(StoreError::Backend {
                backend: "segmented",
                operation: "truncate",
                message: "another tab wrote to the store meanwhile; look again".into(),
            }),
            Err(WriteError::Failed(e)) => Err(e),
        }
    }

    /// Reads the stored log from `from`, waiting a moment for segments other tabs wrote before
    /// their commit record to become visible here.
    async fn read_chain(io: &Io, from: u64) -> Result<(LogRead, Chain), StoreError> {
        let mut waits = 0;
        loop {
            let read = io.read_log(from).await?;
            let record = read.record.clone();
            let chain = decode_chain(
                io.codec(),
                io.commit_style(),
                from,
                &record,
                read.segments.clone(),
            );
            let short = chain.problem.is_none()
                && record
                    .head()
                    .is_some_and(|head| chain.reached(from) < head.position);
            if short && io.commit_style() == CommitStyle::RecordLast && waits < MAX_WAITS {
                waits += 1;
                io.pause().await;
                continue;
            }
            let mut chain = chain;
            if let Some(head) = record.head()
                && short
            {
                let reached = chain.reached(from);
                chain.problem = Some(Problem {
                    key: (reached + 1).to_string(),
                    reason: format!(
                        "the log ends at position {reached} but position {} was acknowledged: the records after it are missing",
                        head.position
                    ),
                });
            }
            return Ok((read, chain));
        }
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

    /// Reads and integrates the committed segments after the log's head; returns the head they
    /// were integrated after and how many events were new.
    async fn read_new_segments(&self) -> Result<(u64, usize), StoreError> {
        let from = self.log.borrow().head_position() + 1;
        let (read, chain) = Self::read_chain(&self.io, from).await?;
        let record = read.record;
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
        if let Some(problem) = chain.problem {
            return Err(self.corrupt(
                problem,
                chain.events.last().map_or(from - 1, |e| e.position),
            ));
        }
        let mut log = self.log.borrow_mut();
        // The log may have moved on while reading (our own commit): new events start after it.
        let before = log.head_position();
        let added = log
            .integrate(chain.events, Origin::Remote)
            .map_err(|gap| self.discontinuity(gap, before))?;
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

    /// Events that do not continue the log at `head`, as a corrupt store.
    fn discontinuity(&self, gap: Discontinuity, head: u64) -> StoreError {
        self.corrupt(
            Problem {
                key: gap.position.to_string(),
                reason: gap.reason,
            },
            head,
        )
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

    /// Decides a group of appends against the log, writes the new events as one segment per
    /// append with the new commit record in one write, and answers each append. When another
    /// writer got in first, catches up and decides again.
    async fn commit_group(&self, group: Vec<Pending>) {
        let (requests, replies): (Vec<_>, Vec<_>) = group
            .into_iter()
            .map(|p| ((p.aggregate_id, p.expected, p.events), p.reply))
            .unzip();
        let mut last_error = None;
        for _ in 0..MAX_ATTEMPTS {
            let decided = self.log.borrow().prepare_group(requests.clone());
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
            let segments: Vec<RawSegment> = written
                .iter()
                .filter_map(|events| Some((events.first()?.position, codec.encode(events))))
                .collect();
            let outcome = match new_head {
                None => Ok(()),
                Some(head) => self.io.write(self.committed.get(), segments, head).await,
            };
            match outcome {
                Ok(()) => {
                    if new_head.is_some() {
                        self.committed.set(new_head);
                    }
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
                    // Nothing was acknowledged: the appends that needed a write fail; the others
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

    async fn read_news(&self, after: u64, limit: usize) -> Result<Vec<News>, StoreError> {
        Ok(self.log.borrow().read_news(after, limit))
    }

    async fn read_event(&self, event_id: EventId) -> Result<Option<StoredEvent>, StoreError> {
        Ok(self.log.borrow().by_id(&event_id).cloned())
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
