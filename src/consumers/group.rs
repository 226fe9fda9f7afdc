//! The store's side of a persistent subscription, as KurrentDB has it: the group reads the log
//! from its checkpoint and hands each message to a consumer by its strategy, at most
//! `inFlightLimit` unacknowledged per consumer; a message not acknowledged within
//! `messageTimeout` (or nacked with retry, or held by a consumer that went away) is sent again,
//! and parked once it was retried more than `maxRetryCount` times. Parked messages wait in the
//! group's parked list until replayed, ahead of new ones. The checkpoint is the gapless prefix
//! of handled positions (acknowledged, parked or skipped), written after enough of them: a
//! restart of the group redelivers exactly what lies after it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::Serialize;

use super::{GroupSettings, NackAction, Strategy};
use crate::event::StoredEvent;

/// A message the group parked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Parked {
    /// Its number in the group's parked stream (from 0, in the order messages were parked;
    /// never reused, as a stream's event numbers are not): what a replay's `stopAt` counts.
    pub number: u64,
    /// Its log position.
    pub position: u64,
    /// Its aggregate.
    pub aggregate_id: String,
    /// Its type.
    pub event_type: String,
    /// How many times it was sent.
    pub attempts: u32,
    /// Why it was parked (the consumer's last error, or the timeout).
    pub reason: String,
}

/// A message the group hands to a consumer.
#[derive(Clone, Debug, PartialEq)]
pub struct Dispatch {
    /// The consumer (from 0).
    pub consumer: usize,
    /// The message's log position.
    pub position: u64,
    /// How many times it was sent before.
    pub attempt: u32,
    /// When the group retries it unless it is acknowledged.
    pub deadline: f64,
}

/// A consumer's nack, as the group takes it.
#[derive(Clone, Copy, Debug)]
pub struct Nack<'a> {
    /// The message's log position.
    pub position: u64,
    /// The attempt it answers.
    pub attempt: u32,
    /// Retry, park or skip.
    pub action: NackAction,
    /// Why the consumer failed.
    pub reason: &'a str,
}

/// What the group looks like, for the page.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupStatus {
    /// The gapless prefix of handled positions.
    pub checkpoint: u64,
    /// The checkpoint as last written (a restart resumes after it).
    pub written_checkpoint: u64,
    /// Messages sent and not yet acknowledged, per consumer.
    pub in_flight: Vec<usize>,
    /// Messages waiting to be sent again.
    pub retrying: usize,
    /// The parked list, oldest first.
    pub parked: Vec<Parked>,
    /// Messages sent again so far (timeouts, nacks, consumers gone).
    pub retries: u64,
}

#[derive(Clone, Debug)]
struct Message {
    attempts: u32,
    /// The consumer it is with, and when it times out there.
    with: Option<(usize, f64)>,
    last_error: Option<String>,
}

/// A persistent subscription group over a log.
#[derive(Clone, Debug)]
pub struct PersistentGroup {
    settings: GroupSettings,
    /// Connected consumers, in the order they connected.
    connected: Vec<usize>,
    consumers: usize,
    in_flight: Vec<BTreeSet<u64>>,
    round_robin: usize,
    /// The next log position to take in.
    next_read: u64,
    /// Outstanding messages (taken in, not yet handled), by position.
    outstanding: BTreeMap<u64, Message>,
    /// The messages with a consumer, by when they time out there (`deadline_key`, position):
    /// the next timeout without a look at every message.
    deadlines: BTreeSet<(u64, u64)>,
    /// Positions to send again, ahead of new ones.
    retry: VecDeque<u64>,
    /// Handled positions past the checkpoint.
    done: BTreeSet<u64>,
    checkpoint: u64,
    written: u64,
    handled_since_written: u32,
    written_at: f64,
    parked: Vec<Parked>,
    /// The parked stream's next event number.
    parked_numbers: u64,
    retries: u64,
}

