//! The news pump: reads the log after the lowest subscriber watermark and hands out what is new,
//! round after round until every subscriber is at the head, pausing in between; and says
//! when the log moved past what it had seen, and whether this store appended any of it (other
//! tabs are then told).

use std::cell::Cell;

use super::subscribers::{Sink, Subscribers};
use crate::store::{EventStore, Origin, StoreError};

/// Events read per round: a catch-up subscription over a long log is handed over in pieces,
/// each small enough for a page to hand to its JS subscribers in one short task (about 20 ms
/// in Chromium, where turning events into JS objects costs about 10 µs each).
pub const ROUND: usize = 2_000;

/// The log moved past what the pump had seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Moved {
    /// The last position now seen.
    pub head: u64,
    /// Whether any of the new events were appended through this store (this tab).
    pub ours: bool,
}

/// The pump of one store's news.
#[derive(Debug)]
pub struct NewsPump {
    /// The head the pump last saw: events after it are news to the projector and other tabs.
    seen: Cell<u64>,
}

impl NewsPump {
    /// A pump over a log that is at `head` now: what comes after it is news.
    pub fn new(head: u64) -> Self {
        NewsPump {
            seen: Cell::new(head),
        }
    }

    /// The head the pump last saw.
    pub fn seen(&self) -> u64 {
        self.seen.get()
    }

    /// Hands every subscriber the events after its watermark, round after round (at most
    /// [`ROUND`] events each) until all are at the head, awaiting `between` after each round
    /// that left more to hand out (a page gives its thread back there); calls `moved` once per
    /// round that read past what the pump had seen (before handing that round out).
    pub async fn run<S: EventStore, K: Sink + Clone>(
        &self,
        store: &S,
        subscribers: &Subscribers<K>,
        mut moved: impl FnMut(Moved),
        between: impl AsyncFn(),
    ) -> Result<(), StoreError> {
        while self.round(store, subscribers, &mut moved).await? {
            between().await;
        }
        Ok(())
    }

    /// One round: true when it stopped short of the head it read (there is more). Events that
    /// arrive after it are another run's: whatever appends them starts one.
    async fn round<S: EventStore, K: Sink + Clone>(
        &self,
        store: &S,
        subscribers: &Subscribers<K>,
        mut moved: impl FnMut(Moved),
    ) -> Result<bool, StoreError> {
        let head = store.head_position().await?;
        let seen = self.seen.get();
        let lowest = subscribers.lowest().unwrap_or(head).min(seen);
        if lowest >= head {
            return Ok(false);
        }
        let news = store.read_news(lowest, ROUND).await?;
        let Some(last) = news.last().map(|n| n.event.position) else {
            return Ok(false);
        };
        if last > seen {
            self.seen.set(last);
            let ours = news
                .iter()
                .any(|n| n.event.position > seen && n.origin == Origin::Local);
            moved(Moved { head: last, ours });
        }
        subscribers.hand_out(&news);
        Ok(last < head)
    }
}
