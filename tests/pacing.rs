//! Slow rules never hold the thread: replays, generations and imports breathe between slices,
//! name the slow function past the budget, and stop on request with the rules' error. Natively,
//! on a host whose clock moves as the test says.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use es_sandbox::interchange::{self, Format, import_into};
use es_sandbox::pacing::{PaceHost, Pacing, SlowWork};
use es_sandbox::script::ScriptErrorKind;
use es_sandbox::{
    CommandRequest, Domain, DomainError, EventStore, MemoryStore, ReadAll, ReplayOptions, Sandbox,
    WriteSideError, shipped,
};
use futures::executor::block_on;
use serde_json::json;

fn ok<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

/// A host whose clock moves `step` ms at every read, as if each script call took that long.
struct SteppedHost {
    now: Cell<f64>,
    step: Cell<f64>,
    breaths: Cell<u32>,
    reports: RefCell<Vec<SlowWork>>,
    /// Asks to stop once told of slow work, as a user pressing Stop would.
    stop_when_told: bool,
}

impl SteppedHost {
    fn new(step: f64, stop_when_told: bool) -> Rc<Self> {
        Rc::new(SteppedHost {
            now: Cell::new(0.0),
            step: Cell::new(step),
            breaths: Cell::new(0),
            reports: RefCell::new(Vec::new()),
            stop_when_told,
        })
    }
}

impl PaceHost for SteppedHost {
    fn now_ms(&self) -> f64 {
        self.now.set(self.now.get() + self.step.get());
        self.now.get()
    }
    fn breathe(&self) -> Pin<Box<dyn Future<Output = ()>>> {
        self.breaths.set(self.breaths.get() + 1);
        Box::pin(std::future::ready(()))
    }
    fn slow(&self, report: &SlowWork) {
        self.reports.borrow_mut().push(report.clone());
    }
    fn stop_requested(&self) -> bool {
        self.stop_when_told && !self.reports.borrow().is_empty()
    }
}

/// A bank account with `events` deposits, its sandbox unpaced while it is written.
fn account_with(events: usize) -> Sandbox<MemoryStore> {
    let mut scenario = ok(shipped("bank"));
    scenario.snapshot_interval = 0;
    let sandbox = ok(block_on(Sandbox::open(MemoryStore::new(), scenario)));
    for _ in 0..events {
        let command = CommandRequest::new("acc-001", "Deposit", json!({ "amount": 1 }));
        ok(block_on(sandbox.write().execute(command, 0)));
    }
    sandbox
}

/// Paces a sandbox's rules with a stepped host (default settings).
fn paced(sandbox: &Sandbox<MemoryStore>, step: f64, stop_when_told: bool) -> Rc<SteppedHost> {
    let host = SteppedHost::new(step, stop_when_told);
    sandbox
        .domain()
        .pacer()
        .attach(host.clone(), Pacing::default());
    host
}

fn whole_replay() -> ReplayOptions {
    ReplayOptions {
        use_snapshots: false,
        ..ReplayOptions::default()
    }
}

#[test]
fn given_rules_that_take_5_ms_a_call_a_replay_breathes_every_slice_and_gets_the_same_state() {
    let sandbox = account_with(60);
    let unpaced = ok(block_on(sandbox.write().replay("acc-001", &whole_replay())));
    let host = paced(&sandbox, 5.0, false);

    let paced = ok(block_on(sandbox.write().replay("acc-001", &whole_replay())));

    assert_eq!(paced.state, unpaced.state);
    // 12 ms slices of 5 ms calls: a breath every third call, give or take the first.
    let breaths = host.breaths.get();
    assert!(
        (18..=22).contains(&breaths),
        "{breaths} breaths for 60 calls"
    );
    assert!(
        host.reports.borrow().is_empty(),
        "300 ms is within the budget"
    );
}

#[test]
fn given_slow_rules_past_the_budget_the_slow_function_is_named_and_a_stop_ends_the_replay() {
    let sandbox = account_with(400);
    let host = paced(&sandbox, 5.0, true);

    let error = match block_on(sandbox.write().replay("acc-001", &whole_replay())) {
        Ok(_) => panic!("the replay went on after the stop"),
        Err(error) => error,
    };

    let reports = host.reports.borrow();
    let report = reports.first().unwrap_or_else(|| panic!("no report"));
    assert_eq!(report.script, "account rules");
    assert_eq!(report.function, "apply_Deposited");
    assert!(
        report.total_ms >= 1_000.0,
        "reported at {} ms",
        report.total_ms
    );
    assert!(
        report.calls < 400,
        "reported after {} of 400 calls",
        report.calls
    );
    let WriteSideError::Domain(DomainError::Script(script)) = &error else {
        panic!("not the rules' error: {error:?}");
    };
    assert_eq!(script.kind, ScriptErrorKind::Limit);
    assert_eq!(script.function.as_deref(), Some("apply_Deposited"));
    let message = error.to_string();
    assert!(message.contains("apply_Deposited"), "{message}");
    assert!(message.contains("stopped on request"), "{message}");
    assert!(message.contains("5.0 ms each"), "{message}");
}

