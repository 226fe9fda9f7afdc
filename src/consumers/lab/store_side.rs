//! The store's side of a run: the persistent groups or catch-up feeds, what reaches them from
//! the consumers, and what they send when they act (after a message, a timeout, an action).

use super::{Lab, Payload, Scheduled, Store, group_of};
use crate::consumers::{ArrowKind, Fate, Nack, Reply};

impl Lab {
    pub(super) fn arrive_up(&mut self, arrow: u64) {
        let Some(consumer) = self.arrow(arrow).map(|a| a.consumer) else {
            return;
        };
        let payload = self.payloads.remove(&arrow);
        if self.lanes[consumer].cut {
            self.lanes[consumer].counts.lost += 1;
            self.set_fate(arrow, Fate::Partitioned, None);
            self.finish_arrow(arrow);
            return;
        }
        self.set_fate(arrow, Fate::Arrived, None);
        self.finish_arrow(arrow);
        let Some(Payload::Reply(reply)) = payload else {
            return;
        };
        let now = self.now;
        match &mut self.store {
            Store::Groups(groups) => {
                let (group, _) = group_of(&self.settings, consumer);
                let log = &self.log[..self.known as usize];
                match reply {
                    Reply::Ack { position, .. } => groups[group].ack(position, now),
                    Reply::Nack {
                        position,
                        attempt,
                        action,
                        reason,
                        ..
                    } => groups[group].nack(
                        Nack {
                            position,
                            attempt,
                            action,
                            reason: &reason,
                        },
                        now,
                        log,
                    ),
                    Reply::Subscribe { .. } | Reply::Checkpoint { .. } => {}
                }
            }
            Store::Feeds(feeds) => match reply {
                Reply::Subscribe { from } => {
                    feeds[consumer].subscribe(from, now);
                    let sent = self.lanes[consumer].down.send(now, &self.settings.link);
                    self.put_on_link(
                        consumer,
                        ArrowKind::Subscribed,
                        sent,
                        Payload::Subscribed(from),
                        now,
                    );
                }
                Reply::Checkpoint { position } => feeds[consumer].checkpoint(position, now),
                Reply::Ack { .. } | Reply::Nack { .. } => {}
            },
        }
        self.pump();
    }

    /// Lets the store's side act: timeouts, then whatever can be sent now; and sets the next
    /// wake-up for the earliest timeout.
    pub(super) fn pump(&mut self) {
        let now = self.now;
        let known = self.known;
        let mut sends: Vec<(usize, u64, u32)> = Vec::new();
        let mut deadline: Option<f64> = None;
        let earliest = |d: Option<f64>, e: Option<f64>| match (d, e) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match &mut self.store {
            Store::Groups(groups) => {
                let log = &self.log[..known as usize];
                for (index, group) in groups.iter_mut().enumerate() {
                    group.time_out(now, log);
                    for dispatch in group.dispatch(now, log) {
                        let consumer = if self.settings.competing() {
                            dispatch.consumer
                        } else {
                            index
                        };
                        sends.push((consumer, dispatch.position, dispatch.attempt));
                    }
                    deadline = earliest(deadline, group.next_deadline());
                }
            }
            Store::Feeds(feeds) => {
                for (consumer, feed) in feeds.iter_mut().enumerate() {
                    for (position, again) in feed.dispatch(now, known) {
                        sends.push((consumer, position, u32::from(again)));
                    }
                    deadline = earliest(deadline, feed.next_deadline(known));
                }
            }
        }
        for (consumer, position, attempt) in sends {
            self.send_down(consumer, position, attempt);
        }
        if let Some(at) = deadline
            && self.wake_at.is_none_or(|w| at < w)
        {
            self.wake_at = Some(at);
            self.schedule(at.max(now), Scheduled::Wake);
        }
    }
}
