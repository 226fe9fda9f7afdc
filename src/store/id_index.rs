//! The log's index of event ids: where each stored event sits, for idempotent appends.
//!
//! The table holds only each event's index in the log (4 bytes), never the id itself (16): the
//! id is read from the log when a lookup's short hash tag matches, which is rare for a miss.
//! Kept as a map of ids to positions it was most of a cold open: in Chromium, indexing
//! 100,000 events took about 20 ms of a 75 ms open and replay, for a table six times the size.

use std::hash::Hasher;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use rustc_hash::FxHasher;

use crate::event::{EventId, StoredEvent};

/// Where each event id of a log sits; the log's events are passed to every call.
#[derive(Debug, Default, Clone)]
pub(super) struct IdIndex {
    /// Indexes into the log's events (position − 1).
    table: HashTable<u32>,
}

/// Why an id could not be indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NotIndexed {
    /// The id is already stored, at this position.
    Taken(u64),
    /// The log holds more events than an index can name.
    Full,
}

fn hash(id: &EventId) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(id.as_bytes());
    hasher.finish()
}

/// The hash of the event at an index of the log (0 for none: never asked for in a valid index).
fn hash_at(events: &[StoredEvent], index: u32) -> u64 {
    events
        .get(index as usize)
        .map_or(0, |event| hash(&event.event_id))
}

fn is_at(events: &[StoredEvent], index: u32, id: &EventId) -> bool {
    events
        .get(index as usize)
        .is_some_and(|event| event.event_id == *id)
}

impl IdIndex {
    /// Makes room for `additional` more ids, if memory allows (a hint: nothing fails when it
    /// does not).
    pub fn reserve(&mut self, additional: usize, events: &[StoredEvent]) {
        let _ = self
            .table
            .try_reserve(additional, |&index| hash_at(events, index));
    }

    /// The position of the event with this id.
    pub fn position(&self, id: &EventId, events: &[StoredEvent]) -> Option<u64> {
        self.table
            .find(hash(id), |&index| is_at(events, index, id))
            .map(|&index| u64::from(index) + 1)
    }

    /// Indexes the id of the event about to be pushed at index `events.len()`.
    pub fn insert(&mut self, id: &EventId, events: &[StoredEvent]) -> Result<(), NotIndexed> {
        let index = u32::try_from(events.len()).map_err(|_| NotIndexed::Full)?;
        match self.table.entry(
            hash(id),
            |&stored| is_at(events, stored, id),
            |&stored| hash_at(events, stored),
        ) {
            Entry::Occupied(stored) => Err(NotIndexed::Taken(u64::from(*stored.get()) + 1)),
            Entry::Vacant(slot) => {
                slot.insert(index);
                Ok(())
            }
        }
    }

    /// Forgets an id, while its event is still in `events`.
    pub fn remove(&mut self, id: &EventId, events: &[StoredEvent]) {
        if let Ok(entry) = self
            .table
            .find_entry(hash(id), |&index| is_at(events, index, id))
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

    /// What the index is asked to do, over ids drawn from a small pool so that they repeat.
    #[derive(Debug, Clone)]
    enum Step {
        Push(u8),
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
            if index.insert(&id(n), &events).is_ok() {
                events.push(event(n));
            }
        }
        // The first 256 inserts were new, every later one repeated an id.
        assert_eq!(events.len(), 256);
        assert_eq!(index.insert(&id(0x55), &events), Err(NotIndexed::Taken(1)));
        assert_eq!(index.position(&id(0x54), &events), Some(2));
        index.remove(&id(0x55), &events);
        assert_eq!(index.position(&id(0x55), &events), None);
        assert_eq!(index.position(&EventId::derived("never"), &events), None);
    }

    proptest! {
        /// The index answers as a map of ids to positions would, through pushes, refusals and
        /// pops (a failed append undone).
        #[test]
        fn agrees_with_a_map(
            template in any_stored_event(),
            steps in prop::collection::vec(
                prop_oneof![4 => any::<u8>().prop_map(Step::Push), 1 => Just(Step::Pop)],
                0..400,
            ),
        ) {
            let ids: Vec<EventId> = (0..=u8::MAX).map(id).collect();
            let mut events: Vec<StoredEvent> = Vec::new();
            let mut index = IdIndex::default();
            let mut model: HashMap<EventId, u64> = HashMap::new();
            for step in steps {
                match step {
                    Step::Push(n) => {
                        let id = ids[usize::from(n)];
                        let outcome = index.insert(&id, &events);
                        match model.get(&id) {
                            Some(&position) => prop_assert_eq!(outcome, Err(NotIndexed::Taken(position))),
                            None => {
                                prop_assert_eq!(outcome, Ok(()));
                                let mut event = template.clone();
                                event.event_id = id;
                                events.push(event);
                                model.insert(id, events.len() as u64);
                            }
                        }
                    }
                    Step::Pop => {
                        if let Some(last) = events.last() {
                            index.remove(&last.event_id, &events);
                            model.remove(&last.event_id);
                            events.pop();
                        }
                    }
                }
            }
            for id in &ids {
                prop_assert_eq!(index.position(id, &events), model.get(id).copied());
            }
        }
    }
}
