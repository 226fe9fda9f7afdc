//! What the teaching page asks of the core: generated logs, time travel by position, changes per
//! step, snapshot markers and their staleness, replay costs, state series, storage sizes, an
//! upcast beside its stored bytes, and a CRUD row that forgets. Given/when/then, natively.
#![cfg(not(target_arch = "wasm32"))]

use es_sandbox::diff::ChangeKind;
use es_sandbox::{CommandRequest, MemoryStore, ReadAll, ReplayOptions, Sandbox, Scenario, shipped};
use futures::executor::block_on;
use serde_json::{Value, json};

fn ok<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

fn scenario(name: &str, interval: u64) -> Scenario {
    let mut scenario = ok(shipped(name));
    scenario.snapshot_interval = interval;
    scenario
}

fn open(scenario: Scenario) -> Sandbox<MemoryStore> {
    ok(block_on(Sandbox::open(MemoryStore::new(), scenario)))
}

fn run(sandbox: &Sandbox<MemoryStore>, id: &str, command: &str, payload: Value) {
    ok(block_on(
        sandbox
            .write()
            .execute(CommandRequest::new(id, command, payload), 0),
    ));
}

/// Every event's type and data, in log order: what "the same log" means here.
fn log(sandbox: &Sandbox<MemoryStore>) -> Vec<(String, String, Value)> {
    ok(block_on(
        sandbox
            .write()
            .events(&ReadAll::from_position(1, usize::MAX)),
    ))
    .into_iter()
    .map(|e| {
        (
            e.aggregate_id.to_string(),
            e.event_type.to_string(),
            e.data.to_value(),
        )
    })
    .collect()
}

#[test]
fn given_the_same_seed_generation_writes_the_same_commands_and_another_seed_others() {
    for name in ["bank", "orders", "users"] {
        let (one, two, three) = (
            open(scenario(name, 100)),
            open(scenario(name, 100)),
            open(scenario(name, 100)),
        );
        let generated = ok(block_on(one.write().generate(300, 42, 1_000)));
        ok(block_on(two.write().generate(300, 42, 1_000)));
        ok(block_on(three.write().generate(300, 43, 1_000)));
        assert_eq!(generated.commands, 300, "{name}: {generated:?}");
        assert!(generated.events >= 300, "{name}: {generated:?}");
        assert_eq!(log(&one), log(&two), "{name}: same seed, same log");
        assert_ne!(log(&one), log(&three), "{name}: another seed, another log");
        // Every generated event was decided by the rules: a replay of each aggregate folds.
        for stream in ok(block_on(one.write().streams())) {
            ok(block_on(
                one.write()
                    .replay(&stream.aggregate_id, &ReplayOptions::default()),
            ));
        }
    }
}

#[test]
fn generation_takes_the_snapshots_appends_one_by_one_would_take() {
    let sandbox = open(scenario("bank", 50));
    ok(block_on(sandbox.write().generate(2_000, 7, 0)));
    for stream in ok(block_on(sandbox.write().streams())) {
        let versions: Vec<u64> = ok(block_on(sandbox.write().snapshots(&stream.aggregate_id)))
            .iter()
            .map(|s| s.version)
            .collect();
        // Bank commands decide one event each: a snapshot lands on every 50th version.
        let due: Vec<u64> = (50..=stream.version).step_by(50).collect();
        assert_eq!(
            versions, due,
            "{} at v{}",
            stream.aggregate_id, stream.version
        );
        let replay = ok(block_on(
            sandbox
                .write()
                .replay(&stream.aggregate_id, &ReplayOptions::default()),
        ));
        assert!(replay.events_replayed < 50, "{replay:?}");
    }
}

#[test]
fn generation_refuses_more_than_its_limit_and_writes_nothing() {
    let sandbox = open(scenario("bank", 100));
    let before = log(&sandbox);
    let refused = block_on(sandbox.write().generate(1_000_000, 1, 0));
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(log(&sandbox), before);
}

#[test]
fn given_a_log_when_replaying_as_of_a_position_then_later_events_are_the_future() {
    let sandbox = open(scenario("bank", 100));
    // The seed is acc-001: Created 100 (1), Deducted 30 (2), Deposited 50 (3).
    run(&sandbox, "acc-002", "Create", json!({"balance": 5}));
    run(&sandbox, "acc-001", "Deposit", json!({"amount": 1}));
    let as_of = |position| {
        ok(block_on(sandbox.write().replay(
            "acc-001",
            &ReplayOptions {
                position: Some(position),
                ..ReplayOptions::default()
            },
        )))
    };
    let table = [
        (0, 0, json!(0)),
        (1, 1, json!(100)),
        (2, 2, json!(70)),
        (4, 3, json!(120)),
        (5, 4, json!(121)),
    ];
    for (position, version, balance) in table {
        let replay = as_of(position);
        assert_eq!(
            (replay.version, replay.state["balance"].clone()),
            (version, balance),
            "as of position {position}"
        );
    }
    let both = block_on(sandbox.write().replay(
        "acc-001",
        &ReplayOptions {
            position: Some(2),
            version: Some(1),
            ..ReplayOptions::default()
        },
    ));
    assert!(both.is_err(), "a position and a version at once is refused");
}