#[test]
fn given_fast_rules_past_the_budget_nothing_is_called_slow() {
    let sandbox = account_with(3_000);
    let host = SteppedHost::new(1.0, true);
    // A small budget, passed by many calls that are each fast: a long task, not slow rules.
    let pacing = Pacing {
        budget_ms: 20.0,
        slow_call_ms: 2.0,
        ..Pacing::default()
    };
    sandbox.domain().pacer().attach(host.clone(), pacing);

    ok(block_on(sandbox.write().replay("acc-001", &whole_replay())));

    assert!(host.breaths.get() > 0);
    assert!(
        host.reports.borrow().is_empty(),
        "{:?}",
        host.reports.borrow()
    );
}

#[test]
fn given_slow_rules_a_generation_stops_on_request_and_keeps_what_it_had_written() {
    let sandbox = account_with(0);
    let before = ok(block_on(EventStore::head_position(sandbox.store())));
    let host = paced(&sandbox, 5.0, true);

    let error = match block_on(sandbox.write().generate(5_000, 1, 0)) {
        Ok(done) => panic!("generated {done:?} after the stop"),
        Err(error) => error,
    };

    assert!(error.to_string().contains("stopped on request"), "{error}");
    let report = host.reports.borrow()[0].clone();
    assert!(report.function.starts_with("handle_") || report.function.starts_with("apply_"));
    // Nothing half-written: whatever is stored is whole batches the rules accepted.
    let after = ok(block_on(EventStore::head_position(sandbox.store())));
    assert_eq!(after, before, "the first batch of 2,000 was never reached");
}

#[test]
fn given_a_file_under_slow_rules_an_import_stops_on_request_and_writes_nothing() {
    let source = account_with(400);
    let events = ok(block_on(
        source
            .write()
            .events(&ReadAll::from_position(1, usize::MAX)),
    ));
    let text = interchange::write(Format::Ndjson, source.domain(), &events);
    let exchange = ok(interchange::read(Format::Ndjson, text.as_bytes()));
    let domain = Rc::new(ok(Domain::compile(ok(shipped("bank")))));
    let host = SteppedHost::new(5.0, true);
    domain.pacer().attach(host.clone(), Pacing::default());
    let store = MemoryStore::new();

    let error = match block_on(import_into(
        &store,
        MemoryStore::new(),
        domain,
        &exchange,
        0,
    )) {
        Ok(summary) => panic!("imported {summary:?} after the stop"),
        Err(error) => error,
    };

    assert!(error.to_string().contains("apply_Deposited"), "{error}");
    assert_eq!(host.reports.borrow()[0].function, "apply_Deposited");
    assert_eq!(ok(block_on(EventStore::head_position(&store))), 0);
}

#[test]
fn a_stop_asked_for_ended_work_does_not_stop_the_next() {
    let sandbox = account_with(400);
    let host = paced(&sandbox, 5.0, false);
    sandbox.domain().pacer().stop();
    assert!(block_on(sandbox.write().replay("acc-001", &whole_replay())).is_err());

    // A second later the thread has been idle: the stop is spent.
    host.now.set(host.now.get() + 1_000.0);
    ok(block_on(sandbox.write().replay("acc-001", &whole_replay())));
}

#[test]
fn given_fast_rules_the_time_between_replays_is_not_the_rules_time() {
    let sandbox = account_with(10);
    let host = paced(&sandbox, 0.01, false);

    // The page works on between replays (storage, drawing) for 100 ms each time, a slider's pace.
    for _ in 0..30 {
        ok(block_on(sandbox.write().replay("acc-001", &whole_replay())));
        host.now.set(host.now.get() + 100.0);
    }

    // Were the gaps charged to the rules, each replay would begin past its slice, and the
    // 3 s would be named slow rules.
    assert_eq!(host.breaths.get(), 0, "fast replays gave the thread back");
    assert!(
        host.reports.borrow().is_empty(),
        "{:?}",
        host.reports.borrow()
    );
}

#[test]
fn given_slow_rules_after_fast_ones_the_first_slow_calls_are_timed_and_breathe() {
    let sandbox = account_with(60);
    let host = paced(&sandbox, 0.001, false);
    // Fast rules let the clock be read only every few hundred calls.
    ok(block_on(sandbox.write().replay("acc-001", &whole_replay())));
    ok(block_on(sandbox.write().replay("acc-001", &whole_replay())));

    // A second later, the same functions take 5 ms a call (a stranger's rules, say).
    host.now.set(host.now.get() + 1_000.0);
    host.step.set(5.0);
    ok(block_on(sandbox.write().replay("acc-001", &whole_replay())));

    // As for rules slow from the start, a breath about every third call, once the first few
    // slow calls (at most a stride of them) have been timed.
    let breaths = host.breaths.get();
    assert!(
        (16..=22).contains(&breaths),
        "{breaths} breaths for 61 slow calls"
    );
}