/// The consumer a pinned aggregate belongs to: a hash of its id over the connected consumers.
fn pinned(aggregate_id: &str, connected: usize) -> usize {
    // FNV-1a: stable across builds and platforms, unlike the standard hasher.
    let hash = aggregate_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    (hash % connected.max(1) as u64) as usize
}

/// A deadline as a key that sorts as the time does (deadlines are sums of checked, non-negative
/// settings: never NaN, never negative).
fn deadline_key(deadline: f64) -> u64 {
    deadline.max(0.0).to_bits()
}

impl PersistentGroup {
    /// A group of `consumers` consumers over a log, starting after position `from` (its
    /// checkpoint).
    pub fn new(settings: GroupSettings, consumers: usize, from: u64) -> Self {
        PersistentGroup {
            settings,
            connected: Vec::new(),
            consumers,
            in_flight: vec![BTreeSet::new(); consumers],
            round_robin: 0,
            next_read: from + 1,
            outstanding: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            retry: VecDeque::new(),
            done: BTreeSet::new(),
            checkpoint: from,
            written: from,
            handled_since_written: 0,
            written_at: 0.0,
            parked: Vec::new(),
            parked_numbers: 0,
            retries: 0,
        }
    }

    /// A consumer connects.
    pub fn connect(&mut self, consumer: usize) {
        if consumer < self.consumers && !self.connected.contains(&consumer) {
            self.connected.push(consumer);
        }
    }

    /// A consumer went away (it crashed): what it held is sent again, to whoever has room.
    pub fn disconnect(&mut self, consumer: usize) {
        self.connected.retain(|c| *c != consumer);
        let held: Vec<u64> = self.in_flight[consumer.min(self.consumers - 1)]
            .iter()
            .copied()
            .collect();
        for position in held.into_iter().rev() {
            if self.take_back(position).is_some() {
                self.retries += 1;
                self.retry.push_front(position);
            }
        }
        self.in_flight[consumer.min(self.consumers - 1)].clear();
    }

    /// The messages to send now, from the log `log` (position `p` at index `p - 1`): retries
    /// and replayed parked messages first, then new ones, each to a consumer with room for it.
    pub fn dispatch(&mut self, now: f64, log: &[StoredEvent]) -> Vec<Dispatch> {
        let mut sent = Vec::new();
        if self.connected.is_empty() {
            return sent;
        }
        // Retries first, in their order; one that finds no room waits its turn.
        let mut waiting = VecDeque::new();
        while let Some(position) = self.retry.pop_front() {
            match self.send(position, now, log) {
                Some(dispatch) => sent.push(dispatch),
                None => waiting.push_back(position),
            }
        }
        self.retry = waiting;
        // Then the log, as far as there is room: a message that finds none stops the reading
        // (it is taken in again from there next time).
        while let Some(event) = log.get(self.next_read as usize - 1) {
            if self.done.contains(&event.position) || self.outstanding.contains_key(&event.position)
            {
                self.next_read += 1;
                continue;
            }
            self.outstanding.insert(
                event.position,
                Message {
                    attempts: 0,
                    with: None,
                    last_error: None,
                },
            );
            match self.send(event.position, now, log) {
                Some(dispatch) => {
                    sent.push(dispatch);
                    self.next_read += 1;
                }
                None => {
                    self.outstanding.remove(&event.position);
                    break;
                }
            }
        }
        sent
    }

    /// Sends one outstanding message to the consumer its strategy picks, if it has room.
    fn send(&mut self, position: u64, now: f64, log: &[StoredEvent]) -> Option<Dispatch> {
        let event = log.get(position as usize - 1)?;
        let consumer = self.pick(&event.aggregate_id)?;
        let deadline = now + self.settings.message_timeout_ms;
        let message = self.outstanding.get_mut(&position)?;
        let attempt = message.attempts;
        message.attempts += 1;
        message.with = Some((consumer, deadline));
        self.in_flight[consumer].insert(position);
        self.deadlines.insert((deadline_key(deadline), position));
        Some(Dispatch {
            consumer,
            position,
            attempt,
            deadline,
        })
    }