#[test]
fn each_traced_step_names_the_fields_it_changed_and_how() {
    let sandbox = open(scenario("bank", 100));
    let replay = ok(block_on(sandbox.write().replay(
        "acc-001",
        &ReplayOptions {
            trace: true,
            ..ReplayOptions::default()
        },
    )));
    let steps = replay.trace.map(|t| t.steps).unwrap_or_default();
    let kinds: Vec<Vec<(String, ChangeKind)>> = steps
        .iter()
        .map(|s| {
            s.changes
                .iter()
                .map(|c| (c.field.clone(), c.kind))
                .collect()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            vec![
                ("balance".to_string(), ChangeKind::Increased),
                ("open".to_string(), ChangeKind::Changed)
            ],
            vec![("balance".to_string(), ChangeKind::Decreased)],
            vec![("balance".to_string(), ChangeKind::Increased)],
        ]
    );
}

#[test]
fn a_replay_from_a_snapshot_traces_only_the_tail_and_names_the_snapshot() {
    let sandbox = open(scenario("bank", 10));
    for _ in 0..12 {
        run(&sandbox, "acc-001", "Deposit", json!({"amount": 1}));
    }
    let replay = ok(block_on(sandbox.write().replay(
        "acc-001",
        &ReplayOptions {
            trace: true,
            ..ReplayOptions::default()
        },
    )));
    let trace = replay.trace.clone().unwrap_or_else(|| panic!("no trace"));
    assert_eq!(replay.from_snapshot, Some(10));
    assert_eq!(trace.initial_state["balance"], json!(127));
    assert_eq!(
        trace.steps.iter().map(|s| s.version).collect::<Vec<_>>(),
        [11, 12, 13, 14, 15]
    );
}

#[test]
fn snapshot_markers_are_placed_in_the_log_and_go_stale_when_the_rules_change() {
    let mut bank = scenario("bank", 2);
    let sandbox = open(bank.clone());
    run(&sandbox, "acc-001", "Deposit", json!({"amount": 1}));
    let markers = ok(block_on(sandbox.write().snapshot_markers()));
    let placed: Vec<(String, u64, Option<u64>, bool)> = markers
        .iter()
        .map(|m| {
            (
                m.aggregate_id.clone(),
                m.version,
                m.position,
                m.stale.is_none(),
            )
        })
        .collect();
    assert_eq!(placed, [("acc-001".to_string(), 4, Some(4), true)]);
    assert!(markers.iter().all(|m| m.bytes > 0));

    // Rules that fold deposits twice: the old snapshot no longer matches them.
    let rules = bank.aggregates[0].rules.to_source();
    bank.aggregates[0].rules = es_sandbox::scenario::ScriptText::Text(rules.replace(
        "state.balance += data.amount;",
        "state.balance += 2 * data.amount;",
    ));
    let store = sandbox.into_store();
    let edited = ok(block_on(Sandbox::open_as(
        store,
        bank,
        es_sandbox::OnOtherScenario::UseGiven,
    )));
    let markers = ok(block_on(edited.write().snapshot_markers()));
    let stale = markers.first().and_then(|m| m.stale.clone());
    assert!(
        stale.as_ref().is_some_and(|s| s.message.contains("rules")),
        "{markers:?}"
    );
    let replay = ok(block_on(
        edited.write().replay("acc-001", &ReplayOptions::default()),
    ));
    assert_eq!(
        (
            replay.from_snapshot,
            replay.state["balance"].clone(),
            replay.skipped_snapshots.len()
        ),
        (None, json!(172), 1),
        "100 - 30 + 2×50 + 2×1, the stale snapshot skipped"
    );
}

#[test]
fn replay_costs_climb_by_one_per_version_and_drop_to_nothing_at_each_snapshot() {
    let sandbox = open(scenario("bank", 5));
    for _ in 0..9 {
        run(&sandbox, "acc-001", "Deposit", json!({"amount": 1}));
    }
    let costs = ok(block_on(sandbox.write().replay_costs("acc-001")));
    assert_eq!(costs.versions, 12);
    assert_eq!(costs.snapshots, [5, 10]);
    assert_eq!(
        costs.with_snapshots,
        [(0, 0), (4, 4), (5, 0), (9, 4), (10, 0), (12, 2)]
    );
}

#[test]
fn a_state_series_follows_the_numbers_over_versions() {
    let sandbox = open(scenario("bank", 100));
    let series = ok(block_on(sandbox.write().state_series("acc-001")));
    assert_eq!(series.fields, ["balance"]);
    let points: Vec<(u64, Option<f64>)> = series
        .points
        .iter()
        .map(|p| (p.version, p.values[0]))
        .collect();
    assert_eq!(
        points,
        [(1, Some(100.0)), (2, Some(70.0)), (3, Some(120.0))]
    );

    for _ in 0..1_200 {
        run(&sandbox, "acc-001", "Deposit", json!({"amount": 1}));
    }
    let series = ok(block_on(sandbox.write().state_series("acc-001")));
    assert!(series.points.len() <= 500, "{}", series.points.len());
    assert_eq!(
        series.points.last().map(|p| (p.version, p.values[0])),
        Some((1_203, Some(1_320.0)))
    );
}

