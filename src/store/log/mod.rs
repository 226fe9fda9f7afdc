//! The in-memory, indexed view of a log that every backend keeps, and the append rules it enforces.
//!
//! Backends differ in how they persist; they all decide an append here, so the rules (expected
//! version, idempotency, atomic batches) are written once. How events are indexed as they
//! join the log, and taken back, is in `indexing`.

mod indexing;

use std::sync::Arc;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::id_index::{IdIndex, Indexed};
use super::{
    AppendOutcome, MAX_BATCH, News, Origin, ReadAll, StoreError, StreamInfo, VersionRange,
};
use crate::event::{EventId, ProposedEvent, StoredEvent, check_aggregate_id};
use crate::expected::ExpectedVersion;

/// All events of a store in position order, indexed by aggregate and by event id.
#[derive(Debug, Default, Clone)]
pub struct EventLog {
    /// The event at position `p` is at index `p - 1`.
    events: Vec<StoredEvent>,
    /// Where each event came from, at the same index.
    origins: Vec<Origin>,
    /// Positions of each aggregate's events; version `v` is at index `v - 1`.
    streams: HashMap<Arc<str>, Vec<u64>>,
    /// Where each stored event id sits.
    ids: IdIndex,
}

/// What an append would do, decided before anything is written.
#[derive(Debug, Clone, PartialEq)]
pub enum Prepared {
    /// Every event of the batch is already stored with the same content: nothing to write.
    AlreadyStored(AppendOutcome),
    /// New events, with versions and positions assigned, to be written as one unit.
    New(Vec<StoredEvent>),
}

/// What earlier batches of a group would add, seen by the later ones.
#[derive(Default)]
struct Staged {
    /// Events staged so far.
    events: u64,
    /// Each staged aggregate's version after the staged batches.
    versions: HashMap<String, u64>,
    /// Staged events by id.
    ids: HashMap<EventId, StoredEvent>,
}

/// Events that do not continue the log: a gap, a repeated id or a version out of order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event at position {position} does not continue the log: {reason}")]
pub struct Discontinuity {
    /// Position of the offending event.
    pub position: u64,
    /// What is wrong.
    pub reason: String,
}

