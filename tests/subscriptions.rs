//! Live subscriptions in the core, natively: each subscriber is handed each position once and in
//! order however appends, pumps and subscriptions interleave (a property test); runs are split by
//! origin; a subscriber leaving mid-delivery is handed nothing more; the pump says when the log
//! moved and whether this store wrote it; a serial job runs once more when asked meanwhile.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::rc::Rc;

use es_sandbox::event::{EventData, EventId, Metadata, ProposedEvent, StoredEvent};
use es_sandbox::expected::ExpectedVersion;
use es_sandbox::store::{EventStore, MemoryStore, News, Origin};
use es_sandbox::subscription::{Moved, NewsPump, ROUND, Serial, Sink, SubscriberId, Subscribers};
use futures::executor::block_on;
use proptest::prelude::*;

/// What a sink was handed: (positions, origin) per delivery.
type Deliveries = Vec<(Vec<u64>, Origin)>;

/// A sink that records what it is handed.
#[derive(Clone, Default)]
struct Recorder(Rc<RefCell<Deliveries>>);

impl Sink for Recorder {
    fn deliver(&self, events: &[&StoredEvent], origin: Origin) {
        let positions = events.iter().map(|e| e.position).collect();
        self.0.borrow_mut().push((positions, origin));
    }
}

impl Recorder {
    fn positions(&self) -> Vec<u64> {
        self.0
            .borrow()
            .iter()
            .flat_map(|(p, _)| p.clone())
            .collect()
    }
}

fn proposed(n: u64) -> ProposedEvent {
    ProposedEvent {
        event_id: EventId::derived(&format!("sub/{n}")),
        event_type: "Happened".into(),
        schema_version: 1,
        data: EventData::from_value(serde_json::json!({ "n": n }))
            .unwrap_or_else(|e| panic!("{e}")),
        metadata: Metadata::at(0),
    }
}

fn append(store: &MemoryStore, aggregate: &str, count: u64, next: &mut u64) {
    let batch = (0..count)
        .map(|_| {
            *next += 1;
            proposed(*next)
        })
        .collect();
    block_on(store.append(aggregate, ExpectedVersion::Any, batch))
        .unwrap_or_else(|e| panic!("{e}"));
}

fn pump(pump: &NewsPump, store: &MemoryStore, subscribers: &Subscribers<Recorder>) -> Vec<Moved> {
    let mut moved = Vec::new();
    block_on(pump.run(store, subscribers, |m| moved.push(m), async || {}))
        .unwrap_or_else(|e| panic!("{e}"));
    moved
}

#[derive(Debug, Clone)]
enum Step {
    Append(u64),
    Pump,
    Subscribe(Option<u64>),
    Unsubscribe(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1u64..30).prop_map(Step::Append),
        Just(Step::Pump),
        proptest::option::of(0u64..40).prop_map(Step::Subscribe),
        (0usize..4).prop_map(Step::Unsubscribe),
    ]
}

proptest! {
    #[test]
    fn each_subscriber_is_handed_each_position_once_and_in_order(steps in proptest::collection::vec(step(), 1..40)) {
        let store = MemoryStore::new();
        let news = NewsPump::new(0);
        let subscribers = Subscribers::default();
        let mut next = 0;
        // (recorder, its first position, its id while subscribed)
        let mut subscribed: Vec<(Recorder, u64, Option<SubscriberId>)> = Vec::new();
        for step in steps {
            match step {
                Step::Append(count) => append(&store, "t-1", count, &mut next),
                Step::Pump => { pump(&news, &store, &subscribers); }
                Step::Subscribe(after) => {
                    let recorder = Recorder::default();
                    // From a position (a catch-up), or from what the pump has seen (live).
                    let after = after.unwrap_or(news.seen());
                    let id = subscribers.subscribe(recorder.clone(), after);
                    subscribed.push((recorder, after + 1, Some(id)));
                }
                Step::Unsubscribe(index) => {
                    if let Some((_, _, id)) = subscribed.get_mut(index)
                        && let Some(id) = id.take() {
                        subscribers.unsubscribe(id);
                    }
                }
            }
        }
        pump(&news, &store, &subscribers);
        let head = next;
        for (recorder, from, id) in &subscribed {
            let got = recorder.positions();
            // Contiguous from its first position, never repeated.
            let expected: Vec<u64> = (*from..=head).take(got.len()).collect();
            prop_assert_eq!(&got, &expected);
            if id.is_some() {
                // Still subscribed: it reached the head.
                prop_assert_eq!(got.last().copied().unwrap_or(from - 1), head.max(from - 1));
            }
        }
    }
}

fn news(positions: &[(u64, Origin)]) -> Vec<News> {
    positions
        .iter()
        .map(|&(position, origin)| News {
            event: proposed(position).place(&"t-1".into(), position, position),
            origin,
        })
        .collect()
}

