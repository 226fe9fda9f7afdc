//! Reading a stored log as a chain of segments, and what that tells: how far it is intact, what
//! follows, and the way to keep only the intact part.
//!
//! Each segment must sit right after the one before it, decode, and start at its key; the chain
//! must reach the commit record and hold the event it names. A backend whose commit record is
//! written after its segments (`CommitStyle::RecordLast`) may show a record before the segments
//! it commits: reading waits a moment for them before it calls them missing.

use std::cell::RefCell;

use super::{
    CommitRecord, CommitStyle, Discontinuity, EventLog, Head, LogReader, Origin, SegmentCodec,
    SegmentIo, StoreError, WriteError,
};
use crate::event::StoredEvent;

/// How many times a read waits for other tabs' segments to arrive before calling them missing
/// (with [`SegmentIo::pause`] between reads: about three seconds in a browser).
const MAX_WAITS: usize = 150;
/// The most events room is made for before a chain is read: a million events (about 100 MB in
/// wasm32), so that a commit record that claims far more cannot grow the tab's memory for nothing
/// (wasm memory never shrinks). A longer log grows past it as usual.
const MAX_RESERVED_EVENTS: usize = 1 << 20;

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

impl From<Discontinuity> for Problem {
    fn from(gap: Discontinuity) -> Self {
        Problem {
            key: gap.position.to_string(),
            reason: gap.reason,
        }
    }
}

/// The events of a stored log as far as it is intact.
pub(super) struct Chain {
    /// Each intact segment's events ([`read_chain`]; none from [`read_chain_into`], whose sink
    /// took them).
    pub segments: Vec<Vec<StoredEvent>>,
    /// The position of the intact chain's last event.
    last: Option<u64>,
    /// The last position of each intact segment.
    pub ends: Vec<u64>,
    pub problem: Option<Problem>,
    /// The key of every record read, intact or not.
    pub keys: Vec<u64>,
}

impl Chain {
    pub fn reached(&self, from: u64) -> u64 {
        self.last.unwrap_or(from - 1)
    }

    /// The event at a position, if the chain kept it.
    fn event_at(&self, position: u64) -> Option<&StoredEvent> {
        self.segments
            .iter()
            .flatten()
            .find(|e| e.position == position)
    }
}

/// Where a chain's intact segments go as they are decoded, instead of into [`Chain::segments`]:
/// an opening store indexes each one at once, so that the decoded log is never held twice.
pub(super) trait ChainSink {
    /// Room for about this many events, as the commit record says were acknowledged.
    fn reserve(&mut self, events: usize);

    /// The next intact segment's events (none past the commit record's head); a problem stops
    /// the chain there.
    fn take(&mut self, events: Vec<StoredEvent>) -> Result<(), Problem>;

    /// The chain is read again from its start, waiting for other tabs' segments: what was
    /// taken will come again.
    fn again(&mut self);
}

/// The segments kept as they are, for [`Chain::segments`].
#[derive(Default)]
struct Kept(Vec<Vec<StoredEvent>>);

impl ChainSink for Kept {
    fn reserve(&mut self, _events: usize) {}

    fn take(&mut self, events: Vec<StoredEvent>) -> Result<(), Problem> {
        self.0.push(events);
        Ok(())
    }

    fn again(&mut self) {
        self.0.clear();
    }
}

/// An opening store's log, indexing each segment as the chain decodes it.
pub(super) struct Indexing<'a> {
    log: &'a RefCell<EventLog>,
    /// Events new to the log.
    added: usize,
}

impl<'a> Indexing<'a> {
    pub fn new(log: &'a RefCell<EventLog>) -> Self {
        Indexing { log, added: 0 }
    }

    /// How many events were new to the log.
    pub fn added(&self) -> usize {
        self.added
    }
}

impl ChainSink for Indexing<'_> {
    fn reserve(&mut self, events: usize) {
        self.log.borrow_mut().reserve(events);
    }

    fn take(&mut self, events: Vec<StoredEvent>) -> Result<(), Problem> {
        let added = self
            .log
            .borrow_mut()
            .integrate(events, Origin::Remote)
            .map_err(Problem::from)?;
        self.added += added;
        Ok(())
    }

    // Events read again are already in the log: integrating skips them.
    fn again(&mut self) {}
}