    /// The consumer that takes a message of this aggregate now, if it has room.
    fn pick(&mut self, aggregate_id: &str) -> Option<usize> {
        let limit = self.settings.in_flight_limit as usize;
        let has_room = |c: usize, in_flight: &[BTreeSet<u64>]| in_flight[c].len() < limit;
        match self.settings.strategy {
            Strategy::Pinned => {
                let consumer = self.connected[pinned(aggregate_id, self.connected.len())];
                has_room(consumer, &self.in_flight).then_some(consumer)
            }
            Strategy::DispatchToSingle => self
                .connected
                .iter()
                .copied()
                .find(|c| has_room(*c, &self.in_flight)),
            Strategy::RoundRobin => {
                let count = self.connected.len();
                (0..count)
                    .map(|offset| self.connected[(self.round_robin + offset) % count])
                    .find(|c| has_room(*c, &self.in_flight))
                    .inspect(|c| {
                        let index = self.connected.iter().position(|x| x == c).unwrap_or(0);
                        self.round_robin = (index + 1) % count;
                    })
            }
        }
    }

    /// A consumer acknowledged a message: handled. An ack for a message no longer
    /// outstanding (acknowledged by another, or parked) changes nothing.
    pub fn ack(&mut self, position: u64, now: f64) {
        if self.outstanding.contains_key(&position) {
            self.finish(position, now);
        }
    }

    /// A consumer nacked a message: retry (counted; parked past `maxRetryCount`), park or skip.
    /// A nack of an earlier attempt than the one now out (repeated or late on the link) changes
    /// nothing: that attempt was already dealt with.
    pub fn nack(&mut self, nack: Nack<'_>, now: f64, log: &[StoredEvent]) {
        let Nack {
            position,
            attempt,
            action,
            reason,
        } = nack;
        let Some(message) = self.outstanding.get_mut(&position) else {
            return;
        };
        if message.with.is_none() || message.attempts != attempt + 1 {
            return;
        }
        message.last_error = Some(reason.to_string());
        self.take_back(position);
        match action {
            NackAction::Skip => self.finish(position, now),
            NackAction::Park => self.park(position, reason.to_string(), now, log),
            NackAction::Retry => self.retry_or_park(position, now, log),
        }
    }

    /// Sends again the messages whose time ran out (or parks them past `maxRetryCount`); returns
    /// the earliest deadline still ahead, if any.
    pub fn time_out(&mut self, now: f64, log: &[StoredEvent]) -> Option<f64> {
        let due = deadline_key(now);
        let expired: Vec<u64> = self
            .deadlines
            .iter()
            .take_while(|(at, _)| *at <= due)
            .map(|(_, position)| *position)
            .collect();
        for position in expired {
            self.take_back(position);
            if let Some(message) = self.outstanding.get_mut(&position)
                && message.last_error.is_none()
            {
                message.last_error = Some(format!(
                    "not acknowledged within {} ms",
                    self.settings.message_timeout_ms
                ));
            }
            self.retry_or_park(position, now, log);
        }
        self.next_deadline()
    }

    /// The earliest time a message in flight times out.
    pub fn next_deadline(&self) -> Option<f64> {
        self.deadlines.first().map(|(at, _)| f64::from_bits(*at))
    }

    /// Takes a message back from the consumer it is with (handled, nacked, timed out, or the
    /// consumer gone); returns that consumer.
    fn take_back(&mut self, position: u64) -> Option<usize> {
        let (consumer, deadline) = self.outstanding.get_mut(&position)?.with.take()?;
        self.in_flight[consumer].remove(&position);
        self.deadlines.remove(&(deadline_key(deadline), position));
        Some(consumer)
    }

