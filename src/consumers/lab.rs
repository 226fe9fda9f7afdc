//! The lab: a log, a subscription's store side, and consumer nodes over their links, run on
//! simulated time from a seed. It never calls a node: it says what happens next (a delivery to
//! hand to a node, a node to start or to arm for a crash) and takes back what the node did, so
//! the same run goes the same way whether the nodes live in this thread, in tests, or in
//! workers. Every message is an arrow in the trace; every action (a cut link, a crash, a replay
//! of parked messages, the log growing) is kept in the run's script with its time, so a run is
//! a function of its log, its settings, its seed and its script.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::{
    Arrow, ArrowKind, CatchUpFeed, CrashPoint, Delivery, Fate, GroupStatus, Handled, LabError,
    LabSettings, Link, Nack, Outcome, Parked, PersistentGroup, Reply, Sent, SubscriptionKind,
};
use crate::event::StoredEvent;
use crate::random::Random;

/// Most arrows the lab keeps (the newest); older ones are only counted in the digest.
const KEPT_ARROWS: usize = 20_000;

/// Something done during a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum Action {
    /// Cut a consumer's link (both ways), or mend it.
    Partition {
        /// The consumer (from 0).
        consumer: usize,
        /// Cut (true) or mended (false).
        cut: bool,
    },
    /// Make a consumer crash at a point of the next delivery it handles.
    Crash {
        /// The consumer.
        consumer: usize,
        /// Where.
        point: CrashPoint,
    },
    /// Send the parked messages again (those at or before `stopAt`), ahead of new ones.
    ReplayParked {
        /// The last position to replay (`None`: all).
        stop_at: Option<u64>,
    },
    /// Restart the store's side of the subscriptions (a leader change): persistent groups
    /// resume after their written checkpoints.
    RestartGroup,
    /// The log grew to this head (events appended during the run).
    LogGrew {
        /// The new head.
        head: u64,
    },
}

/// An action at a time of the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scripted {
    /// When, in simulated milliseconds.
    pub at_ms: f64,
    /// What.
    pub action: Action,
}

/// What happens next in a run, for the caller to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Happening {
    /// A delivery reaches a running consumer: hand it to the node and give back what it did
    /// ([`Lab::handled`]).
    Deliver {
        /// The consumer.
        consumer: usize,
        /// Its arrow in the trace.
        arrow: u64,
        /// The delivery.
        delivery: Delivery,
    },
    /// A consumer starts, or comes back after a crash: start its node (from its durable state)
    /// and give back what it says ([`Lab::started`]).
    Start {
        /// The consumer.
        consumer: usize,
    },
    /// A consumer is to crash at a point of its next delivery: arm its node.
    Arm {
        /// The consumer.
        consumer: usize,
        /// Where.
        point: CrashPoint,
    },
    /// Something the lab did by itself: a message arrived at the store, was lost, timed out,
    /// or an action took effect.
    Internal,
}

/// How a consumer is doing, for the page.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerStatus {
    /// The consumer (from 0).
    pub consumer: usize,
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

/// The store's side of the run.
#[derive(Clone, Debug)]
enum Store {
    /// One persistent group per consumer (independent) or one for all (competing).
    Groups(Vec<PersistentGroup>),
    /// One catch-up feed per consumer.
    Feeds(Vec<CatchUpFeed>),
}

#[derive(Clone, Debug, PartialEq)]
enum Scheduled {
    Start(usize),
    /// A catch-up consumer that has not heard back asks again.
    Resubscribe(usize),
    Down(u64),
    Up(u64),
    Wake,
    Action(usize),
}

#[derive(Clone, Debug, Default)]
struct Counts {
    delivered: u64,
    applied: u64,
    absorbed: u64,
    ignored: u64,
    failed: u64,
    redelivered: u64,
    crashes: u64,
    lost: u64,
    duplicated: u64,
}

#[derive(Clone, Debug)]
struct Lane {
    down: Link,
    up: Link,
    cut: bool,
    running: bool,
    busy_until: f64,
    counts: Counts,
    /// Deliveries on their way to it.
    on_the_way: usize,
    /// What its node said when it last started, and whether the store has answered it yet (a
    /// catch-up node asks again until it hears back).
    said_at_start: Vec<Reply>,
    heard_back: bool,
    /// Times each position's effect was written by this consumer.
    written: BTreeMap<u64, u32>,
}

