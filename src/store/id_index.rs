//! The log's index of event ids: where each stored event sits, for idempotent appends.
//!
//! The table holds each event's index in the log and a 32-bit hash of its id (8 bytes), never
//! the id itself (16): the id is read from the log only when a lookup's hash matches, and
//! growing the table rehashes from the stored hashes without reading the log. Kept as a map of
//! ids to positions it was most of a cold open: in Chromium, indexing 100,000 events took
//! about 20 ms of a 75 ms open and replay, for a table three times the size.

use std::hash::Hasher;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use rustc_hash::FxHasher;

use crate::event::{EventId, StoredEvent};

/// Where each event id of a log sits; the log's events are passed to every lookup.
#[derive(Debug, Default, Clone)]
pub(super) struct IdIndex {
    /// Each id's event as its index into the log's events (position − 1), with the id's
    /// short hash.
    table: HashTable<Slot>,
}

/// One indexed id: where its event is, and the id's short hash.
#[derive(Debug, Clone, Copy)]
struct Slot {
    index: u32,
    hash: u32,
}

/// The events an index points into: the log, and a batch being added after it (whose events
/// are indexed before they move into the log).
#[derive(Clone, Copy)]
pub(super) struct Indexed<'a> {
    pub log: &'a [StoredEvent],
    pub batch: &'a [StoredEvent],
}

impl<'a> Indexed<'a> {
    /// The log alone.
    pub fn log(log: &'a [StoredEvent]) -> Self {
        Indexed { log, batch: &[] }
    }

    fn id_at(self, index: u32) -> Option<&'a EventId> {
        let index = index as usize;
        match self.log.get(index) {
            Some(event) => Some(&event.event_id),
            None => self
                .batch
                .get(index - self.log.len())
                .map(|event| &event.event_id),
        }
    }

    /// Whether a slot holds this id (whose short hash is `hash`).
    fn holds(self, slot: &Slot, id: &EventId, hash: u32) -> bool {
        slot.hash == hash && self.id_at(slot.index) == Some(id)
    }
}

/// Why an id could not be indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NotIndexed {
    /// The id is already stored, at this position.
    Taken(u64),
    /// The log holds more events than an index can name.
    Full,
}

/// An id's short hash, the one a slot keeps.
fn short_hash(id: &EventId) -> u32 {
    let mut hasher = FxHasher::default();
    hasher.write(id.as_bytes());
    let hash = hasher.finish();
    (hash >> 32) as u32 ^ hash as u32
}

