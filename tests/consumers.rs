//! Consumers over a faulty network, natively and deterministically: with process-then-ack and
//! an inbox every consumer converges on a perfect consumer's read model, each event applied
//! once, whatever the seed and the faults; without the inbox a duplicate is applied twice;
//! a crash at each point redelivers exactly what was not committed; ack-before-handle loses an
//! event; a poison event is parked after `maxRetryCount` and replayed once fixed; pinned keeps
//! each aggregate's order and round robin does not; the same seed gives the same run, batched
//! or one by one.
#![cfg(not(target_arch = "wasm32"))]

mod lab_driver;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use es_sandbox::consumers::{
    Action, Applied, ArrowKind, CommitMode, CrashPoint, Handler, Lab, LabSettings, LinkSettings,
    Outcome, Strategy, SubscriptionKind, Topology, kurrent_body, kurrent_streams,
};
use es_sandbox::event::{EventData, EventId, Metadata, ProposedEvent, StoredEvent};
use proptest::prelude::*;
use serde_json::json;

/// A bank-like read model in memory: balances by account, strict (an event for an account
/// it has no row of fails), with an inbox and a checkpoint; `poison` makes one position fail
/// until it is cured.
#[derive(Clone, Debug, Default, PartialEq)]
struct Model {
    balances: BTreeMap<String, i64>,
    inbox: HashSet<EventId>,
    checkpoint: u64,
    /// Versions handled per account, in the order handled.
    order: BTreeMap<String, Vec<u64>>,
    /// Positions it fails on, until cured.
    poison: Vec<u64>,
}

impl Handler for Model {
    fn apply(&mut self, event: &StoredEvent, inbox: bool) -> Result<Applied, String> {
        if inbox && self.inbox.contains(&event.event_id) {
            return Ok(Applied::Duplicate);
        }
        if self.poison.contains(&event.position) {
            return Err(format!("position {} is poison", event.position));
        }
        let amount = event.data.to_value()["amount"].as_i64().unwrap_or(0);
        let account = event.aggregate_id.to_string();
        match &*event.event_type {
            "Created" => {
                self.balances.insert(account.clone(), amount);
            }
            _ => match self.balances.get_mut(&account) {
                Some(balance) => *balance += amount,
                None => return Err(format!("{account} has no row yet")),
            },
        }
        self.order.entry(account).or_default().push(event.version);
        if inbox {
            self.inbox.insert(event.event_id);
        }
        Ok(Applied::New)
    }

    fn checkpoint(&self) -> u64 {
        self.checkpoint
    }

    fn save_checkpoint(&mut self, position: u64) -> Result<(), String> {
        self.checkpoint = position;
        Ok(())
    }
}

/// A log of `accounts` accounts, each Created then `deposits` Deposited, interleaved.
fn log(accounts: usize, deposits: usize) -> Vec<StoredEvent> {
    let mut events = Vec::new();
    for version in 1..=deposits as u64 + 1 {
        for account in 0..accounts {
            let (kind, amount) = if version == 1 {
                ("Created", 100)
            } else {
                ("Deposited", version as i64)
            };
            let position = events.len() as u64 + 1;
            let proposed = ProposedEvent {
                event_id: EventId::derived(&format!("log/{position}")),
                event_type: kind.into(),
                schema_version: 1,
                data: EventData::from_value(json!({ "amount": amount }))
                    .unwrap_or_else(|e| panic!("{e}")),
                metadata: Metadata::at(0),
            };
            let aggregate: Arc<str> = format!("acc-{account}").into();
            events.push(proposed.place(&aggregate, version, position));
        }
    }
    events
}

/// The read model a perfect single consumer builds: every event once, in order.
fn perfect(log: &[StoredEvent]) -> BTreeMap<String, i64> {
    let mut model = Model::default();
    for event in log {
        model.apply(event, false).unwrap_or_else(|e| panic!("{e}"));
    }
    model.balances
}

type Run = lab_driver::Run<Model>;

/// A run whose nodes start with empty models.
fn new_run(settings: LabSettings, log: Vec<StoredEvent>) -> Run {
    Run::new(settings, log, |_| Model::default())
}

fn settings(seed: u64) -> LabSettings {
    let mut settings = LabSettings {
        seed,
        ..LabSettings::default()
    };
    settings.group.max_retry_count = 100;
    settings
}

