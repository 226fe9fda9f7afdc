//! Consumers with real SQLite read models of the bank's projections, natively, over a faulty
//! link: with an inbox each ends with the same answers as a perfect consumer and as the
//! sandbox's own read model; without it, a duplicated deposit is counted twice; competing
//! consumers in turn fail an account's deposit before its opening (a strict model), pinned ones
//! do not; a restarted node reopens its database and goes on from its checkpoint; events handed
//! over together commit together, each all or nothing.
#![cfg(not(target_arch = "wasm32"))]

mod lab_driver;

use std::rc::Rc;

use es_sandbox::consumers::{
    Answered, CrashPoint, Handler, LabSettings, Strategy, SubscriptionKind, Topology, Verdict,
    judge,
};
use es_sandbox::domain::Domain;
use es_sandbox::read_side::{ConsumerModel, QueryLimits};
use es_sandbox::scenario::{ProjectionSpec, shipped};
use es_sandbox::store::{MemoryStore, ReadAll};
use es_sandbox::{Sandbox, StoredEvent};
use futures::executor::block_on;
use serde_json::Value;

const LIMITS: QueryLimits = QueryLimits {
    max_rows: 1_000,
    time_limit_ms: 10_000.0,
    clock: ticking_clock,
};

fn ticking_clock() -> f64 {
    0.0
}

const BALANCES: &str = "SELECT account, balance FROM balances ORDER BY account";
const DEPOSITS: &str = "SELECT account, deposits, total FROM deposits ORDER BY account";