/// The table's hash of a short hash: multiplied so that its high bits (the table's tags) vary
/// as much as its low ones (the table's buckets).
fn spread(short: u32) -> u64 {
    u64::from(short).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl IdIndex {
    /// Makes room for `additional` more ids, if memory allows (a hint: nothing fails when it
    /// does not).
    pub fn reserve(&mut self, additional: usize) {
        let _ = self.table.try_reserve(additional, |slot| spread(slot.hash));
    }

    /// The position of the event with this id.
    pub fn position(&self, id: &EventId, events: Indexed<'_>) -> Option<u64> {
        let hash = short_hash(id);
        self.table
            .find(spread(hash), |slot| events.holds(slot, id, hash))
            .map(|slot| u64::from(slot.index) + 1)
    }

    /// Indexes the id of the event at `index` (of the log, or of the batch after it).
    pub fn insert(
        &mut self,
        id: &EventId,
        index: usize,
        events: Indexed<'_>,
    ) -> Result<(), NotIndexed> {
        let index = u32::try_from(index).map_err(|_| NotIndexed::Full)?;
        let hash = short_hash(id);
        match self.table.entry(
            spread(hash),
            |slot| events.holds(slot, id, hash),
            |slot| spread(slot.hash),
        ) {
            Entry::Occupied(stored) => Err(NotIndexed::Taken(u64::from(stored.get().index) + 1)),
            Entry::Vacant(free) => {
                free.insert(Slot { index, hash });
                Ok(())
            }
        }
    }

    /// Forgets an id, while its event is still in `events`.
    pub fn remove(&mut self, id: &EventId, events: Indexed<'_>) {
        let hash = short_hash(id);
        if let Ok(entry) = self
            .table
            .find_entry(spread(hash), |slot| events.holds(slot, id, hash))
        {
            entry.remove();
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;
    use crate::event::arbitrary::any_stored_event;

    /// What the index is asked to do, over ids drawn from a small pool so that they repeat:
    /// index an event in a batch after the log, move the batch into the log, or take the last
    /// event back (a failed append undone).
    #[derive(Debug, Clone)]
    enum Step {
        Stage(u8),
        Flush,
        Pop,
    }

    fn id(n: u8) -> EventId {
        EventId::derived(&format!("id-{n}"))
    }

    fn event(n: u8) -> StoredEvent {
        StoredEvent {
            position: 0,
            event_id: id(n),
            aggregate_id: "acc-1".into(),
            version: 0,
            event_type: "Deposited".into(),
            schema_version: 1,
            data: crate::event::EventData::empty(),
            metadata: crate::event::Metadata {
                timestamp: 0,
                correlation_id: None,
                causation_id: None,
            },
        }
    }

    #[test]
    fn finds_refuses_and_forgets() {
        let mut events = Vec::new();
        let mut index = IdIndex::default();
        for n in 0..1000u32 {
            let n = (n % 256) as u8 ^ 0x55;
            if index
                .insert(&id(n), events.len(), Indexed::log(&events))
                .is_ok()
            {
                events.push(event(n));
            }
        }
        // The first 256 inserts were new, every later one repeated an id.
        let log = Indexed::log(&events);
        assert_eq!(events.len(), 256);
        assert_eq!(index.insert(&id(0x55), 256, log), Err(NotIndexed::Taken(1)));
        assert_eq!(index.position(&id(0x54), log), Some(2));
        index.remove(&id(0x55), log);
        assert_eq!(index.position(&id(0x55), log), None);
        assert_eq!(index.position(&EventId::derived("never"), log), None);
    }

    /// Two different ids of the same short hash, found by the birthday search.
    fn colliding_ids() -> Option<(EventId, EventId)> {
        let mut seen = HashMap::new();
        (0u128..1 << 20).find_map(|n| {
            let id = EventId::from_bytes(n.to_le_bytes());
            seen.insert(short_hash(&id), id)
                .filter(|other| *other != id)
                .map(|other| (other, id))
        })
    }

    #[test]
    fn tells_apart_ids_of_the_same_short_hash() {
        let Some((first, second)) = colliding_ids() else {
            panic!("no two ids of the same short hash among a million");
        };
        let mut events = vec![event(0), event(1)];
        events[0].event_id = first;
        events[1].event_id = second;
        let mut index = IdIndex::default();
        let log = Indexed::log(&events);
        assert_eq!(index.insert(&first, 0, log), Ok(()));
        assert_eq!(index.insert(&second, 1, log), Ok(()));
        assert_eq!(index.position(&first, log), Some(1));
        assert_eq!(index.position(&second, log), Some(2));
        index.remove(&second, log);
        assert_eq!(index.position(&second, log), None);
        assert_eq!(index.position(&first, log), Some(1));
    }

    #[test]
    fn finds_a_repeat_within_a_batch_not_yet_in_the_log() {
        let log = vec![event(1)];
        let batch = vec![event(2), event(3)];
        let mut index = IdIndex::default();
        let view = Indexed {
            log: &log,
            batch: &batch,
        };
        for (at, n) in [1u8, 2, 3].into_iter().enumerate() {
            assert_eq!(index.insert(&id(n), at, view), Ok(()));
        }
        assert_eq!(index.insert(&id(3), 3, view), Err(NotIndexed::Taken(3)));
        assert_eq!(index.insert(&id(1), 3, view), Err(NotIndexed::Taken(1)));
    }

    proptest! {
        /// The index answers as a map of ids to positions would, through batches indexed
        /// before they join the log, refused repeats and pops.
        #[test]
        fn agrees_with_a_map(
            template in any_stored_event(),
            steps in prop::collection::vec(
                prop_oneof![
                    8 => any::<u8>().prop_map(Step::Stage),
                    2 => Just(Step::Flush),
                    1 => Just(Step::Pop),
                ],
                0..400,
            ),
        ) {
            let ids: Vec<EventId> = (0..=u8::MAX).map(id).collect();
            let mut events: Vec<StoredEvent> = Vec::new();
            let mut batch: Vec<StoredEvent> = Vec::new();
            let mut index = IdIndex::default();
            let mut model: HashMap<EventId, u64> = HashMap::new();
            for step in steps {
                match step {
                    Step::Stage(n) => {
                        let id = ids[usize::from(n)];
                        let at = events.len() + batch.len();
                        let outcome = index.insert(&id, at, Indexed { log: &events, batch: &batch });
                        match model.get(&id) {
                            Some(&position) => prop_assert_eq!(outcome, Err(NotIndexed::Taken(position))),
                            None => {
                                prop_assert_eq!(outcome, Ok(()));
                                let mut event = template.clone();
                                event.event_id = id;
                                batch.push(event);
                                model.insert(id, at as u64 + 1);
                            }
                        }
                    }
                    Step::Flush => events.append(&mut batch),
                    Step::Pop => {
                        events.append(&mut batch);
                        if let Some(last) = events.last() {
                            index.remove(&last.event_id, Indexed::log(&events));
                            model.remove(&last.event_id);
                            events.pop();
                        }
                    }
                }
            }
            events.append(&mut batch);
            for id in &ids {
                prop_assert_eq!(index.position(id, Indexed::log(&events)), model.get(id).copied());
            }
        }
    }
}