fn faulty(drop: f64, duplicate: f64, jitter: f64, reorder: f64) -> LinkSettings {
    LinkSettings {
        latency_ms: 50.0,
        jitter_ms: jitter,
        drop_percent: drop,
        duplicate_percent: duplicate,
        reorder_ms: reorder,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn with_an_inbox_every_consumer_converges_and_applies_each_event_once(
        seed in any::<u64>(),
        drop in 0.0f64..60.0,
        duplicate in 0.0f64..60.0,
        jitter in 0.0f64..200.0,
        reorder in 0.0f64..500.0,
        catch_up in any::<bool>(),
    ) {
        let log = log(3, 6);
        let mut settings = settings(seed);
        settings.inbox = true;
        settings.link = faulty(drop, duplicate, jitter, reorder);
        if catch_up {
            settings.kind = SubscriptionKind::CatchUp;
        }
        let mut run = new_run(settings, log.clone());
        run.run(16, 10_000_000.0);
        let truth = perfect(&log);
        for consumer in 0..run.nodes.len() {
            prop_assert_eq!(&run.handler(consumer).balances, &truth, "consumer {}", consumer);
            let written = run.lab.written_by(consumer);
            prop_assert!(written.values().all(|n| *n == 1), "consumer {}: {:?}", consumer, written);
            prop_assert_eq!(written.len(), log.len());
            prop_assert_eq!(run.lab.status().consumers[consumer].diverged.clone(), None);
        }
    }
}

#[test]
fn without_the_inbox_a_duplicate_is_applied_twice_for_some_seed() {
    let log = log(2, 4);
    let found = (1..200).find_map(|seed| {
        let mut settings = settings(seed);
        settings.link = faulty(0.0, 30.0, 0.0, 0.0);
        let mut run = new_run(settings, log.clone());
        run.run(16, 10_000_000.0);
        let diverged = run.lab.status().consumers[0].diverged.clone()?;
        Some((seed, diverged, run.handler(0).balances.clone()))
    });
    let (seed, diverged, balances) = found.unwrap_or_else(|| panic!("no seed applied a duplicate"));
    assert_eq!(diverged.applied, 2, "seed {seed}: {diverged:?}");
    assert!(
        diverged.says.ends_with("applied twice"),
        "{}",
        diverged.says
    );
    assert_ne!(
        balances,
        perfect(&log),
        "seed {seed}: the read model disagrees with the log"
    );
}

/// A run of one consumer over a perfect link that crashes at `point` in its fourth delivery.
fn crash_run(kind: SubscriptionKind, commit: CommitMode, point: CrashPoint, inbox: bool) -> Run {
    let log = log(1, 9);
    let mut settings = settings(7);
    settings.consumers = 1;
    settings.kind = kind;
    settings.commit = commit;
    settings.inbox = inbox;
    settings.group.in_flight_limit = 3;
    let mut run = new_run(settings, log);
    // Deliveries 1 to 3 handled, then the crash is armed for the next one.
    while run.delivered.len() < 3 {
        run.run(1, run.lab.next_at().unwrap_or(0.0));
    }
    run.lab
        .act(Action::Crash { consumer: 0, point })
        .unwrap_or_else(|e| panic!("{e}"));
    run.run(1, 10_000_000.0);
    run
}

#[test]
fn after_a_crash_at_each_point_exactly_what_was_not_committed_is_redelivered() {
    for kind in [SubscriptionKind::CatchUp, SubscriptionKind::Persistent] {
        for point in [
            CrashPoint::BeforeHandling,
            CrashPoint::AfterWrite,
            CrashPoint::AfterAck,
        ] {
            let run = crash_run(kind, CommitMode::AfterHandling, point, false);
            let crash_at = run
                .delivered
                .iter()
                .position(|d| d.1 == 4)
                .unwrap_or_else(|| panic!("position 4 never delivered"));
            // Everything after the crash: what came again is exactly what was not committed.
            let committed_before = match point {
                CrashPoint::AfterAck => 4,
                _ => 3,
            };
            let again: Vec<u64> = run.delivered[crash_at + 1..]
                .iter()
                .map(|d| d.1)
                .filter(|p| *p <= 6)
                .collect();
            let first_again = again.first().copied();
            assert_eq!(
                first_again,
                Some(committed_before + 1),
                "{kind:?} {point:?}: {:?}",
                run.delivered
            );
            assert!(
                again.iter().all(|p| *p > committed_before),
                "{kind:?} {point:?}: a committed position came again: {:?}",
                run.delivered
            );
            // Crashing after the write, without an inbox, writes position 4 twice.
            let times = run.lab.written_by(0).get(&4).copied().unwrap_or(0);
            let expected = if point == CrashPoint::AfterWrite {
                2
            } else {
                1
            };
            assert_eq!(times, expected, "{kind:?} {point:?}");
        }
    }
}

#[test]
fn with_an_inbox_the_write_before_a_crash_is_absorbed_when_it_comes_again() {
    let run = crash_run(
        SubscriptionKind::Persistent,
        CommitMode::AfterHandling,
        CrashPoint::AfterWrite,
        true,
    );
    assert_eq!(run.lab.written_by(0).get(&4), Some(&1));
    let status = &run.lab.status().consumers[0];
    assert_eq!((status.absorbed, status.crashes), (1, 1));
    assert_eq!(status.diverged, None);
    assert_eq!(run.handler(0).balances, perfect(&log(1, 9)));
}

#[test]
fn acknowledging_before_handling_loses_the_event_a_crash_interrupts() {
    for kind in [SubscriptionKind::CatchUp, SubscriptionKind::Persistent] {
        let run = crash_run(
            kind,
            CommitMode::BeforeHandling,
            CrashPoint::BeforeHandling,
            false,
        );
        assert_eq!(run.lab.written_by(0).get(&4), None, "{kind:?}");
        let diverged = run.lab.status().consumers[0].diverged.clone();
        assert_eq!(
            diverged.map(|d| d.says),
            Some("position 4 (acc-0) never applied (lost)".to_string()),
            "{kind:?}"
        );
        assert_ne!(run.handler(0).balances, perfect(&log(1, 9)));
    }
}

#[test]
fn a_poison_event_is_parked_after_max_retry_count_and_replayed_once_fixed() {
    let log = log(1, 5);
    let mut settings = settings(3);
    settings.consumers = 1;
    settings.group.max_retry_count = 2;
    let mut run = new_run(settings, log.clone());
    run.replace_handler(
        0,
        Model {
            poison: vec![3],
            ..Model::default()
        },
    );
    run.run(8, 10_000_000.0);
    let parked = run.lab.parked(0);
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(parked[0].position, 3);
    assert_eq!(parked[0].attempts, 3, "sent once and retried twice");
    assert!(
        parked[0].reason.contains("position 3 is poison"),
        "{}",
        parked[0].reason
    );
    let tries = run.delivered.iter().filter(|d| d.1 == 3).count();
    assert_eq!(tries, 3);
    // The group moved past it: the events after it were handled.
    let status = &run.lab.status().consumers[0];
    assert_eq!(status.checkpoint, log.len() as u64);
    assert_eq!(status.diverged, None, "a parked event is not a divergence");
    // The projection is fixed; the parked event is replayed and applied.
    let mut cured = run.handler(0).clone();
    cured.poison.clear();
    run.replace_handler(0, cured);
    run.lab
        .act(Action::ReplayParked { stop_at: None })
        .unwrap_or_else(|e| panic!("{e}"));
    run.run(8, 10_000_000.0);
    assert!(run.lab.parked(0).is_empty());
    assert_eq!(run.lab.written_by(0).get(&3), Some(&1));
    // Deposits commute: replayed late, it still lands on the right balance.
    assert_eq!(run.handler(0).balances, perfect(&log));
}

#[test]
fn a_replay_up_to_stop_at_sends_the_parked_messages_numbered_below_it_as_kurrentdb_does() {
    let log = log(1, 9);
    let mut settings = settings(4);
    settings.consumers = 1;
    settings.group.max_retry_count = 0;
    let mut run = new_run(settings, log.clone());
    let poisoned = |positions: Vec<u64>, run: &Run| Model {
        poison: positions,
        ..run.handler(0).clone()
    };
    run.replace_handler(0, poisoned(vec![5, 3], &run));
    run.run(8, 10_000_000.0);
    let numbered = |run: &Run| -> Vec<(u64, u64)> {
        run.lab
            .parked(0)
            .iter()
            .map(|p| (p.number, p.position))
            .collect()
    };
    // Parked in the order they failed, numbered in the parked stream from 0.
    assert_eq!(numbered(&run), [(0, 3), (1, 5)]);
    // Both cured; stopAt 1 replays the parked stream's events before number 1: position 3 only.
    run.replace_handler(0, poisoned(Vec::new(), &run));
    run.lab
        .act(Action::ReplayParked { stop_at: Some(1) })
        .unwrap_or_else(|e| panic!("{e}"));
    run.run(8, 10_000_000.0);
    assert_eq!(numbered(&run), [(1, 5)]);
    assert_eq!(run.lab.written_by(0).get(&3), Some(&1));
    assert_eq!(run.lab.written_by(0).get(&5), None);
    // Position 5 fails again when replayed: parked anew, under a new number (never reused).
    run.replace_handler(0, poisoned(vec![5], &run));
    run.lab
        .act(Action::ReplayParked { stop_at: None })
        .unwrap_or_else(|e| panic!("{e}"));
    run.run(8, 10_000_000.0);
    assert_eq!(numbered(&run), [(2, 5)]);
    run.replace_handler(0, poisoned(Vec::new(), &run));
    run.lab
        .act(Action::ReplayParked { stop_at: None })
        .unwrap_or_else(|e| panic!("{e}"));
    run.run(8, 10_000_000.0);
    assert!(numbered(&run).is_empty());
    assert_eq!(run.handler(0).balances, perfect(&log));
}

/// Whether each consumer handled the versions of each account it saw in order, from 1.
fn in_order(run: &Run) -> bool {
    (0..run.nodes.len()).all(|c| {
        run.handler(c)
            .order
            .values()
            .all(|versions| versions.iter().copied().eq(1..=versions.len() as u64))
    })
}

#[test]
fn pinned_keeps_each_aggregates_order_and_round_robin_does_not() {
    // Three accounts over two consumers: in turn, an account's events fall to both.
    let log = log(3, 5);
    let competing = |strategy, seed| {
        let mut settings = settings(seed);
        settings.topology = Topology::Competing;
        settings.group.strategy = strategy;
        settings.group.in_flight_limit = 2;
        let mut run = new_run(settings, log.clone());
        run.run(8, 10_000_000.0);
        run
    };
    for seed in 1..20 {
        let run = competing(Strategy::Pinned, seed);
        assert!(in_order(&run), "pinned, seed {seed}");
        let handled: u64 = (0..2).map(|c| run.lab.status().consumers[c].applied).sum();
        assert_eq!(
            handled,
            log.len() as u64,
            "every event handled once by the group"
        );
    }
    let split = (1..50).find(|seed| {
        let run = competing(Strategy::RoundRobin, *seed);
        !in_order(&run) || run.lab.status().consumers.iter().any(|c| c.failed > 0)
    });
    assert!(
        split.is_some(),
        "round robin kept every account's order for every seed"
    );
}

#[test]
fn the_same_seed_gives_the_same_run_batched_or_one_by_one() {
    let log = log(3, 5);
    let stopped = |seed, batch, until| {
        let mut settings = settings(seed);
        settings.link = faulty(20.0, 20.0, 80.0, 300.0);
        let mut run = new_run(settings, log.clone());
        run.run(batch, until);
        (run.lab.status().digest, run.delivered.clone())
    };
    let digest = |seed, batch| stopped(seed, batch, 10_000_000.0);
    // Stopped part-way (as a shared link is replayed to its time), the same run too.
    for until in (1..80).map(|i| f64::from(i) * 37.0) {
        assert_eq!(
            stopped(11, 64, until),
            stopped(11, 1, until),
            "stopped at {until} ms"
        );
    }
    let (one, delivered_one) = digest(11, 1);
    let (batched, delivered_batched) = digest(11, 64);
    assert_eq!(
        delivered_one, delivered_batched,
        "the same deliveries in the same order"
    );
    assert_eq!(one, batched, "the same trace");
    assert_eq!(digest(11, 1).0, one, "again: the same");
    assert_ne!(digest(12, 1).0, one, "another seed, another run");
}

#[test]
fn a_run_driven_to_a_time_in_frames_stops_there_as_one_driven_there_at_once() {
    // A page plays a run a frame at a time; its link replays to the time in one go. Messages
    // that arrive without a delivery (over a cut link, or dropped) must not let the run take
    // a step past the time it was driven to.
    let log = log(3, 6);
    let mut settings = settings(31);
    settings.link = faulty(20.0, 20.0, 0.0, 0.0);
    let cut = || Action::Partition {
        consumer: 1,
        cut: true,
    };
    for until in (1..60).map(|i| f64::from(i) * 23.0) {
        let mut framed = new_run(settings.clone(), log.clone());
        framed.lab.act(cut()).unwrap_or_else(|e| panic!("{e}"));
        let mut frame = 0.0;
        while frame < until {
            frame = f64::min(frame + 7.0, until);
            framed.run(64, frame);
            assert!(
                framed.lab.now() <= frame,
                "{} past {frame} ms",
                framed.lab.now()
            );
        }
        let mut straight = new_run(settings.clone(), log.clone());
        straight.lab.act(cut()).unwrap_or_else(|e| panic!("{e}"));
        straight.run(64, until);
        assert_eq!(framed.delivered, straight.delivered, "to {until} ms");
        assert_eq!(
            framed.lab.status().digest,
            straight.lab.status().digest,
            "to {until} ms"
        );
    }
}

#[test]
fn actions_done_during_a_run_reproduce_from_its_script_message_for_message() {
    let log = log(3, 6);
    let mut settings = settings(21);
    settings.link = faulty(10.0, 20.0, 0.0, 0.0);
    // Stopped after a number of steps, many messages are due at the very time the actions are
    // done, as when a learner clicks while the page is between two batches; the reproduction
    // hands deliveries out in batches, as a page catching up does.
    for steps in [3, 17, 40, 77] {
        let mut live = new_run(settings.clone(), log.clone());
        live.steps(steps);
        let at = live.lab.now();
        assert!(live.lab.next_at().is_some_and(|next| next <= at + 100.0));
        for action in [
            Action::Crash {
                consumer: 0,
                point: CrashPoint::AfterWrite,
            },
            Action::Partition {
                consumer: 1,
                cut: true,
            },
        ] {
            live.lab.act(action).unwrap_or_else(|e| panic!("{e}"));
        }
        live.run(1, 10_000_000.0);
        let mut again = Run::scripted(
            settings.clone(),
            log.clone(),
            live.lab.script().to_vec(),
            |_| Model::default(),
        );
        again.run(64, 10_000_000.0);
        assert_eq!(again.delivered, live.delivered, "after {steps} steps");
        assert_eq!(
            again.lab.status().digest,
            live.lab.status().digest,
            "after {steps} steps"
        );
    }
}

#[test]
fn a_cut_link_loses_what_crosses_it_and_the_consumer_catches_up_when_mended() {
    let log = log(1, 5);
    let mut settings = settings(5);
    settings.consumers = 1;
    let mut run = new_run(settings, log.clone());
    run.lab
        .act(Action::Partition {
            consumer: 0,
            cut: true,
        })
        .unwrap_or_else(|e| panic!("{e}"));
    run.run(8, 3_000.0);
    let status = run.lab.status().consumers[0].clone();
    assert!(status.cut);
    assert!(status.lost > 0, "{status:?}");
    assert_eq!(status.applied, 0);
    run.lab
        .act(Action::Partition {
            consumer: 0,
            cut: false,
        })
        .unwrap_or_else(|e| panic!("{e}"));
    run.run(8, 10_000_000.0);
    assert_eq!(run.handler(0).balances, perfect(&log));
    let lost_deliveries = run
        .lab
        .arrows_between(0.0, f64::INFINITY)
        .iter()
        .filter(|a| a.kind == ArrowKind::Deliver && a.outcome.is_none())
        .count();
    assert!(lost_deliveries > 0);
}

#[test]
fn events_appended_during_a_run_reach_every_consumer_from_the_time_they_are_known() {
    let log = log(2, 6);
    let mut settings = settings(8);
    settings.link = faulty(10.0, 10.0, 30.0, 0.0);
    settings.inbox = true;
    let mut run = Run::new(settings.clone(), log.clone(), |_| Model::default());
    // The store knows the first 4 events; the rest arrive at 2 s, told twice.
    run.lab =
        Lab::new(settings, log[..4].to_vec(), 4, Vec::new()).unwrap_or_else(|e| panic!("{e}"));
    run.run(8, 1_000.0);
    assert_eq!(run.lab.status().head, 4);
    run.lab.log_grew_at(log.clone(), 2_000.0);
    run.lab.log_grew_at(log.clone(), 2_500.0);
    let grew: Vec<f64> = run
        .lab
        .script()
        .iter()
        .filter(|s| matches!(s.action, Action::LogGrew { .. }))
        .map(|s| s.at_ms)
        .collect();
    assert_eq!(grew, [2_000.0], "planned once, at its time");
    run.run(8, 10_000_000.0);
    let status = run.lab.status();
    assert_eq!(status.head, log.len() as u64);
    for consumer in 0..2 {
        assert_eq!(
            run.handler(consumer).balances,
            perfect(&log),
            "consumer {consumer}"
        );
    }
    let first_late = run
        .lab
        .arrows_between(0.0, f64::INFINITY)
        .into_iter()
        .filter(|a| a.kind == ArrowKind::Deliver && a.position > 4)
        .map(|a| a.sent_at)
        .fold(f64::INFINITY, f64::min);
    assert!(first_late >= 2_000.0, "sent at {first_late}");
}

#[test]
fn a_group_becomes_the_body_kurrentdb_creates_a_persistent_subscription_from() {
    let mut settings = LabSettings::default();
    settings.group.message_timeout_ms = 2_500.0;
    settings.group.max_retry_count = 7;
    settings.group.checkpoint_after_ms = 750.0;
    settings.group.min_checkpoint_count = 2;
    settings.group.max_checkpoint_count = 40;
    settings.group.strategy = Strategy::Pinned;
    let body = kurrent_body(&settings.group, 3);
    // KurrentDB's HTTP API names (PUT /subscriptions/{stream}/{group}), every one of them.
    let expected = json!({
        "resolveLinktos": true,
        "startFrom": 0,
        "extraStatistics": false,
        "messageTimeoutMilliseconds": 2500,
        "maxRetryCount": 7,
        "liveBufferSize": 500,
        "readBatchSize": 20,
        "bufferSize": 500,
        "checkPointAfterMilliseconds": 750,
        "minCheckPointCount": 2,
        "maxCheckPointCount": 40,
        "maxSubscriberCount": 3,
        "namedConsumerStrategy": "Pinned",
    });
    assert_eq!(body, expected);
    for (strategy, name) in [
        (Strategy::RoundRobin, "RoundRobin"),
        (Strategy::DispatchToSingle, "DispatchToSingle"),
    ] {
        settings.group.strategy = strategy;
        assert_eq!(
            kurrent_body(&settings.group, 1)["namedConsumerStrategy"],
            name
        );
    }
    // One subscription per category stream, as KurrentDB's by-category projection names them.
    assert_eq!(
        kurrent_streams(["acc-001", "acc-002", "order-7", "loner", "acc-003"]),
        ["$ce-acc", "$ce-order", "loner"]
    );
}

#[test]
fn settings_out_of_range_are_refused_with_the_range() {
    let mut settings = LabSettings::default();
    settings.link.drop_percent = 100.0;
    let refused = Lab::new(settings, log(1, 1), 2, Vec::new())
        .err()
        .unwrap_or_else(|| panic!("a link that drops everything was accepted"));
    assert!(
        refused
            .to_string()
            .contains("link.dropPercent must be 0 to 99"),
        "{refused}"
    );
    let lab = Lab::new(LabSettings::default(), log(1, 1), 2, Vec::new());
    let mut lab = lab.unwrap_or_else(|e| panic!("{e}"));
    let refused = lab
        .act(Action::Crash {
            consumer: 9,
            point: CrashPoint::AfterAck,
        })
        .err()
        .unwrap_or_else(|| panic!("a crash of consumer 9 was accepted"));
    assert!(refused.to_string().contains("no consumer 9"), "{refused}");
    assert!(matches!(Outcome::Applied, Outcome::Applied));
}

#[test]
fn a_redeploy_restarts_every_consumer_over_its_state_and_loses_nothing() {
    let log = log(2, 6);
    let mut settings = settings(9);
    settings.inbox = true;
    let mut run = new_run(settings, log.clone());
    run.run(4, 400.0);
    let definitions = json!([{ "name": "fixed" }]);
    run.lab
        .act(Action::Redeploy {
            definitions: definitions.clone(),
        })
        .unwrap_or_else(|e| panic!("{e}"));
    run.run(4, 10_000_000.0);
    assert_eq!(run.lab.deployed(), Some(&definitions));
    for consumer in 0..2 {
        assert_eq!(
            run.handler(consumer).balances,
            perfect(&log),
            "consumer {consumer}"
        );
        let status = &run.lab.status().consumers[consumer];
        assert_eq!(
            (status.running, status.crashes, status.diverged.clone()),
            (true, 0, None)
        );
    }
    let starts = run
        .lab
        .script()
        .iter()
        .filter(|s| matches!(s.action, Action::Redeploy { .. }))
        .count();
    assert_eq!(starts, 1);
}
