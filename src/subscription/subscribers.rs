//! Who is subscribed to the log, and how far each was handed it: each subscriber has its own
//! watermark (the last position it was handed), so that what the pump reads is handed to each
//! one from its own watermark on, each position once, in order.

use std::cell::{Cell, RefCell};

use crate::event::StoredEvent;
use crate::store::{News, Origin};

/// Where a subscriber's events go (a JS callback, a test's list).
pub trait Sink {
    /// Takes a run of new events, all of one origin, in position order.
    fn deliver(&self, events: &[&StoredEvent], origin: Origin);
}

/// A subscriber's handle, to unsubscribe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubscriberId(u32);

struct Subscriber<K> {
    id: SubscriberId,
    sink: K,
    /// The last position handed to it.
    delivered: u64,
}

/// The subscribers of one log.
pub struct Subscribers<K> {
    list: RefCell<Vec<Subscriber<K>>>,
    next_id: Cell<u32>,
}

impl<K> Default for Subscribers<K> {
    fn default() -> Self {
        Subscribers {
            list: RefCell::new(Vec::new()),
            next_id: Cell::new(1),
        }
    }
}

impl<K: Sink + Clone> Subscribers<K> {
    /// Adds a subscriber that is handed every event after position `after`.
    pub fn subscribe(&self, sink: K, after: u64) -> SubscriberId {
        let id = SubscriberId(self.next_id.get());
        self.next_id.set(self.next_id.get() + 1);
        self.list.borrow_mut().push(Subscriber {
            id,
            sink,
            delivered: after,
        });
        id
    }

    /// Removes a subscriber; it is handed nothing more, even from a run being handed out.
    pub fn unsubscribe(&self, id: SubscriberId) {
        self.list.borrow_mut().retain(|s| s.id != id);
    }

    /// Removes every subscriber.
    pub fn clear(&self) {
        self.list.borrow_mut().clear();
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.list.borrow().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.borrow().is_empty()
    }

    /// The lowest watermark: where a read must start so that every subscriber gets its events.
    pub fn lowest(&self) -> Option<u64> {
        self.list.borrow().iter().map(|s| s.delivered).min()
    }

    /// Hands each subscriber the news after its watermark (news in position order), one
    /// delivery per run of one origin. A sink may subscribe or unsubscribe (itself or others)
    /// while it is handed its events: the list is copied first, and each watermark is moved
    /// before its sink is called, so a sink that makes the pump run again is not handed the same
    /// events twice.
    pub fn hand_out(&self, news: &[News]) {
        let copied: Vec<(SubscriberId, u64, K)> = self
            .list
            .borrow()
            .iter()
            .map(|s| (s.id, s.delivered, s.sink.clone()))
            .collect();
        for (id, delivered, sink) in copied {
            let fresh: Vec<&News> = news
                .iter()
                .filter(|n| n.event.position > delivered)
                .collect();
            let Some(last) = fresh.last().map(|n| n.event.position) else {
                continue;
            };
            let still_there = match self.list.borrow_mut().iter_mut().find(|s| s.id == id) {
                Some(subscriber) => {
                    subscriber.delivered = subscriber.delivered.max(last);
                    true
                }
                None => false,
            };
            if !still_there {
                continue;
            }
            for run in fresh.chunk_by(|a, b| a.origin == b.origin) {
                let events: Vec<&StoredEvent> = run.iter().map(|n| &n.event).collect();
                sink.deliver(&events, run[0].origin);
            }
        }
    }

    /// Every sink, for a notice that is not events (an error, the read model moved).
    pub fn sinks(&self) -> Vec<K> {
        self.list.borrow().iter().map(|s| s.sink.clone()).collect()
    }
}