/// Follows the chain of segments from `from` as the backend hands them over: each segment must
/// sit at the position after the one before it, decode, and hold events that start at its key.
/// Stops at the first that does not, or at the commit record's position, and checks that the
/// event there is the one the record names. A chain that stops short of the record without a
/// problem may still fill up (see [`CommitStyle::RecordLast`]); the caller decides when it is
/// missing. It lets the backend breathe before each segment: a large log decodes in many short
/// tasks on a page, while the rest of it is still being read.
struct ChainDecoder<'a, Io, Sink: ?Sized> {
    io: &'a Io,
    sink: &'a mut Sink,
    from: u64,
    record: CommitRecord,
    /// The next position the chain needs.
    next: u64,
    /// Set once the chain stops (with `chain.problem`, or short of the record).
    stopped: bool,
    chain: Chain,
}

impl<'a, Io: SegmentIo, Sink: ChainSink + ?Sized> ChainDecoder<'a, Io, Sink> {
    fn new(io: &'a Io, from: u64, sink: &'a mut Sink) -> Self {
        ChainDecoder {
            io,
            sink,
            from,
            record: CommitRecord::Missing,
            next: from,
            stopped: false,
            chain: Chain {
                segments: Vec::new(),
                last: None,
                ends: Vec::new(),
                problem: None,
                keys: Vec::new(),
            },
        }
    }

    fn limit(&self) -> Option<u64> {
        self.record.head().map(|h| h.position)
    }

    fn stop(&mut self, key: u64, reason: String) {
        self.chain.problem = Some(Problem {
            key: key.to_string(),
            reason,
        });
        self.stopped = true;
    }

    /// The chain read, and the record it was read against.
    fn finish(self) -> (CommitRecord, Chain) {
        let ChainDecoder {
            record, mut chain, ..
        } = self;
        if let Some(limit) = record.head().map(|h| h.position) {
            // Only a segment that straddles the head ends past it (its events were cut there).
            chain.ends.retain(|&end| end <= limit);
        }
        match (&record, &chain.problem) {
            (CommitRecord::Unreadable(reason), None) => {
                chain.problem = Some(Problem {
                    key: "head".into(),
                    reason: format!("the commit record cannot be read: {reason}"),
                });
            }
            // Whatever is there now is not the store that was acknowledged: that comes first.
            (CommitRecord::Gone { reason, .. }, _) => {
                chain.problem = Some(Problem {
                    key: "head".into(),
                    reason: reason.clone(),
                });
            }
            _ => {}
        }
        (record, chain)
    }
}

impl<Io: SegmentIo, Sink: ChainSink + ?Sized> LogReader for ChainDecoder<'_, Io, Sink> {
    fn record(&mut self, record: CommitRecord) {
        self.record = record;
        // Room for what the record says was acknowledged, so that the events are not copied as
        // the log grows; a record that claims more than memory allows gets less (the chain
        // says so).
        if let Some(expected) = self
            .limit()
            .and_then(|l| usize::try_from(l.saturating_sub(self.from.saturating_sub(1))).ok())
        {
            self.sink.reserve(expected.min(MAX_RESERVED_EVENTS));
        }
    }

    async fn segment(&mut self, key: u64, bytes: Result<Vec<u8>, String>) {
        self.chain.keys.push(key);
        if self.stopped {
            return;
        }
        let (codec, style) = (self.io.codec(), self.io.commit_style());
        self.io.breathe().await;
        let limit = self.limit();
        let beyond = limit.is_some_and(|limit| key > limit);
        if style == CommitStyle::RecordLast && (beyond || key < self.next) {
            // An interrupted write left it: it was never acknowledged.
            return;
        }
        if beyond {
            // Say what is wrong with the record itself first, if anything is.
            let reason = match decode(codec, &bytes) {
                Err(reason) => reason,
                Ok(_) => format!(
                    "it lies beyond the last acknowledged position {}: it was added by hand",
                    limit.unwrap_or(0)
                ),
            };
            return self.stop(key, reason);
        }
        if key < self.next {
            let reason = format!(
                "it overlaps the record before it, which ends at {}",
                self.next - 1
            );
            return self.stop(key, reason);
        }
        if key > self.next {
            if style == CommitStyle::RecordLast && limit.is_some() {
                // The record at `next` has not arrived yet, or is lost: the chain is short.
                self.stopped = true;
                return;
            }
            let reason = format!("a record at position {} is missing before it", self.next);
            return self.stop(key, reason);
        }
        match decode(codec, &bytes) {
            Err(reason) => self.stop(key, reason),
            Ok(segment) if segment.first().map(|e| e.position) != Some(key) => self.stop(
                key,
                "the first event's position is not the record's key".into(),
            ),
            Ok(mut segment) => {
                if let Some(head) = self.record.head()
                    && let Some(at_head) = segment.iter().find(|e| e.position == head.position)
                    && at_head.event_id != head.event_id
                {
                    let reason = format!(
                        "position {} holds event {} but event {} was acknowledged there: the record was replaced",
                        head.position, at_head.event_id, head.event_id
                    );
                    return self.stop(key, reason);
                }
                self.next = segment.last().map_or(self.next, |e| e.position + 1);
                self.chain.ends.push(self.next - 1);
                // Only a segment that straddles the head gets past it; keep what was acknowledged.
                if let Some(limit) = self.limit() {
                    segment.retain(|e| e.position <= limit);
                }
                let last = segment.last().map(|e| e.position);
                if let Err(problem) = self.sink.take(segment) {
                    self.chain.problem = Some(problem);
                    self.stopped = true;
                    return;
                }
                self.chain.last = last.or(self.chain.last);
            }
        }
    }
}

