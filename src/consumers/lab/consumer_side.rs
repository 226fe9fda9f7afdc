//! The consumers' end of a run: deliveries arriving at a node (or lost with it), handed out
//! one by one or together, nodes starting and answering, and a crash taking a node down until
//! it restarts.

use std::cmp::Reverse;

use super::{Awaiting, Happening, Lab, Payload, Scheduled, Store, Time, group_of};
use crate::consumers::{ArrowKind, Fate, Handled, Outcome, Reply};

impl Lab {
    /// The deliveries that can be handed to nodes now, together (at most `limit`): those at the
    /// front of the queue that arrive before anything they cause could reach anyone (the link's
    /// latency after the first), and none after simulated time `until` (a run stopped there is
    /// the same however it was batched), so that answering them together runs exactly as
    /// answering them one by one. Each must be answered with [`Lab::handled`], in order. Empty
    /// when the next thing is not a delivery (call [`Lab::next_happening`]).
    pub fn deliveries(&mut self, limit: usize, until: f64) -> Vec<Happening> {
        let mut batch = Vec::new();
        if !self.awaiting.is_empty() {
            return batch;
        }
        let mut horizon = f64::INFINITY;
        while batch.len() < limit {
            let Some(Reverse((Time(at), _, seq))) = self.queue.peek().copied() else {
                break;
            };
            let Some((_, Scheduled::Down(arrow))) = self.scheduled.get(&seq).cloned() else {
                break;
            };
            if at > until
                || at >= horizon
                || (horizon.is_finite() && self.settings.link.latency_ms == 0.0)
            {
                break;
            }
            horizon = horizon.min(at + self.settings.link.latency_ms);
            self.queue.pop();
            self.scheduled.remove(&seq);
            self.now = self.now.max(at);
            let happening = self.arrive_down(arrow);
            if matches!(happening, Happening::Deliver { .. }) {
                batch.push(happening);
            }
        }
        batch
    }

    /// A node started: it is running, connected, and what it says goes to the store.
    pub fn started(&mut self, consumer: usize, replies: Vec<Reply>) {
        let Some(lane) = self.lanes.get_mut(consumer) else {
            return;
        };
        lane.running = true;
        lane.busy_until = self.now;
        lane.heard_back = replies.is_empty();
        lane.said_at_start = replies.clone();
        if let Store::Groups(groups) = &mut self.store {
            let (group, member) = group_of(&self.settings, consumer);
            groups[group].connect(member);
        }
        for reply in replies {
            self.send_up(consumer, reply, self.now);
        }
        if !self.lanes[consumer].heard_back {
            self.schedule(
                self.now + self.settings.group.message_timeout_ms,
                Scheduled::Resubscribe(consumer),
            );
        }
        // Consumers starting at the same moment join before anything is handed out, so that
        // a pinned group spreads the aggregates over all of them from the start.
        let another_starts_now = self
            .queue
            .peek()
            .is_some_and(|Reverse((Time(at), _, seq))| {
                *at <= self.now && matches!(self.scheduled.get(seq), Some((_, Scheduled::Start(_))))
            });
        if !another_starts_now {
            self.pump();
        }
    }

    /// What a node did with a delivery handed out (`None`: the node was gone, crashed earlier
    /// in the batch). Answers must come in the order the deliveries were handed out.
    pub fn handled(&mut self, consumer: usize, arrow: u64, handled: Option<Handled>) {
        let awaiting = match self.awaiting.front() {
            Some(a) if a.consumer == consumer && a.arrow == arrow => a.clone(),
            _ => return,
        };
        self.awaiting.pop_front();
        // What the node did takes effect when the delivery arrived, as if answered at once.
        let later = self.now;
        self.now = awaiting.arrived;
        self.take_answer(awaiting, handled);
        self.now = self.now.max(later);
    }

    pub(super) fn take_answer(&mut self, awaiting: Awaiting, handled: Option<Handled>) {
        let Awaiting {
            consumer,
            arrow,
            done_at,
            ..
        } = awaiting;
        let Some(handled) = handled else {
            self.set_fate(arrow, Fate::ConsumerDown, None);
            self.lanes[consumer].counts.lost += 1;
            self.finish_arrow(arrow);
            return;
        };
        let position = self.arrow(arrow).map_or(0, |a| a.position);
        let lane = &mut self.lanes[consumer];
        match &handled.outcome {
            Outcome::Applied => {
                lane.counts.applied += 1;
                lane.wrote(position);
            }
            Outcome::Absorbed => lane.counts.absorbed += 1,
            Outcome::Ignored { .. } => lane.counts.ignored += 1,
            Outcome::Failed { .. } => lane.counts.failed += 1,
            Outcome::Crashed { written, .. } => {
                lane.counts.crashes += 1;
                if *written {
                    lane.wrote(position);
                }
            }
        }
        let crashed = handled.crashed();
        self.set_fate(arrow, Fate::Arrived, Some(handled.outcome.clone()));
        self.finish_arrow(arrow);
        for reply in handled.replies {
            self.send_up(consumer, reply, done_at);
        }
        if crashed {
            self.crash(consumer);
        } else {
            self.pump();
        }
    }

    pub(super) fn crash(&mut self, consumer: usize) {
        self.stop(consumer);
        self.pump();
    }

    /// Takes a node down until it restarts: its group sends what it held to whoever has room.
    pub(super) fn stop(&mut self, consumer: usize) {
        let lane = &mut self.lanes[consumer];
        lane.running = false;
        if let Store::Groups(groups) = &mut self.store {
            let (group, member) = group_of(&self.settings, consumer);
            groups[group].disconnect(member);
        }
        let back = self.now + self.settings.restart_ms;
        self.schedule(back, Scheduled::Start(consumer));
    }

    pub(super) fn arrive_down(&mut self, arrow: u64) -> Happening {
        let Some((consumer, kind)) = self.arrow(arrow).map(|a| (a.consumer, a.kind)) else {
            return Happening::Internal;
        };
        if kind == ArrowKind::Deliver {
            self.lanes[consumer].on_the_way = self.lanes[consumer].on_the_way.saturating_sub(1);
        }
        let lane = &self.lanes[consumer];
        let fate = if lane.cut {
            Some(Fate::Partitioned)
        } else if !lane.running {
            Some(Fate::ConsumerDown)
        } else {
            None
        };
        if let Some(fate) = fate {
            self.lanes[consumer].counts.lost += 1;
            self.payloads.remove(&arrow);
            self.set_fate(arrow, fate, None);
            self.finish_arrow(arrow);
            return Happening::Internal;
        }
        let delivery = match self.payloads.remove(&arrow) {
            Some(Payload::Delivery(delivery)) => delivery,
            Some(Payload::Subscribed(_)) => {
                self.lanes[consumer].heard_back = true;
                self.set_fate(arrow, Fate::Arrived, None);
                self.finish_arrow(arrow);
                return Happening::Internal;
            }
            _ => return Happening::Internal,
        };
        self.lanes[consumer].heard_back = true;
        let lane = &mut self.lanes[consumer];
        lane.counts.delivered += 1;
        if delivery.attempt > 0 {
            lane.counts.redelivered += 1;
        }
        // A node handles one delivery at a time: one that arrives while it is busy waits.
        let start = lane.busy_until.max(self.now);
        lane.busy_until = start + self.settings.handling_ms;
        self.set_fate(arrow, Fate::Arrived, None);
        self.awaiting.push_back(Awaiting {
            consumer,
            arrow,
            arrived: self.now,
            done_at: start + self.settings.handling_ms,
        });
        Happening::Deliver {
            consumer,
            arrow,
            delivery,
        }
    }
}
