//! The read model following the log on its own, under a test clock: it waits out the delay, a
//! shorter delay set while it waits takes effect at once, it projects in chunks with a pause
//! between them, one catch-up at a time (and one more when asked for meanwhile), and only when
//! it is live.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::{Cell, RefCell};
use std::future::{Future, ready};

use es_sandbox::event::EventData;
use es_sandbox::expected::ExpectedVersion;
use es_sandbox::read_side::EVENTS;
use es_sandbox::sandbox::projecting::{CHUNK, Following, Timer};
use es_sandbox::scenario::shipped;
use es_sandbox::store::MemoryStore;
use es_sandbox::{ErrorKind, NewEvent, Sandbox};
use futures::executor::block_on;
use serde_json::json;

/// Something to do once the clock reaches a time.
type Alarm = (f64, Box<dyn FnOnce()>);

/// A clock that moves only when slept on; `at` rings once when the clock first reaches it.
#[derive(Default)]
struct TestClock {
    now: Cell<f64>,
    sleeps: RefCell<Vec<f64>>,
    at: RefCell<Option<Alarm>>,
}

impl Timer for TestClock {
    fn now_ms(&self) -> f64 {
        self.now.get()
    }

    fn sleep(&self, ms: f64) -> impl Future<Output = ()> {
        self.now.set(self.now.get() + ms);
        self.sleeps.borrow_mut().push(ms);
        let due = matches!(&*self.at.borrow(), Some((at, _)) if self.now.get() >= *at);
        if due && let Some((_, action)) = self.at.borrow_mut().take() {
            action();
        }
        ready(())
    }
}

/// The bank with 12,000 more deposits: 12,003 events, none projected yet.
fn bank_with_a_long_log() -> Sandbox<MemoryStore> {
    let scenario = shipped("bank").unwrap_or_else(|e| panic!("{e}"));
    let sandbox =
        block_on(Sandbox::open(MemoryStore::new(), scenario)).unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..2 {
        let data = EventData::from_value(json!({ "amount": 1 })).unwrap_or_else(|e| panic!("{e}"));
        let batch = (0..6_000)
            .map(|_| NewEvent::new("Deposited", data.clone()))
            .collect();
        block_on(
            sandbox
                .write()
                .append("acc-001", ExpectedVersion::Any, batch, 0),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
    sandbox
}

fn mirror_checkpoint(sandbox: &Sandbox<MemoryStore>) -> u64 {
    sandbox
        .read()
        .unwrap_or_else(|e| panic!("{e}"))
        .status()
        .into_iter()
        .find(|s| s.name == EVENTS)
        .map_or(0, |s| s.checkpoint)
}

/// Runs the follower once; returns (clock time, mirror checkpoint) after each round it told of.
fn follow(
    sandbox: &Sandbox<MemoryStore>,
    following: &Following,
    clock: &TestClock,
) -> Vec<(f64, u64)> {
    let told = RefCell::new(Vec::new());
    assert!(following.request(), "a live follower starts a catch-up");
    block_on(following.run(sandbox, clock, |round| {
        round.unwrap_or_else(|e| panic!("{e}"));
        told.borrow_mut()
            .push((clock.now_ms(), mirror_checkpoint(sandbox)));
    }));
    told.into_inner()
}

#[test]
fn it_waits_out_the_delay_then_projects_in_chunks_with_a_pause_between() {
    let sandbox = bank_with_a_long_log();
    let following = Following::new(true);
    following
        .set_delay_ms(3_000.0)
        .unwrap_or_else(|e| panic!("{e}"));
    let clock = TestClock::default();
    let rounds = follow(&sandbox, &following, &clock);
    let checkpoints: Vec<u64> = rounds.iter().map(|(_, c)| *c).collect();
    // Whole chunks, the rest, and a last round that finds nothing new.
    let mut expected: Vec<u64> = (1..)
        .map(|chunk| chunk * CHUNK as u64)
        .take_while(|&checkpoint| checkpoint < 12_003)
        .collect();
    expected.extend([12_003, 12_003]);
    assert_eq!(checkpoints, expected);
    assert!(
        rounds.iter().all(|(at, _)| *at >= 3_000.0),
        "nothing before the delay: {rounds:?}"
    );
    // The wait looks at the delay every 50 ms; a pause (0 ms) between chunks.
    let sleeps = clock.sleeps.borrow();
    assert_eq!(sleeps.iter().filter(|ms| **ms == 50.0).count(), 60);
    assert_eq!(
        sleeps.iter().filter(|ms| **ms == 0.0).count(),
        12_003usize.div_ceil(CHUNK)
    );
}

#[test]
fn a_shorter_delay_set_while_waiting_takes_effect_at_once() {
    let sandbox = bank_with_a_long_log();
    let following = std::rc::Rc::new(Following::new(true));
    following
        .set_delay_ms(60_000.0)
        .unwrap_or_else(|e| panic!("{e}"));
    let clock = TestClock::default();
    let shortened = std::rc::Rc::clone(&following);
    *clock.at.borrow_mut() = Some((
        1_000.0,
        Box::new(move || {
            shortened
                .set_delay_ms(0.0)
                .unwrap_or_else(|e| panic!("{e}"))
        }),
    ));
    let rounds = follow(&sandbox, &following, &clock);
    assert_eq!(
        rounds.first().map(|(at, _)| *at),
        Some(1_000.0),
        "{rounds:?}"
    );
}

#[test]
fn asked_for_again_while_it_runs_it_catches_up_once_more() {
    let sandbox = bank_with_a_long_log();
    let following = Following::new(true);
    let clock = TestClock::default();
    let told = Cell::new(0);
    assert!(following.request());
    block_on(following.run(&sandbox, &clock, |_| {
        told.set(told.get() + 1);
        if told.get() == 1 {
            // News arrives during the catch-up, twice: one more catch-up, not two.
            assert!(!following.request());
            assert!(!following.request());
        }
    }));
    // The first catch-up: its chunks and the empty round; the second: one empty round.
    assert_eq!(told.get(), 12_003usize.div_ceil(CHUNK) + 2);
    assert!(following.request(), "done: the next request starts again");
}

#[test]
fn a_follower_that_is_not_live_never_starts_on_its_own() {
    let following = Following::new(false);
    assert!(!following.request());
}

#[test]
fn a_delay_out_of_range_is_refused_with_the_range() {
    let following = Following::new(true);
    for ms in [-1.0, 60_001.0, f64::NAN] {
        let refused = following
            .set_delay_ms(ms)
            .err()
            .unwrap_or_else(|| panic!("{ms} was taken"));
        assert_eq!(refused.kind(), ErrorKind::BadInput);
        assert!(
            refused.to_string().contains("must be 0 to 60000 ms"),
            "{refused}"
        );
    }
    assert_eq!(following.delay_ms(), 0.0);
}