impl EventLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Position of the last event (0 when empty).
    pub fn head_position(&self) -> u64 {
        self.events.len() as u64
    }

    /// Last version of an aggregate (0 when it has no events).
    pub fn stream_version(&self, aggregate_id: &str) -> u64 {
        self.streams
            .get(aggregate_id)
            .map_or(0, |positions| positions.len() as u64)
    }

    /// The event at a position.
    pub fn get(&self, position: u64) -> Option<&StoredEvent> {
        let index = usize::try_from(position.checked_sub(1)?).ok()?;
        self.events.get(index)
    }

    /// The stored event with an id.
    pub fn by_id(&self, event_id: &EventId) -> Option<&StoredEvent> {
        self.ids
            .position(event_id, Indexed::log(&self.events))
            .and_then(|position| self.get(position))
    }

    /// Decides an append without changing the log: either the batch is an idempotent retry, or
    /// these are the events to store.
    pub fn prepare(
        &self,
        aggregate_id: &str,
        expected: ExpectedVersion,
        batch: Vec<ProposedEvent>,
    ) -> Result<Prepared, StoreError> {
        self.prepare_in(&mut Staged::default(), false, aggregate_id, expected, batch)
    }

    /// Decides several appends in order, as if each earlier one had been stored, without changing
    /// the log: how a group of appends is committed in one write.
    pub fn prepare_group(
        &self,
        batches: impl IntoIterator<Item = (String, ExpectedVersion, Vec<ProposedEvent>)>,
    ) -> Vec<Result<Prepared, StoreError>> {
        let mut staged = Staged::default();
        let mut batches = batches.into_iter().peekable();
        let mut decided = Vec::new();
        while let Some((aggregate_id, expected, batch)) = batches.next() {
            let more = batches.peek().is_some();
            decided.push(self.prepare_in(&mut staged, more, &aggregate_id, expected, batch));
        }
        decided
    }

    /// Decides one batch after what `staged` holds; with `more`, batches of the group follow,
    /// so this one is staged for them to see.
    fn prepare_in(
        &self,
        staged: &mut Staged,
        more: bool,
        aggregate_id: &str,
        expected: ExpectedVersion,
        batch: Vec<ProposedEvent>,
    ) -> Result<Prepared, StoreError> {
        check_aggregate_id(aggregate_id).map_err(StoreError::InvalidAggregate)?;
        if batch.is_empty() {
            return Err(StoreError::EmptyBatch);
        }
        if batch.len() > MAX_BATCH {
            return Err(StoreError::BatchTooLarge {
                len: batch.len(),
                max: MAX_BATCH,
            });
        }
        let mut seen = HashSet::with_capacity_and_hasher(batch.len(), Default::default());
        for (index, event) in batch.iter().enumerate() {
            event
                .check()
                .map_err(|source| StoreError::InvalidEvent { index, source })?;
            if !seen.insert(event.event_id) {
                return Err(StoreError::DuplicateInBatch {
                    event_id: event.event_id,
                });
            }
        }
        if let Some(outcome) = self.idempotent_retry(staged, aggregate_id, &batch)? {
            return Ok(Prepared::AlreadyStored(outcome));
        }
        let actual = staged
            .versions
            .get(aggregate_id)
            .copied()
            .unwrap_or_else(|| self.stream_version(aggregate_id));
        if !expected.is_satisfied_by(actual) {
            return Err(StoreError::Conflict {
                aggregate_id: aggregate_id.to_string(),
                expected,
                actual,
            });
        }
        let head = self.head_position() + staged.events;
        let shared_id: Arc<str> = aggregate_id.into();
        let events: Vec<StoredEvent> = batch
            .into_iter()
            .zip(1u64..)
            .map(|(event, offset)| event.place(&shared_id, actual + offset, head + offset))
            .collect();
        staged.events += events.len() as u64;
        staged
            .versions
            .insert(aggregate_id.to_string(), actual + events.len() as u64);
        // Only a later batch of the group looks a staged event up by its id: the last batch
        // (and a lone one, the usual append) is not copied when nothing will read it.
        if more {
            staged.ids.reserve(events.len());
            for event in &events {
                staged.ids.insert(event.event_id, event.clone());
            }
        }
        Ok(Prepared::New(events))
    }

    /// The idempotency rule: an event id is stored at most once. A batch whose ids are all stored
    /// with the same content is a retry and returns the originals; any other use of a stored id
    /// is an error naming it.
    fn idempotent_retry(
        &self,
        staged: &Staged,
        aggregate_id: &str,
        batch: &[ProposedEvent],
    ) -> Result<Option<AppendOutcome>, StoreError> {
        let mut originals = Vec::new();
        let mut first_stored = None;
        let mut any_new = false;
        for proposed in batch {
            let stored = staged
                .ids
                .get(&proposed.event_id)
                .or_else(|| self.by_id(&proposed.event_id));
            match stored {
                Some(stored) => {
                    if !stored.same_content(aggregate_id, proposed) {
                        return Err(StoreError::EventIdReused {
                            event_id: proposed.event_id,
                            position: stored.position,
                        });
                    }
                    first_stored.get_or_insert((proposed.event_id, stored.position));
                    originals.push(stored.clone());
                }
                None => any_new = true,
            }
        }
        match (first_stored, any_new) {
            (None, _) => Ok(None),
            (Some((event_id, position)), true) => {
                Err(StoreError::PartlyStored { event_id, position })
            }
            (Some(_), false) => Ok(Some(AppendOutcome {
                aggregate_id: aggregate_id.to_string(),
                events: originals,
                already_stored: true,
            })),
        }
    }

    /// Adds events read from storage or just written, skipping those already in the log (the
    /// same id at the same position), so that catching up and committing may overlap. Returns
    /// how many were new. On error nothing is added.
    pub fn integrate(
        &mut self,
        mut events: Vec<StoredEvent>,
        origin: Origin,
    ) -> Result<usize, Discontinuity> {
        let head = self.head_position();
        let known = events.iter().take_while(|e| e.position <= head).count();
        for event in &events[..known] {
            match self.get(event.position) {
                Some(stored) if stored.event_id == event.event_id => {}
                other => {
                    return Err(Discontinuity {
                        position: event.position,
                        reason: match other {
                            Some(stored) => format!(
                                "position {} holds event {} here but {} in storage",
                                event.position, stored.event_id, event.event_id
                            ),
                            None => "positions are out of order".into(),
                        },
                    });
                }
            }
        }
        let fresh = events.split_off(known);
        let count = fresh.len();
        self.extend(fresh, origin)?;
        Ok(count)
    }

    /// Makes room for `additional` more events, if memory allows (a hint: nothing fails when it
    /// does not), so that a log read in slices is not copied and rehashed as it grows.
    pub fn reserve(&mut self, additional: usize) {
        let _ = self.events.try_reserve(additional);
        let _ = self.origins.try_reserve(additional);
        self.ids.reserve(additional);
    }

    /// Adds events that were written (or read back from storage), checking that they continue the
    /// log exactly: next position, next version of their aggregate, unseen id.
    /// On error nothing is added.
    pub fn extend(
        &mut self,
        mut events: Vec<StoredEvent>,
        origin: Origin,
    ) -> Result<(), Discontinuity> {
        let head = self.head_position();
        self.events.reserve(events.len());
        self.ids.reserve(events.len());
        self.origins.reserve(events.len());
        // Each event is checked and indexed where it lies; then the batch moves into the log
        // whole: moving events in one by one was about a third of indexing a cold log.
        let indexed = self.index_batch(&events);
        if let Err((checked, _)) = &indexed {
            events.truncate(*checked);
        }
        self.events.append(&mut events);
        self.origins.resize(self.events.len(), origin);
        indexed.map_err(|(_, reason)| {
            self.truncate(head);
            reason
        })
    }

    /// One aggregate's events in version order, within `range`.
    pub fn read_stream(&self, aggregate_id: &str, range: VersionRange) -> Vec<StoredEvent> {
        let Some(positions) = self.streams.get(aggregate_id) else {
            return Vec::new();
        };
        let from = usize::try_from(range.from.max(1) - 1).unwrap_or(usize::MAX);
        let to = range
            .to
            .and_then(|to| usize::try_from(to).ok())
            .unwrap_or(usize::MAX)
            .min(positions.len());
        positions
            .get(from..to.max(from))
            .unwrap_or_default()
            .iter()
            .filter_map(|&p| self.get(p).cloned())
            .collect()
    }

    /// Events across all aggregates from a position, filtered, at most `query.limit` of them.
    pub fn read_all(&self, query: &ReadAll) -> Vec<StoredEvent> {
        self.matching(query)
            .skip(query.skip)
            .take(query.limit)
            .cloned()
            .collect()
    }

    /// How many events match a read, from its position (its limit and skip aside).
    pub fn count(&self, query: &ReadAll) -> usize {
        match (&query.aggregate_id, query.event_types.is_empty()) {
            // One aggregate, every type: its stream's index says it without a scan.
            (Some(id), true) => self.streams.get(id.as_str()).map_or(0, |positions| {
                let from = positions.partition_point(|&p| p < query.from_position);
                positions.len() - from
            }),
            _ => self.matching(query).count(),
        }
    }

    /// The events a read matches, from its position, in position order: through one
    /// aggregate's index when the read names one.
    fn matching<'a>(
        &'a self,
        query: &'a ReadAll,
    ) -> Box<dyn Iterator<Item = &'a StoredEvent> + 'a> {
        let from = query.from_position.max(1);
        if let Some(id) = &query.aggregate_id {
            let positions = self.streams.get(id.as_str()).map_or(&[][..], Vec::as_slice);
            let start = positions.partition_point(|&p| p < from);
            return Box::new(
                positions[start..]
                    .iter()
                    .filter_map(|&p| self.get(p))
                    .filter(|e| query.matches(e)),
            );
        }
        let from = usize::try_from(from - 1).unwrap_or(usize::MAX);
        Box::new(
            self.events
                .get(from..)
                .unwrap_or_default()
                .iter()
                .filter(|e| query.matches(e)),
        )
    }

    /// Events after a position with where each came from, at most `limit` of them.
    pub fn read_news(&self, after: u64, limit: usize) -> Vec<News> {
        let from = usize::try_from(after).unwrap_or(usize::MAX);
        let events = self.events.get(from..).unwrap_or_default();
        let origins = self.origins.get(from..).unwrap_or_default();
        events
            .iter()
            .zip(origins)
            .take(limit)
            .map(|(event, &origin)| News {
                event: event.clone(),
                origin,
            })
            .collect()
    }

    /// Every aggregate with its last version and position, sorted by id.
    pub fn streams(&self) -> Vec<StreamInfo> {
        let mut streams: Vec<StreamInfo> = self
            .streams
            .iter()
            .map(|(id, positions)| StreamInfo {
                aggregate_id: id.to_string(),
                version: positions.len() as u64,
                last_position: positions.last().copied().unwrap_or(0),
            })
            .collect();
        streams.sort_by(|a, b| a.aggregate_id.cmp(&b.aggregate_id));
        streams
    }
}
