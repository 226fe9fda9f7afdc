//! How a run is doing, for the page: each consumer's progress and counts, and where its read
//! model parts from the log.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Lab, Store, group_of};
use crate::consumers::{GroupStatus, Parked, PersistentGroup, consumer_name};

/// How a consumer is doing, for the page.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerStatus {
    /// The consumer (from 0).
    pub consumer: usize,
    /// Its name on the page (A, B, …).
    pub name: String,
    /// Whether its node runs (not crashed, not restarting).
    pub running: bool,
    /// Whether its link is cut.
    pub cut: bool,
    /// How far its subscription has handled the log: its own checkpoint as the store last
    /// heard it (catch-up), or its group's (persistent).
    pub checkpoint: u64,
    /// Positions of the log after that checkpoint.
    pub behind: u64,
    /// Messages sent to it and not yet acknowledged.
    pub in_flight: usize,
    /// Deliveries that reached it.
    pub delivered: u64,
    /// Events whose effect it wrote.
    pub applied: u64,
    /// Duplicates its inbox absorbed.
    pub absorbed: u64,
    /// Deliveries it did not take (already had them, out of turn).
    pub ignored: u64,
    /// Deliveries its handler failed on.
    pub failed: u64,
    /// Deliveries of events sent before (retries, resends, replays).
    pub redelivered: u64,
    /// Times it crashed.
    pub crashes: u64,
    /// Messages to and from it the link lost (or a cut, or its being down).
    pub lost: u64,
    /// Copies the link made.
    pub duplicated: u64,
    /// Its subscription's group, for a persistent one of its own.
    pub group: Option<GroupStatus>,
    /// The first position it did not apply exactly once, where it should have, and how.
    pub diverged: Option<Divergence>,
}

/// Where a consumer's read model parts from the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Divergence {
    /// The position.
    pub position: u64,
    /// The aggregate of its event.
    pub aggregate_id: String,
    /// How many times its effect was written (0: lost; 2 or more: applied again).
    pub applied: u32,
    /// The same in words: "position 7 applied twice".
    pub says: String,
}

/// The whole run, for the page.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabStatus {
    /// Simulated milliseconds since the start.
    pub now: f64,
    /// The log's head as the lab's store knows it.
    pub head: u64,
    /// Each consumer.
    pub consumers: Vec<ConsumerStatus>,
    /// The one group of competing consumers, if they compete.
    pub group: Option<GroupStatus>,
    /// Whether nothing more will happen until something is done (an append, an action).
    pub settled: bool,
    /// Arrows so far.
    pub arrows: u64,
    /// A digest of every arrow so far: two runs with the same digest sent the same messages at
    /// the same times with the same fates.
    pub digest: String,
}

impl Lab {
    /// The status of the run, for the page.
    pub fn status(&self) -> LabStatus {
        let competing = self.settings.competing();
        let consumers = (0..self.lanes.len())
            .map(|consumer| self.consumer_status(consumer))
            .collect();
        let group = match (&self.store, competing) {
            (Store::Groups(groups), true) => groups.first().map(PersistentGroup::status),
            _ => None,
        };
        LabStatus {
            now: self.now,
            head: self.known,
            consumers,
            group,
            settled: self.queue.is_empty() && self.awaiting.is_empty(),
            arrows: self.arrow_count,
            digest: format!("{:016x}", self.digest),
        }
    }

    pub(super) fn consumer_status(&self, consumer: usize) -> ConsumerStatus {
        let lane = &self.lanes[consumer];
        let (checkpoint, in_flight, group) = match &self.store {
            Store::Groups(groups) => {
                let (index, member) = group_of(&self.settings, consumer);
                let group = &groups[index];
                let own = (!self.settings.competing()).then(|| group.status());
                (group.checkpoint(), group.in_flight(member), own)
            }
            Store::Feeds(feeds) => (feeds[consumer].heard(), lane.on_the_way, None),
        };
        ConsumerStatus {
            consumer,
            name: consumer_name(consumer),
            running: lane.running,
            cut: lane.cut,
            checkpoint,
            behind: self.known.saturating_sub(checkpoint),
            in_flight,
            delivered: lane.counts.delivered,
            applied: lane.counts.applied,
            absorbed: lane.counts.absorbed,
            ignored: lane.counts.ignored,
            failed: lane.counts.failed,
            redelivered: lane.counts.redelivered,
            crashes: lane.counts.crashes,
            lost: lane.counts.lost,
            duplicated: lane.counts.duplicated,
            group,
            diverged: self.divergence(consumer, checkpoint),
        }
    }

    /// The first position up to `checkpoint` that a consumer did not apply exactly once, where
    /// it should have: every position, for a consumer of its own subscription; the positions
    /// it handled, for a competing one (the others are its peers'). Parked positions are not
    /// divergences: they wait in the parked list.
    pub(super) fn divergence(&self, consumer: usize, checkpoint: u64) -> Option<Divergence> {
        let lane = &self.lanes[consumer];
        let parked: Vec<u64> = match &self.store {
            Store::Groups(groups) => {
                let (index, _) = group_of(&self.settings, consumer);
                groups[index]
                    .status()
                    .parked
                    .iter()
                    .map(|p| p.position)
                    .collect()
            }
            Store::Feeds(_) => Vec::new(),
        };
        let times = |position: u64| lane.written.get(&position).copied().unwrap_or(0);
        let first_double = |up_to: u64| {
            lane.doubles
                .iter()
                .copied()
                .take_while(|p| *p <= up_to)
                .find(|p| !parked.contains(p))
        };
        let found = if self.settings.competing() {
            first_double(u64::MAX)
        } else {
            // Positions never written: from where every one before was, to the checkpoint.
            let mut through = lane.written_through.get();
            let mut advancing = true;
            let mut never = None;
            for position in through + 1..=checkpoint {
                if parked.contains(&position) {
                    advancing = false;
                } else if times(position) == 0 {
                    never = Some(position);
                    break;
                } else if advancing {
                    through = position;
                }
            }
            lane.written_through.set(through);
            match (never, first_double(checkpoint)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }
        .map(|position| (position, times(position)));
        found.map(|(position, applied)| {
            let aggregate_id = position
                .checked_sub(1)
                .and_then(|index| self.log.get(index as usize))
                .map(|event| event.aggregate_id.to_string())
                .unwrap_or_default();
            Divergence {
                position,
                applied,
                says: match applied {
                    0 => format!("position {position} ({aggregate_id}) never applied (lost)"),
                    2 => format!("position {position} ({aggregate_id}) applied twice"),
                    n => format!("position {position} ({aggregate_id}) applied {n} times"),
                },
                aggregate_id,
            }
        })
    }

    /// Times each position's effect was written by a consumer, for checks.
    pub fn written_by(&self, consumer: usize) -> BTreeMap<u64, u32> {
        self.lanes
            .get(consumer)
            .map(|l| l.written.clone())
            .unwrap_or_default()
    }

    /// The parked messages of a consumer's group (every consumer's, when they compete).
    pub fn parked(&self, consumer: usize) -> Vec<Parked> {
        match &self.store {
            Store::Groups(groups) => {
                let (index, _) = group_of(&self.settings, consumer);
                groups[index].status().parked
            }
            Store::Feeds(_) => Vec::new(),
        }
    }
}