    fn retry_or_park(&mut self, position: u64, now: f64, log: &[StoredEvent]) {
        let Some(message) = self.outstanding.get(&position) else {
            return;
        };
        // `attempts` counts every send; the first is not a retry.
        if message.attempts > self.settings.max_retry_count {
            let reason = message
                .last_error
                .clone()
                .unwrap_or_else(|| "retried too often".into());
            let reason = format!(
                "{reason} (sent {} times; maxRetryCount is {})",
                message.attempts, self.settings.max_retry_count
            );
            self.park(position, reason, now, log);
        } else {
            self.retries += 1;
            self.retry.push_back(position);
        }
    }

    fn park(&mut self, position: u64, reason: String, now: f64, log: &[StoredEvent]) {
        let attempts = self.outstanding.get(&position).map_or(0, |m| m.attempts);
        if let Some(event) = log.get(position as usize - 1) {
            self.parked.push(Parked {
                number: self.parked_numbers,
                position,
                aggregate_id: event.aggregate_id.to_string(),
                event_type: event.event_type.to_string(),
                attempts,
                reason,
            });
            self.parked_numbers += 1;
        }
        // A parked message counts as handled for the checkpoint: it waits in the parked list.
        self.finish(position, now);
    }

    fn finish(&mut self, position: u64, now: f64) {
        self.take_back(position);
        self.outstanding.remove(&position);
        self.retry.retain(|p| *p != position);
        self.done.insert(position);
        while self.done.remove(&(self.checkpoint + 1)) {
            self.checkpoint += 1;
        }
        self.handled_since_written += 1;
        let due = self.handled_since_written >= self.settings.max_checkpoint_count
            || (self.handled_since_written >= self.settings.min_checkpoint_count
                && now - self.written_at >= self.settings.checkpoint_after_ms);
        if due && self.checkpoint > self.written {
            self.written = self.checkpoint;
            self.written_at = now;
            self.handled_since_written = 0;
        }
    }

    /// Sends the parked messages again, ahead of new ones, each with a fresh count of retries:
    /// all of them, or with `stop_at` those numbered below it in the parked stream (KurrentDB's
    /// `stopAt`: it reads the parked stream from its start up to that event number). They leave
    /// the parked list (the stream is truncated past them) and come back to it if they fail again.
    pub fn replay_parked(&mut self, stop_at: Option<u64>) -> usize {
        let (replayed, kept): (Vec<Parked>, Vec<Parked>) = std::mem::take(&mut self.parked)
            .into_iter()
            .partition(|p| stop_at.is_none_or(|stop| p.number < stop));
        self.parked = kept;
        for parked in replayed.iter().rev() {
            self.outstanding.insert(
                parked.position,
                Message {
                    attempts: 0,
                    with: None,
                    last_error: None,
                },
            );
            self.retry.push_front(parked.position);
        }
        replayed.len()
    }

    /// The group restarts (a server restart, a leader change): it forgets what it had in
    /// memory and resumes after its written checkpoint, so what was handled after it is sent
    /// again, as expected of at-least-once delivery. The parked list survives (it is a stream).
    pub fn restart(&mut self) {
        let restarted = PersistentGroup::new(self.settings.clone(), self.consumers, self.written);
        let parked = std::mem::take(&mut self.parked);
        let retries = self.retries;
        let connected = std::mem::take(&mut self.connected);
        let numbers = self.parked_numbers;
        *self = restarted;
        self.parked = parked;
        self.parked_numbers = numbers;
        self.retries = retries;
        self.connected = connected;
    }

    /// The status, for the page.
    pub fn status(&self) -> GroupStatus {
        GroupStatus {
            checkpoint: self.checkpoint,
            written_checkpoint: self.written,
            in_flight: self.in_flight.iter().map(BTreeSet::len).collect(),
            retrying: self.retry.len(),
            parked: self.parked.clone(),
            retries: self.retries,
        }
    }

    /// The gapless prefix of handled positions.
    pub fn checkpoint(&self) -> u64 {
        self.checkpoint
    }

    /// Messages in flight with a consumer.
    pub fn in_flight(&self, consumer: usize) -> usize {
        self.in_flight.get(consumer).map_or(0, BTreeSet::len)
    }
}