/// A stored value as a segment, or why it is not one.
fn decode(
    codec: SegmentCodec,
    bytes: &Result<Vec<u8>, String>,
) -> Result<Vec<StoredEvent>, String> {
    bytes
        .as_ref()
        .map_err(String::clone)
        .and_then(|bytes| codec.decode(bytes))
}

/// Reads what is stored without opening it: how far the log is intact, and what follows.
pub async fn inspect<Io: SegmentIo>(io: &Io) -> Result<Inspection, StoreError> {
    let (record, chain) = read_chain(io, 1).await?;
    let intact_up_to = chain.reached(1);
    Ok(Inspection {
        committed: record.acknowledged(),
        intact_up_to,
        records: chain.keys.len(),
        records_after: chain.keys.iter().filter(|&&key| key > intact_up_to).count(),
        problem: chain.problem,
    })
}

/// Keeps the log up to `keep` (which must end a record of the intact log) and drops every
/// record after it, making `keep` the last acknowledged position; says what is stored then. For
/// a store that does not open: the page's "keep the valid prefix".
pub async fn truncate<Io: SegmentIo>(io: &Io, keep: u64) -> Result<Inspection, StoreError> {
    let (record, chain) = read_chain(io, 1).await?;
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
    let head = chain.event_at(keep).map(Head::of);
    match io.truncate(&record, head).await {
        // What is stored now, told without reading again (the backend may have closed its
        // connection to cut the store back).
        Ok(()) => Ok(Inspection {
            committed: head.map(|h| h.position),
            intact_up_to: keep,
            problem: None,
            records: chain.ends.iter().filter(|&&end| end <= keep).count(),
            records_after: 0,
        }),
        Err(WriteError::Taken) => Err(StoreError::Backend {
            backend: "segmented",
            operation: "truncate",
            message: "another tab wrote to the store meanwhile; look again".into(),
        }),
        Err(WriteError::Failed(e)) => Err(e),
    }
}

/// Reads the stored log from `from`, waiting a moment for segments other tabs wrote before
/// their commit record to become visible here; says the commit record it was read against.
pub(super) async fn read_chain<Io: SegmentIo>(
    io: &Io,
    from: u64,
) -> Result<(CommitRecord, Chain), StoreError> {
    let mut kept = Kept::default();
    let (record, mut chain) = read_chain_into(io, from, &mut kept).await?;
    chain.segments = kept.0;
    Ok((record, chain))
}

/// [`read_chain`], handing each intact segment to `sink` as it is decoded (a read again while
/// waiting hands the segments from `from` again).
pub(super) async fn read_chain_into<Io: SegmentIo>(
    io: &Io,
    from: u64,
    sink: &mut impl ChainSink,
) -> Result<(CommitRecord, Chain), StoreError> {
    let mut waits = 0;
    loop {
        let mut decoder = ChainDecoder::new(io, from, &mut *sink);
        io.read_log_into(from, &mut decoder).await?;
        let (record, mut chain) = decoder.finish();
        let short = chain.problem.is_none()
            && record
                .head()
                .is_some_and(|head| chain.reached(from) < head.position);
        if short && io.commit_style() == CommitStyle::RecordLast && waits < MAX_WAITS {
            waits += 1;
            sink.again();
            io.pause().await;
            continue;
        }
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
        return Ok((record, chain));
    }
}
