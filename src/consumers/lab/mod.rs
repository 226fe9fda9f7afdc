//! The lab: a log, a subscription's store side, and consumer nodes over their links, run on
//! simulated time from a seed. It never calls a node: it says what happens next (a delivery to
//! hand to a node, a node to start or to arm for a crash) and takes back what the node did, so
//! the same run goes the same way whether the nodes live in this thread, in tests, or in
//! workers. Every message is an arrow in the trace (`trace`); every action is kept in the run's
//! script with its time (`script`); the store's side acts in `store_side`, the consumers' end
//! in `consumer_side`; `status` says how the run is doing.

mod consumer_side;
mod script;
mod status;
mod store_side;
mod trace;

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, VecDeque};

pub use script::{Action, Scripted};
pub use status::{ConsumerStatus, Divergence, LabStatus};

use crate::consumers::{
    Arrow, CatchUpFeed, CrashPoint, Delivery, LabError, LabSettings, Link, PersistentGroup, Reply,
    SubscriptionKind,
};
use crate::event::StoredEvent;
use crate::random::Random;
use script::check_action;

/// What happens next in a run, for the caller to do (to JS: `{ kind: "deliver", … }`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
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
    /// Positions written more than once (a divergence for good: counts only grow).
    doubles: BTreeSet<u64>,
    /// Positions 1 to this were each written at least once: where the search for a position
    /// never written goes on (it stops at a parked one, which may still come back).
    written_through: Cell<u64>,
}

impl Lane {
    /// Its node wrote the effect of the event at `position`.
    fn wrote(&mut self, position: u64) {
        let times = self.written.entry(position).or_default();
        *times += 1;
        if *times > 1 {
            self.doubles.insert(position);
        }
    }
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
    /// What is scheduled, in time order; at the same time, what the run's script does comes
    /// after everything else, so that an action done during a run (planned late) and the same
    /// action in a reproduced run (planned at its start) take the same turn.
    queue: BinaryHeap<Reverse<(Time, bool, u64)>>,
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
                doubles: BTreeSet::new(),
                written_through: Cell::new(0),
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
            digest: 0,
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
        self.queue.peek().map(|Reverse((Time(at), _, _))| *at)
    }

    /// Does an action now (it is added to the script).
    pub fn act(&mut self, action: Action) -> Result<(), LabError> {
        self.act_at(action, self.now)
    }

    /// Does an action at simulated time `at_ms` (now, if that has passed): a page acts at its
    /// clock's time, which may be past the last thing that happened.
    pub fn act_at(&mut self, action: Action, at_ms: f64) -> Result<(), LabError> {
        check_action(&self.settings, &action)?;
        if !at_ms.is_finite() {
            return Err(LabError::Setting {
                setting: "atMs",
                range: "a finite time",
                given: at_ms.to_string(),
            });
        }
        self.plan(Scripted {
            at_ms: at_ms.max(self.now),
            action,
        });
        Ok(())
    }

    /// The store's log grew (events appended during the run): the lab's store knows the new
    /// events from now on.
    pub fn log_grew(&mut self, log: Vec<StoredEvent>) {
        self.log_grew_at(log, self.now);
    }

    /// The same, at simulated time `at_ms` (now, if that has passed or is not a time).
    pub fn log_grew_at(&mut self, log: Vec<StoredEvent>, at_ms: f64) {
        let head = log.len() as u64;
        // Only what is new since the last call: a growth already planned is not planned again.
        let grew = log.len() > self.log.len() && head > self.known;
        self.log = log;
        if grew {
            let at_ms = if at_ms.is_finite() {
                at_ms.max(self.now)
            } else {
                self.now
            };
            self.plan(Scripted {
                at_ms,
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
        let scripted = matches!(what, Scheduled::Action(_));
        self.queue.push(Reverse((Time(at), scripted, self.seq)));
        self.scheduled.insert(self.seq, (at, what));
    }

    /// What happens next, up to simulated time `until`, with the clock moved to it; `None`
    /// when nothing is scheduled by then (the run waits for an action, an append or a later
    /// call), or while deliveries handed out are unanswered. A run driven to a time never
    /// steps past it, however its driver cuts the way there (frames, or one go).
    pub fn next_happening(&mut self, until: f64) -> Option<Happening> {
        if !self.awaiting.is_empty() || self.next_at().is_none_or(|at| at > until) {
            return None;
        }
        let Reverse((Time(at), _, seq)) = self.queue.pop()?;
        let (_, what) = self.scheduled.remove(&seq)?;
        self.now = self.now.max(at);
        Some(self.happen(what))
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
            Action::Redeploy { .. } => {
                for consumer in 0..self.lanes.len() {
                    if self.lanes[consumer].running {
                        self.stop(consumer);
                    }
                }
            }
        }
        self.pump();
        Happening::Internal
    }

    /// The definitions consumers run now: those of the last redeploy, if any.
    pub fn deployed(&self) -> Option<&serde_json::Value> {
        self.script.iter().rev().find_map(|s| match &s.action {
            Action::Redeploy { definitions } if s.at_ms <= self.now => Some(definitions),
            _ => None,
        })
    }

    /// The log's events the lab's store knows.
    pub fn known_events(&self) -> &[StoredEvent] {
        &self.log[..self.known as usize]
    }
}

/// The group a consumer belongs to, and its number in it.
pub(super) fn group_of(settings: &LabSettings, consumer: usize) -> (usize, usize) {
    if settings.competing() {
        (0, consumer)
    } else {
        (consumer, 0)
    }
}