#[test]
fn a_run_of_one_origin_is_one_delivery() {
    let subscribers = Subscribers::default();
    let recorder = Recorder::default();
    subscribers.subscribe(recorder.clone(), 1);
    let (local, remote) = (Origin::Local, Origin::Remote);
    subscribers.hand_out(&news(&[
        (1, local),
        (2, local),
        (3, remote),
        (4, remote),
        (5, local),
    ]));
    assert_eq!(
        *recorder.0.borrow(),
        vec![(vec![2], local), (vec![3, 4], remote), (vec![5], local)]
    );
    // Handed out again, nothing is new to it.
    subscribers.hand_out(&news(&[(5, local)]));
    assert_eq!(recorder.0.borrow().len(), 3);
}

/// A sink that unsubscribes another subscriber (or itself) when it is first handed events.
#[derive(Clone)]
struct Leaver {
    subscribers: Rc<Subscribers<Sinks>>,
    leave: Rc<RefCell<Option<SubscriberId>>>,
    recorder: Recorder,
}

#[derive(Clone)]
enum Sinks {
    Leaver(Leaver),
    Recorder(Recorder),
}

impl Sink for Sinks {
    fn deliver(&self, events: &[&StoredEvent], origin: Origin) {
        match self {
            Sinks::Leaver(leaver) => {
                leaver.recorder.deliver(events, origin);
                if let Some(id) = leaver.leave.borrow_mut().take() {
                    leaver.subscribers.unsubscribe(id);
                }
            }
            Sinks::Recorder(recorder) => recorder.deliver(events, origin),
        }
    }
}

#[test]
fn a_subscriber_removed_while_events_are_handed_out_is_handed_nothing_more() {
    let subscribers = Rc::new(Subscribers::default());
    let leave = Rc::new(RefCell::new(None));
    let first = Recorder::default();
    let second = Recorder::default();
    subscribers.subscribe(
        Sinks::Leaver(Leaver {
            subscribers: Rc::clone(&subscribers),
            leave: Rc::clone(&leave),
            recorder: first.clone(),
        }),
        0,
    );
    let id = subscribers.subscribe(Sinks::Recorder(second.clone()), 0);
    *leave.borrow_mut() = Some(id);
    subscribers.hand_out(&news(&[(1, Origin::Local), (2, Origin::Local)]));
    assert_eq!(first.positions(), vec![1, 2]);
    assert_eq!(
        second.positions(),
        Vec::<u64>::new(),
        "removed before its turn"
    );
    assert_eq!(subscribers.len(), 1);
}

#[test]
fn the_pump_says_when_the_log_moved_and_hands_a_long_log_over_in_rounds() {
    let store = MemoryStore::new();
    let mut next = 0;
    for _ in 0..3 {
        append(&store, "t-1", 5_000, &mut next);
    }
    let news = NewsPump::new(0);
    let subscribers = Subscribers::default();
    let recorder = Recorder::default();
    subscribers.subscribe(recorder.clone(), 0);
    let pauses = std::cell::Cell::new(0);
    // A run that counts its pauses between rounds.
    let run_counting_pauses = |moved: &mut dyn FnMut(Moved)| {
        block_on(news.run(&store, &subscribers, moved, async || {
            pauses.set(pauses.get() + 1)
        }))
        .unwrap_or_else(|e| panic!("{e}"));
    };
    let mut moved = Vec::new();
    run_counting_pauses(&mut |m| moved.push(m));
    // 15,000 events in rounds of ROUND: each round past what the pump had seen, with a pause
    // between two rounds and none after the last (it reached the head).
    let heads: Vec<u64> = (1..)
        .map(|round| (round * ROUND as u64).min(15_000))
        .take(15_000usize.div_ceil(ROUND))
        .collect();
    assert_eq!(
        moved,
        heads
            .iter()
            .map(|&head| Moved { head, ours: true })
            .collect::<Vec<_>>()
    );
    assert_eq!(pauses.get(), heads.len() - 1);
    assert_eq!(recorder.positions(), (1..=15_000).collect::<Vec<u64>>());
    // Nothing new: the pump says nothing and hands out nothing.
    assert_eq!(pump(&news, &store, &subscribers), vec![]);
    // One append's worth: one round, and no pause for a round that would find nothing.
    append(&store, "t-1", 3, &mut next);
    run_counting_pauses(&mut |_| {});
    assert_eq!(pauses.get(), heads.len() - 1);
    assert_eq!(recorder.positions().len(), 15_003);
    // A late subscriber from position 15,002 gets only the last two; the log did not move.
    let late = Recorder::default();
    subscribers.subscribe(late.clone(), 15_001);
    assert_eq!(pump(&news, &store, &subscribers), vec![]);
    assert_eq!(late.positions(), vec![15_002, 15_003]);
}

#[test]
fn a_serial_job_asked_for_while_it_runs_runs_once_more() {
    let serial = Serial::default();
    assert!(serial.request(), "the first request starts a run");
    assert!(
        !serial.request(),
        "asked for while running: no second runner"
    );
    assert!(
        !serial.request(),
        "asked twice: still one more run, not two"
    );
    assert!(serial.finished(), "it runs once more");
    assert!(!serial.finished(), "then it is done");
    assert!(!serial.is_running());
    assert!(serial.request(), "a request after that starts a new run");
    assert!(!serial.finished());
}
