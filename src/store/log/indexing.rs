//! Indexing events as they join the log (each checked to continue it: position, version, id),
//! and taking them back when a batch is refused part-way.

use std::sync::Arc;

use super::{Discontinuity, EventLog};
use crate::event::StoredEvent;
use crate::store::id_index::{IdIndex, Indexed, NotIndexed};

impl EventLog {
    /// Indexes a batch that is to follow the log, each event after checking that it continues
    /// the log and the events before it. On error, says how many were indexed.
    pub(super) fn index_batch(
        &mut self,
        batch: &[StoredEvent],
    ) -> Result<(), (usize, Discontinuity)> {
        let base = self.events.len();
        let mut start = 0;
        while let Some(first) = batch.get(start) {
            // A batch (or a segment) is mostly runs of one aggregate's events: each run finds
            // its aggregate's positions once, not once per event.
            let run = batch[start..]
                .iter()
                .take_while(|e| e.aggregate_id == first.aggregate_id)
                .count();
            self.index_run(start..start + run, base, batch)
                .map_err(|(offset, reason)| (start + offset, reason))?;
            start += run;
        }
        Ok(())
    }

    /// Indexes `run`, events of `batch` (which follows the log's first `base` events) that all
    /// belong to one aggregate. On error, says how many of the run were indexed.
    fn index_run(
        &mut self,
        run: std::ops::Range<usize>,
        base: usize,
        batch: &[StoredEvent],
    ) -> Result<(), (usize, Discontinuity)> {
        let Some(first) = batch.get(run.start) else {
            return Ok(());
        };
        let events = Indexed {
            log: &self.events,
            batch,
        };
        let positions = self
            .streams
            .entry(Arc::clone(&first.aggregate_id))
            .or_default();
        let mut outcome = Ok(());
        let first_index = base + run.start;
        for (offset, event) in batch[run].iter().enumerate() {
            let index = first_index + offset;
            if let Err(reason) = index_one(event, index, positions, &mut self.ids, events) {
                outcome = Err((offset, reason));
                break;
            }
        }
        // An aggregate whose first event was refused has no stream.
        if positions.is_empty() {
            self.streams.remove(&*first.aggregate_id);
        }
        outcome
    }

    /// Removes the events after `head` (undoing a failed `extend`).
    pub(super) fn truncate(&mut self, head: u64) {
        self.origins
            .truncate(usize::try_from(head).unwrap_or(usize::MAX));
        while self.head_position() > head {
            // The index finds an id through its event, so the id goes before the event.
            if let Some(last) = self.events.last() {
                self.ids.remove(&last.event_id, Indexed::log(&self.events));
            }
            let Some(event) = self.events.pop() else {
                break;
            };
            if let Some(positions) = self.streams.get_mut(&*event.aggregate_id) {
                positions.pop();
                if positions.is_empty() {
                    self.streams.remove(&*event.aggregate_id);
                }
            }
        }
    }
}

/// Checks that `event`, at `index` of the log (or of the batch after it), continues the log and
/// its aggregate's `positions`, then indexes it there and in `ids`.
fn index_one(
    event: &StoredEvent,
    index: usize,
    positions: &mut Vec<u64>,
    ids: &mut IdIndex,
    events: Indexed<'_>,
) -> Result<(), Discontinuity> {
    let fail = |reason: String| Discontinuity {
        position: event.position,
        reason,
    };
    let expected_position = index as u64 + 1;
    if event.position != expected_position {
        return Err(fail(format!("expected position {expected_position}")));
    }
    let version = positions.len() as u64;
    if event.version != version + 1 {
        return Err(fail(format!(
            "{} is at version {version}, so the next version is {}, not {}",
            event.aggregate_id,
            version + 1,
            event.version
        )));
    }
    match ids.insert(&event.event_id, index, events) {
        Ok(()) => {}
        Err(NotIndexed::Taken(_)) => {
            return Err(fail(format!("event id {} is stored twice", event.event_id)));
        }
        Err(NotIndexed::Full) => return Err(fail("the log holds too many events".into())),
    }
    positions.push(event.position);
    Ok(())
}