#[test]
fn storage_counts_events_and_snapshots_per_aggregate_the_largest_first() {
    let sandbox = open(scenario("bank", 4));
    run(&sandbox, "acc-002", "Create", json!({"balance": 1}));
    run(&sandbox, "acc-001", "Deposit", json!({"amount": 1}));
    let storage = ok(block_on(sandbox.write().storage()));
    assert_eq!((storage.events, storage.snapshots), (5, 1));
    let per: Vec<(String, u64, usize)> = storage
        .aggregates
        .iter()
        .map(|a| (a.aggregate_id.clone(), a.events, a.snapshots))
        .collect();
    assert_eq!(
        per,
        [("acc-001".to_string(), 4, 1), ("acc-002".to_string(), 1, 0)]
    );
    assert_eq!(
        storage.bytes,
        storage.aggregates.iter().map(|a| a.bytes).sum::<usize>()
    );
    assert!(storage.snapshot_bytes > 0);
}

#[test]
fn storage_measured_again_after_appends_equals_measuring_every_event_afresh() {
    let sandbox = open(scenario("bank", 4));
    let first = ok(block_on(sandbox.write().storage()));
    run(&sandbox, "acc-002", "Create", json!({ "balance": 1 }));
    for amount in 1..=5 {
        run(&sandbox, "acc-001", "Deposit", json!({ "amount": amount }));
        run(&sandbox, "acc-002", "Deposit", json!({ "amount": amount }));
    }
    let again = ok(block_on(sandbox.write().storage()));

    let events = ok(block_on(
        sandbox.write().events(&ReadAll::from_position(1, 1_000)),
    ));
    let afresh = |id: &str| -> usize {
        events
            .iter()
            .filter(|e| &*e.aggregate_id == id)
            .map(|e| serde_json::to_string(e).map_or(0, |t| t.len()))
            .sum()
    };
    let bytes = |id: &str| {
        again
            .aggregates
            .iter()
            .find(|a| a.aggregate_id == id)
            .map(|a| a.bytes)
    };
    assert!(again.bytes > first.bytes);
    assert_eq!(bytes("acc-001"), Some(afresh("acc-001")));
    assert_eq!(bytes("acc-002"), Some(afresh("acc-002")));
}

#[test]
fn an_old_event_is_shown_as_stored_and_as_upcast_with_its_upcaster() {
    let sandbox = open(scenario("users", 100));
    let events = ok(block_on(
        sandbox.write().events(&ReadAll::from_position(1, 100)),
    ));
    let old = events
        .iter()
        .find(|e| e.schema_version == 1)
        .unwrap_or_else(|| panic!("the users seed has a v1 event"));
    let view = ok(block_on(sandbox.write().upcast_view(old.event_id)));
    assert_eq!(view.stored, *old, "the stored bytes are untouched");
    let upcast = view.upcast.unwrap_or_else(|| panic!("{:?}", view.error));
    assert!(upcast.schema_version > old.schema_version);
    assert_ne!(upcast.data.to_value(), old.data.to_value());
    assert_eq!(view.upcasters.len(), 1);
    assert_eq!(view.upcasters[0].from_version, 1);
}

#[test]
fn counting_and_skipping_page_through_a_filtered_log() {
    let sandbox = open(scenario("bank", 100));
    for n in 0..30 {
        run(&sandbox, "acc-001", "Deposit", json!({"amount": n + 1}));
    }
    let deposits = ReadAll {
        event_types: vec!["Deposited".into()],
        ..ReadAll::from_position(1, 10)
    };
    assert_eq!(ok(block_on(sandbox.write().count(&deposits))), 31);
    let page = |skip| {
        ok(block_on(sandbox.write().events(&ReadAll {
            skip,
            ..deposits.clone()
        })))
        .iter()
        .map(|e| e.position)
        .collect::<Vec<_>>()
    };
    assert_eq!(page(0).len(), 10);
    assert_eq!(page(30), [33]);
    assert_eq!(page(10).first().copied(), page(0).last().map(|p| p + 1));
}

#[test]
fn a_crud_row_keeps_only_the_last_state() {
    let bank = scenario("bank", 100);
    let domain = ok(es_sandbox::Domain::compile(bank));
    let account = domain
        .aggregate_type_of("acc-9")
        .unwrap_or_else(|| panic!("acc- is an account"));
    let mut row = None;
    for (command, payload) in [
        ("Create", json!({"balance": 100})),
        ("Deduct", json!({"amount": 30})),
    ] {
        row = Some(ok(es_sandbox::aggregate::apply_to_state(
            &domain,
            account,
            row.as_ref(),
            "acc-9",
            command,
            &payload,
        )));
    }
    assert_eq!(row, Some(json!({"open": true, "balance": 70})));
    let refused = es_sandbox::aggregate::apply_to_state(
        &domain,
        account,
        row.as_ref(),
        "acc-9",
        "Deduct",
        &json!({"amount": 500}),
    );
    assert!(refused.is_err(), "the same rules refuse in CRUD too");
}