/// The bank with 300 generated commands, and its log.
fn bank() -> (Sandbox<MemoryStore>, Vec<StoredEvent>) {
    let scenario = shipped("bank").unwrap_or_else(|e| panic!("{e}"));
    let sandbox =
        block_on(Sandbox::open(MemoryStore::new(), scenario)).unwrap_or_else(|e| panic!("{e}"));
    block_on(sandbox.write().generate(300, 4, 0)).unwrap_or_else(|e| panic!("{e}"));
    let log = block_on(
        sandbox
            .write()
            .events(&ReadAll::from_position(1, usize::MAX)),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    (sandbox, log)
}

/// The projections the lab's consumers run: balances and deposits.
fn specs(domain: &Domain) -> Vec<ProjectionSpec> {
    domain
        .scenario()
        .projections
        .iter()
        .filter(|p| p.name == "balances" || p.name == "deposits")
        .cloned()
        .collect()
}

fn model(domain: &Rc<Domain>, strict: bool) -> ConsumerModel {
    ConsumerModel::open(Rc::clone(domain), &specs(domain), ":memory:", None, strict)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn answer(model: &mut ConsumerModel, sql: &str) -> Vec<Vec<Value>> {
    model
        .query(sql, &LIMITS)
        .unwrap_or_else(|e| panic!("{e}"))
        .rows
}

/// What a perfect consumer answers: every event once, in order.
fn perfect(domain: &Rc<Domain>, log: &[StoredEvent], sql: &str) -> Vec<Vec<Value>> {
    let mut model = model(domain, true);
    for event in log {
        model.apply(event, false).unwrap_or_else(|e| panic!("{e}"));
    }
    answer(&mut model, sql)
}

fn faulty_settings(seed: u64, duplicate: f64, inbox: bool) -> LabSettings {
    let mut settings = LabSettings {
        seed,
        inbox,
        ..LabSettings::default()
    };
    settings.group.max_retry_count = 50;
    settings.group.in_flight_limit = 20;
    settings.link.drop_percent = 10.0;
    settings.link.duplicate_percent = duplicate;
    settings.link.jitter_ms = 40.0;
    settings
}

#[test]
fn with_an_inbox_every_consumer_answers_like_the_log() {
    let (sandbox, log) = bank();
    let domain = Rc::new(
        Domain::compile(sandbox.domain().scenario().clone()).unwrap_or_else(|e| panic!("{e}")),
    );
    // The sandbox's own read model: the log's truth.
    block_on(sandbox.project(usize::MAX)).unwrap_or_else(|e| panic!("{e}"));
    let truth = sandbox
        .read_mut()
        .unwrap_or_else(|e| panic!("{e}"))
        .query(BALANCES, &LIMITS)
        .unwrap_or_else(|e| panic!("{e}"))
        .rows;
    assert_eq!(perfect(&domain, &log, BALANCES), truth);
    for kind in [SubscriptionKind::Persistent, SubscriptionKind::CatchUp] {
        let mut settings = faulty_settings(21, 30.0, true);
        settings.kind = kind;
        let mut run = lab_driver::Run::new(settings, log.clone(), |_| model(&domain, true));
        run.run(32, 10_000_000.0);
        let mut answers = Vec::new();
        for consumer in 0..2 {
            let node = run.nodes[consumer]
                .node
                .as_mut()
                .unwrap_or_else(|| panic!("no node"));
            let mut model = std::mem::replace(
                node,
                es_sandbox::consumers::ConsumerNode::new(
                    lab_driver::config(run.lab.settings()),
                    self::model(&domain, true),
                ),
            )
            .into_handler();
            assert_eq!(
                answer(&mut model, BALANCES),
                truth,
                "{kind:?} consumer {consumer}"
            );
            assert_eq!(
                answer(&mut model, DEPOSITS),
                perfect(&domain, &log, DEPOSITS)
            );
            assert_eq!(model.inbox_len().unwrap_or(0), log.len() as u64);
            answers.push(Answered::Rows(answer(&mut model, BALANCES)));
        }
        for verdict in judge(&run.lab.status(), &truth, &answers).consumers {
            assert_eq!(
                verdict.verdict,
                Verdict::Converged,
                "{kind:?}: {}",
                verdict.says
            );
        }
        // Repeated deliveries: a persistent node's inbox absorbs them; a catch-up node's
        // checkpoint turns them away before its inbox is asked.
        let status = run.lab.status();
        let turned_away = |c: &es_sandbox::consumers::ConsumerStatus| match kind {
            SubscriptionKind::Persistent => c.absorbed,
            SubscriptionKind::CatchUp => c.ignored,
        };
        assert!(
            status.consumers.iter().all(|c| turned_away(c) > 0),
            "{kind:?}: {status:?}"
        );
    }
}

#[test]
fn without_an_inbox_a_duplicated_deposit_is_counted_twice() {
    let (sandbox, log) = bank();
    let domain = Rc::new(
        Domain::compile(sandbox.domain().scenario().clone()).unwrap_or_else(|e| panic!("{e}")),
    );
    let truth = perfect(&domain, &log, DEPOSITS);
    let diverged = (1..40).find_map(|seed| {
        let mut run = lab_driver::Run::new(faulty_settings(seed, 20.0, false), log.clone(), |_| {
            model(&domain, true)
        });
        run.run(32, 10_000_000.0);
        let status = run.lab.status();
        let divergence = status.consumers[0].diverged.clone()?;
        let node = run.nodes[0].node.take()?;
        let mut model = node.into_handler();
        let deposits = answer(&mut model, DEPOSITS);
        let verdicts = judge(&status, &truth, &[Answered::Rows(deposits.clone())]);
        Some((divergence, deposits, verdicts.consumers[0].clone()))
    });
    let (divergence, deposits, verdict) =
        diverged.unwrap_or_else(|| panic!("no seed repeated a deposit"));
    assert!(divergence.says.contains("applied"), "{}", divergence.says);
    assert_ne!(
        deposits, truth,
        "{}: the deposits disagree with the log",
        divergence.says
    );
    // The verdict says which account, with both answers and the position the lab saw.
    assert_eq!(
        verdict.verdict,
        Verdict::Diverged {
            position: Some(divergence.position)
        }
    );
    assert!(
        verdict.says.starts_with("consumer A says acc-")
            && verdict.says.contains(", the log says acc-")
            && verdict.says.ends_with(&divergence.says),
        "{}",
        verdict.says
    );
}

#[test]
fn competing_consumers_in_turn_fail_a_deposit_before_its_opening_and_pinned_ones_do_not() {
    let (sandbox, log) = bank();
    let domain = Rc::new(
        Domain::compile(sandbox.domain().scenario().clone()).unwrap_or_else(|e| panic!("{e}")),
    );
    let run = |strategy| {
        let mut settings = LabSettings {
            topology: Topology::Competing,
            ..LabSettings::default()
        };
        settings.group.strategy = strategy;
        settings.group.max_retry_count = 2;
        let mut run = lab_driver::Run::new(settings, log.clone(), |_| model(&domain, true));
        run.run(32, 10_000_000.0);
        run.lab.status()
    };
    let round_robin = run(Strategy::RoundRobin);
    let failed: u64 = round_robin.consumers.iter().map(|c| c.failed).sum();
    assert!(failed > 0, "round robin: {round_robin:?}");
    let parked = round_robin.group.map(|g| g.parked).unwrap_or_default();
    assert!(
        parked.iter().all(|p| p.reason.contains("changed no row")),
        "{parked:?}"
    );
    let pinned = run(Strategy::Pinned);
    assert_eq!(pinned.consumers.iter().map(|c| c.failed).sum::<u64>(), 0);
    assert!(pinned.group.is_some_and(|g| g.parked.is_empty()));
}

#[test]
fn a_crashed_node_reopens_its_database_and_goes_on_from_its_checkpoint() {
    let (sandbox, log) = bank();
    let domain = Rc::new(
        Domain::compile(sandbox.domain().scenario().clone()).unwrap_or_else(|e| panic!("{e}")),
    );
    let dir = std::env::temp_dir().join(format!("es-sandbox-consumer-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("c0.db");
    let _ = std::fs::remove_file(&path);
    let path = path.to_string_lossy().to_string();
    let open = || {
        ConsumerModel::open(Rc::clone(&domain), &specs(&domain), &path, None, true)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let mut settings = LabSettings {
        kind: SubscriptionKind::CatchUp,
        consumers: 1,
        inbox: true,
        ..LabSettings::default()
    };
    settings.group.in_flight_limit = 10;
    let mut run = lab_driver::Run::new(settings, log.clone(), |_| open());
    run.run(8, 2_000.0);
    let before = run.handler(0).checkpoint();
    assert!(before > 0 && before < log.len() as u64, "{before}");
    run.lab
        .act(es_sandbox::consumers::Action::Crash {
            consumer: 0,
            point: CrashPoint::AfterWrite,
        })
        .unwrap_or_else(|e| panic!("{e}"));
    // The node is replaced by one that reopens the file: what it wrote is there.
    run.run(1, run.lab.now() + 200.0);
    if let Some(node) = run.nodes[0].node.take() {
        drop(node.into_handler());
    }
    run.replace_handler(0, open());
    assert!(run.handler(0).checkpoint() >= before);
    run.run(32, 10_000_000.0);
    let mut model = run.nodes[0]
        .node
        .take()
        .map(|n| n.into_handler())
        .unwrap_or_else(open);
    assert_eq!(
        answer(&mut model, BALANCES),
        perfect(&domain, &log, BALANCES)
    );
    assert_eq!(run.lab.status().consumers[0].diverged, None);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_batch_commits_together_and_each_event_in_it_is_all_or_nothing() {
    let (sandbox, log) = bank();
    let domain = Rc::new(
        Domain::compile(sandbox.domain().scenario().clone()).unwrap_or_else(|e| panic!("{e}")),
    );
    let dir = std::env::temp_dir().join(format!("es-sandbox-batch-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("batch.db").to_string_lossy().to_string();
    let _ = std::fs::remove_file(&path);
    let open = || {
        ConsumerModel::open(Rc::clone(&domain), &specs(&domain), &path, None, true)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let opening = log
        .iter()
        .position(|e| &*e.event_type == "Created")
        .unwrap_or_else(|| panic!("no Created"));
    let later = log
        .iter()
        .position(|e| &*e.event_type == "Deposited" && e.aggregate_id == log[opening].aggregate_id)
        .unwrap_or_else(|| panic!("no deposit"));
    let mut model = open();
    model.begin_batch().unwrap_or_else(|e| panic!("{e}"));
    // A deposit before its account's opening fails (strict) and leaves nothing; the opening
    // and the deposit after it land; the checkpoint too; all in one commit.
    assert!(model.apply(&log[later], true).is_err());
    model
        .apply(&log[opening], true)
        .unwrap_or_else(|e| panic!("{e}"));
    model
        .apply(&log[later], true)
        .unwrap_or_else(|e| panic!("{e}"));
    model.save_checkpoint(7).unwrap_or_else(|e| panic!("{e}"));
    model.commit_batch().unwrap_or_else(|e| panic!("{e}"));
    drop(model);
    let mut model = open();
    assert_eq!(model.inbox_len().unwrap_or(0), 2);
    assert_eq!(model.checkpoint(), 7);
    // A batch never committed (the node was gone before it answered) leaves nothing.
    model.begin_batch().unwrap_or_else(|e| panic!("{e}"));
    let third = log
        .iter()
        .position(|e| {
            e.aggregate_id == log[opening].aggregate_id && e.position > log[later].position
        })
        .unwrap_or_else(|| panic!("no third event"));
    model
        .apply(&log[third], true)
        .unwrap_or_else(|e| panic!("{e}"));
    model.save_checkpoint(9).unwrap_or_else(|e| panic!("{e}"));
    drop(model);
    let model = open();
    assert_eq!(model.inbox_len().unwrap_or(0), 2);
    assert_eq!(model.checkpoint(), 7);
    let _ = std::fs::remove_dir_all(&dir);
}