/// A delivery handed to a node, waiting for its answer.
#[derive(Clone, Debug)]
struct Awaiting {
    consumer: usize,
    arrow: u64,
    /// When it arrived: what the node did takes effect then, as if answered at once.
    arrived: f64,
    /// When the node is done with it: its replies leave then.
    done_at: f64,
}

/// A message on its way, with what it carries.
#[derive(Clone, Debug)]
enum Payload {
    Delivery(Delivery),
    Reply(Reply),
    /// The store's answer to a catch-up node's subscription, from this position.
    Subscribed(u64),
}

/// A deterministic run of consumers over faulty links.
#[derive(Clone, Debug)]
pub struct Lab {
    settings: LabSettings,
    now: f64,
    log: Vec<StoredEvent>,
    known: u64,
    store: Store,
    lanes: Vec<Lane>,
    queue: BinaryHeap<Reverse<(Time, u64)>>,
    scheduled: HashMap<u64, (f64, Scheduled)>,
    seq: u64,
    arrows: VecDeque<Arrow>,
    arrow_count: u64,
    payloads: HashMap<u64, Payload>,
    digest: u64,
    script: Vec<Scripted>,
    /// Deliveries handed out and not yet answered, in order.
    awaiting: VecDeque<Awaiting>,
    wake_at: Option<f64>,
}

/// A time in the queue, ordered (times are never NaN: they are sums of checked settings).
#[derive(Clone, Copy, Debug)]
struct Time(f64);

impl PartialEq for Time {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Time {}

impl PartialOrd for Time {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Time {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// FNV-1a over bytes, folded into a running digest.
fn fold_digest(digest: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(digest, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl Lab {
    /// A run over `log` (the store's events, position `p` at index `p - 1`), of which the
    /// store knows the first `head` at the start; `script` holds what is done during the run
    /// (the actions of an earlier run, to reproduce it).
    pub fn new(
        settings: LabSettings,
        log: Vec<StoredEvent>,
        head: u64,
        mut script: Vec<Scripted>,
    ) -> Result<Self, LabError> {
        settings.check()?;
        let consumers = settings.consumers as usize;
        for scripted in &script {
            check_action(&settings, &scripted.action)?;
        }
        script.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
        let store = match settings.kind {
            SubscriptionKind::CatchUp => Store::Feeds(
                (0..consumers)
                    .map(|_| {
                        CatchUpFeed::new(
                            settings.group.in_flight_limit,
                            settings.group.message_timeout_ms,
                        )
                    })
                    .collect(),
            ),
            SubscriptionKind::Persistent => {
                let groups = if settings.competing() { 1 } else { consumers };
                let members = if settings.competing() { consumers } else { 1 };
                Store::Groups(
                    (0..groups)
                        .map(|_| PersistentGroup::new(settings.group.clone(), members, 0))
                        .collect(),
                )
            }
        };
        // Each link has its own stream of the seed, so that a fault on one does not move
        // another's.
        let mut seeds = Random::new(settings.seed);
        let lanes = (0..consumers)
            .map(|_| Lane {
                down: Link::new(seeds.next_u64()),
                up: Link::new(seeds.next_u64()),
                cut: false,
                running: false,
                busy_until: 0.0,
                counts: Counts::default(),
                on_the_way: 0,
                said_at_start: Vec::new(),
                heard_back: false,
                written: BTreeMap::new(),
            })
            .collect();
        let known = head.min(log.len() as u64);
        let mut lab = Lab {
            settings,
            now: 0.0,
            log,
            known,
            store,
            lanes,
            queue: BinaryHeap::new(),
            scheduled: HashMap::new(),
            seq: 0,
            arrows: VecDeque::new(),
            arrow_count: 0,
            payloads: HashMap::new(),
            digest: 0xcbf2_9ce4_8422_2325,
            script: Vec::new(),
            awaiting: VecDeque::new(),
            wake_at: None,
        };
        for consumer in 0..consumers {
            lab.schedule(0.0, Scheduled::Start(consumer));
        }
        for scripted in script {
            lab.plan(scripted);
        }
        Ok(lab)
    }

    /// The settings of the run.
    pub fn settings(&self) -> &LabSettings {
        &self.settings
    }

    /// The run's script so far: every action with its time.
    pub fn script(&self) -> &[Scripted] {
        &self.script
    }

    /// Simulated milliseconds since the start.
    pub fn now(&self) -> f64 {
        self.now
    }

    /// When the next thing happens, if anything is to.
    pub fn next_at(&self) -> Option<f64> {
        self.queue.peek().map(|Reverse((Time(at), _))| *at)
    }

    /// Does an action now (it is added to the script).
    pub fn act(&mut self, action: Action) -> Result<(), LabError> {
        check_action(&self.settings, &action)?;
        self.plan(Scripted {
            at_ms: self.now,
            action,
        });
        Ok(())
    }

    /// The store's log grew (events appended during the run): the lab's store knows the new
    /// events from now on.
    pub fn log_grew(&mut self, log: Vec<StoredEvent>) {
        let head = log.len() as u64;
        self.log = log;
        if head > self.known {
            self.plan(Scripted {
                at_ms: self.now,
                action: Action::LogGrew { head },
            });
        }
    }

    fn plan(&mut self, scripted: Scripted) {
        let index = self.script.len();
        let at = scripted.at_ms.max(self.now);
        self.script.push(scripted);
        self.schedule(at, Scheduled::Action(index));
    }

    fn schedule(&mut self, at: f64, what: Scheduled) {
        self.seq += 1;
        self.queue.push(Reverse((Time(at), self.seq)));
        self.scheduled.insert(self.seq, (at, what));
    }

    /// What happens next, with the clock moved to it; `None` when nothing is scheduled (the
    /// run waits for an action or an append), or while deliveries handed out are unanswered.
    pub fn next_happening(&mut self) -> Option<Happening> {
        if !self.awaiting.is_empty() {
            return None;
        }
        let Reverse((Time(at), seq)) = self.queue.pop()?;
        let (_, what) = self.scheduled.remove(&seq)?;
        self.now = self.now.max(at);
        Some(self.happen(what))
    }

    /// The deliveries that can be handed to nodes now, together (at most `limit`): those at the
    /// front of the queue that arrive before anything they cause could reach anyone (the link's
    /// latency after the first), so that answering them together runs exactly as answering them
    /// one by one. Each must be answered with [`Lab::handled`], in order. Empty when the next
    /// thing is not a delivery (call [`Lab::next_happening`]).
    pub fn deliveries(&mut self, limit: usize) -> Vec<Happening> {
        let mut batch = Vec::new();
        if !self.awaiting.is_empty() {
            return batch;
        }
        let mut horizon = f64::INFINITY;
        while batch.len() < limit {
            let Some(Reverse((Time(at), seq))) = self.queue.peek().copied() else {
                break;
            };
            let Some((_, Scheduled::Down(arrow))) = self.scheduled.get(&seq).cloned() else {
                break;
            };
            if at >= horizon || (horizon.is_finite() && self.settings.link.latency_ms == 0.0) {
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

    fn happen(&mut self, what: Scheduled) -> Happening {
        match what {
            Scheduled::Start(consumer) => Happening::Start { consumer },
            Scheduled::Resubscribe(consumer) => {
                let lane = &self.lanes[consumer];
                if lane.running && !lane.heard_back {
                    for reply in lane.said_at_start.clone() {
                        self.send_up(consumer, reply, self.now);
                    }
                    self.schedule(
                        self.now + self.settings.group.message_timeout_ms,
                        Scheduled::Resubscribe(consumer),
                    );
                }
                Happening::Internal
            }
            Scheduled::Down(arrow) => self.arrive_down(arrow),
            Scheduled::Up(arrow) => {
                self.arrive_up(arrow);
                Happening::Internal
            }
            Scheduled::Wake => {
                self.wake_at = None;
                self.pump();
                Happening::Internal
            }
            Scheduled::Action(index) => self.take_action(index),
        }
    }

    fn take_action(&mut self, index: usize) -> Happening {
        let Some(scripted) = self.script.get(index).cloned() else {
            return Happening::Internal;
        };
        match scripted.action {
            Action::Partition { consumer, cut } => {
                if let Some(lane) = self.lanes.get_mut(consumer) {
                    lane.cut = cut;
                }
            }
            Action::Crash { consumer, point } => return Happening::Arm { consumer, point },
            Action::ReplayParked { stop_at } => {
                if let Store::Groups(groups) = &mut self.store {
                    for group in groups {
                        group.replay_parked(stop_at);
                    }
                }
            }
            Action::RestartGroup => {
                if let Store::Groups(groups) = &mut self.store {
                    for group in groups {
                        group.restart();
                    }
                }
            }
            Action::LogGrew { head } => {
                self.known = self.known.max(head.min(self.log.len() as u64))
            }
        }
        self.pump();
        Happening::Internal
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
        let another_starts_now = self.queue.peek().is_some_and(|Reverse((Time(at), seq))| {
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

    fn take_answer(&mut self, awaiting: Awaiting, handled: Option<Handled>) {
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
                *lane.written.entry(position).or_default() += 1;
            }
            Outcome::Absorbed => lane.counts.absorbed += 1,
            Outcome::Ignored { .. } => lane.counts.ignored += 1,
            Outcome::Failed { .. } => lane.counts.failed += 1,
            Outcome::Crashed { written, .. } => {
                lane.counts.crashes += 1;
                if *written {
                    *lane.written.entry(position).or_default() += 1;
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

    fn crash(&mut self, consumer: usize) {
        let lane = &mut self.lanes[consumer];
        lane.running = false;
        if let Store::Groups(groups) = &mut self.store {
            let (group, member) = group_of(&self.settings, consumer);
            groups[group].disconnect(member);
        }
        let back = self.now + self.settings.restart_ms;
        self.schedule(back, Scheduled::Start(consumer));
        self.pump();
    }

    fn arrive_down(&mut self, arrow: u64) -> Happening {
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

    fn arrive_up(&mut self, arrow: u64) {
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
    fn pump(&mut self) {
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

    fn send_down(&mut self, consumer: usize, position: u64, attempt: u32) {
        let Some(event) = self.log.get(position as usize - 1).cloned() else {
            return;
        };
        let now = self.now;
        let sent = self.lanes[consumer].down.send(now, &self.settings.link);
        let delivery = Delivery { attempt, event };
        self.put_on_link(
            consumer,
            ArrowKind::Deliver,
            sent,
            Payload::Delivery(delivery),
            now,
        );
    }

    fn send_up(&mut self, consumer: usize, reply: Reply, at: f64) {
        let sent = self.lanes[consumer].up.send(at, &self.settings.link);
        let kind = match reply {
            Reply::Ack { .. } => ArrowKind::Ack,
            Reply::Nack { .. } => ArrowKind::Nack,
            Reply::Subscribe { .. } => ArrowKind::Subscribe,
            Reply::Checkpoint { .. } => ArrowKind::Checkpoint,
        };
        self.put_on_link(consumer, kind, sent, Payload::Reply(reply), at);
    }

    /// Records a message put on a link at `sent_at`, and schedules each copy's arrival.
    fn put_on_link(
        &mut self,
        consumer: usize,
        kind: ArrowKind,
        sent: Sent,
        payload: Payload,
        sent_at: f64,
    ) {
        let down = matches!(kind, ArrowKind::Deliver | ArrowKind::Subscribed);
        let (position, event_id, attempt) = match &payload {
            Payload::Subscribed(from) => (*from, None, 0),
            Payload::Delivery(d) => (d.event.position, Some(d.event.event_id), d.attempt),
            Payload::Reply(Reply::Ack { position, event_id }) => (*position, Some(*event_id), 0),
            Payload::Reply(Reply::Nack {
                position,
                event_id,
                attempt,
                ..
            }) => (*position, Some(*event_id), *attempt),
            Payload::Reply(Reply::Subscribe { from }) => (*from, None, 0),
            Payload::Reply(Reply::Checkpoint { position }) => (*position, None, 0),
        };
        let redelivery = kind == ArrowKind::Deliver && attempt > 0;
        if sent.arrivals.is_empty() {
            let id = self.new_arrow(
                consumer,
                kind,
                position,
                event_id,
                attempt,
                sent_at,
                sent.nominal,
                Fate::Lost,
                false,
                redelivery,
            );
            self.lanes[consumer].counts.lost += 1;
            self.finish_arrow(id);
            return;
        }
        for (copy, arrives_at) in sent.arrivals.iter().copied().enumerate() {
            let duplicate = copy > 0;
            if duplicate {
                self.lanes[consumer].counts.duplicated += 1;
            }
            if kind == ArrowKind::Deliver {
                self.lanes[consumer].on_the_way += 1;
            }
            let id = self.new_arrow(
                consumer,
                kind,
                position,
                event_id,
                attempt,
                sent_at,
                arrives_at,
                Fate::InFlight,
                duplicate,
                redelivery,
            );
            self.payloads.insert(id, payload.clone());
            self.schedule(
                arrives_at,
                if down {
                    Scheduled::Down(id)
                } else {
                    Scheduled::Up(id)
                },
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn new_arrow(
        &mut self,
        consumer: usize,
        kind: ArrowKind,
        position: u64,
        event_id: Option<crate::event::EventId>,
        attempt: u32,
        sent_at: f64,
        arrives_at: f64,
        fate: Fate,
        duplicate: bool,
        redelivery: bool,
    ) -> u64 {
        self.arrow_count += 1;
        let id = self.arrow_count;
        self.arrows.push_back(Arrow {
            id,
            consumer,
            kind,
            position,
            event_id,
            attempt,
            sent_at,
            arrives_at,
            fate,
            duplicate,
            redelivery,
            outcome: None,
        });
        while self.arrows.len() > KEPT_ARROWS {
            self.arrows.pop_front();
        }
        id
    }

    fn arrow(&self, id: u64) -> Option<&Arrow> {
        let first = self.arrows.front()?.id;
        self.arrows.get(id.checked_sub(first)? as usize)
    }

    fn arrow_mut(&mut self, id: u64) -> Option<&mut Arrow> {
        let first = self.arrows.front()?.id;
        self.arrows.get_mut(id.checked_sub(first)? as usize)
    }

    fn set_fate(&mut self, id: u64, fate: Fate, outcome: Option<Outcome>) {
        if let Some(arrow) = self.arrow_mut(id) {
            arrow.fate = fate;
            if outcome.is_some() {
                arrow.outcome = outcome;
            }
        }
    }

    /// Folds a finished arrow into the run's digest.
    fn finish_arrow(&mut self, id: u64) {
        let Some(arrow) = self.arrow(id) else { return };
        let text = serde_json::to_string(arrow).unwrap_or_default();
        self.digest = fold_digest(self.digest, text.as_bytes());
    }

    /// The arrows kept (the newest), those that overlap `from..to` in time.
    pub fn arrows_between(&self, from: f64, to: f64) -> Vec<Arrow> {
        self.arrows
            .iter()
            .filter(|a| a.sent_at <= to && a.arrives_at >= from)
            .cloned()
            .collect()
    }

    /// One arrow, if it is still kept.
    pub fn arrow_by_id(&self, id: u64) -> Option<Arrow> {
        self.arrow(id).cloned()
    }

    /// The log's events the lab's store knows.
    pub fn known_events(&self) -> &[StoredEvent] {
        &self.log[..self.known as usize]
    }

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

    fn consumer_status(&self, consumer: usize) -> ConsumerStatus {
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
    fn divergence(&self, consumer: usize, checkpoint: u64) -> Option<Divergence> {
        let written = &self.lanes[consumer].written;
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
        let times = |position: u64| written.get(&position).copied().unwrap_or(0);
        let found = if self.settings.competing() {
            written.iter().find(|(_, n)| **n > 1).map(|(p, n)| (*p, *n))
        } else {
            (1..=checkpoint)
                .filter(|p| !parked.contains(p))
                .map(|p| (p, times(p)))
                .find(|(_, n)| *n != 1)
        };
        found.map(|(position, applied)| Divergence {
            position,
            applied,
            says: match applied {
                0 => format!("position {position} never applied (lost)"),
                2 => format!("position {position} applied twice"),
                n => format!("position {position} applied {n} times"),
            },
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

/// The group a consumer belongs to, and its number in it.
fn group_of(settings: &LabSettings, consumer: usize) -> (usize, usize) {
    if settings.competing() {
        (0, consumer)
    } else {
        (consumer, 0)
    }
}

fn check_action(settings: &LabSettings, action: &Action) -> Result<(), LabError> {
    let consumers = settings.consumers as usize;
    let consumer = match action {
        Action::Partition { consumer, .. } | Action::Crash { consumer, .. } => Some(*consumer),
        _ => None,
    };
    if let Some(consumer) = consumer
        && consumer >= consumers
    {
        return Err(LabError::NoSuchConsumer {
            consumer,
            consumers,
        });
    }
    if matches!(action, Action::ReplayParked { .. })
        && settings.kind != SubscriptionKind::Persistent
    {
        return Err(LabError::NotPersistent {
            action: "replaying parked messages",
        });
    }
    Ok(())
}
