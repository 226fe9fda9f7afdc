//! Given/when/then checks of every shipped scenario, and their walk-throughs on a real sandbox.
#![cfg(not(target_arch = "wasm32"))]

use es_sandbox::domain::Domain;
use es_sandbox::expected::ExpectedVersion;
use es_sandbox::replay::ReplayOptions;
use es_sandbox::scenario::{SHIPPED, shipped};
use es_sandbox::store::{EventStore, MemoryStore, ReadAll};
use es_sandbox::{CommandRequest, NewEvent};
use es_sandbox::{DomainError, ErrorKind, Sandbox, WriteSideError};
use futures::executor::block_on;
use serde_json::{Value, json};

const NOW: i64 = 1_800_000_000_000;

fn domain(name: &str) -> Domain {
    match shipped(name).and_then(Domain::compile) {
        Ok(domain) => domain,
        Err(e) => panic!("shipped scenario {name} does not compile: {e}"),
    }
}

fn sandbox(name: &str) -> Sandbox<MemoryStore> {
    let scenario = shipped(name).unwrap_or_else(|e| panic!("{e}"));
    block_on(Sandbox::open(MemoryStore::new(), scenario)).unwrap_or_else(|e| panic!("{e}"))
}

fn state_of(sandbox: &Sandbox<MemoryStore>, aggregate_id: &str) -> Value {
    block_on(
        sandbox
            .write()
            .replay(aggregate_id, &ReplayOptions::default()),
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .state
}

fn log(sandbox: &Sandbox<MemoryStore>) -> Vec<(String, u64, String, Value)> {
    block_on(sandbox.write().events(&ReadAll::from_position(1, 1000)))
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|e| {
            (
                e.aggregate_id.to_string(),
                e.version,
                e.event_type.to_string(),
                e.data.to_value(),
            )
        })
        .collect()
}

#[test]
fn every_shipped_scenario_compiles_and_seeds() {
    for name in SHIPPED {
        let sandbox = sandbox(name);
        assert!(!log(&sandbox).is_empty(), "{name} seeded nothing");
    }
}

// ---- bank ----

#[test]
fn bank_given_created_when_deduct_then_deducted() {
    let outcome = domain("bank")
        .given("acc-001", &[("Created", json!({"balance": 100}))])
        .when("Deduct", json!({"amount": 30}));
    outcome.then_expect_events(&[("Deducted", json!({"amount": 30}))]);
    outcome.then_expect_state(json!({"open": true, "balance": 70}));
}

#[test]
fn bank_given_history_when_deposit_then_deposited() {
    let outcome = domain("bank")
        .given(
            "acc-001",
            &[
                ("Created", json!({"balance": 100})),
                ("Deducted", json!({"amount": 30})),
            ],
        )
        .when("Deposit", json!({"amount": 50}));
    outcome.then_expect_events(&[("Deposited", json!({"amount": 50}))]);
    outcome.then_expect_state(json!({"open": true, "balance": 120}));
}

#[test]
fn bank_overdraw_is_a_business_rejection() {
    let bank = domain("bank");
    let outcome = bank
        .given("acc-001", &[("Created", json!({"balance": 20}))])
        .when("Deduct", json!({"amount": 30}));
    outcome.then_expect_rejection("insufficient funds: balance 20, asked 30");
}

#[test]
fn bank_command_rules_table() {
    let bank = domain("bank");
    type Row = (
        Vec<(&'static str, Value)>,
        &'static str,
        Value,
        &'static str,
    );
    // (given, command, payload, expected rejection)
    let table: Vec<Row> = vec![
        (
            vec![],
            "Deposit",
            json!({"amount": 5}),
            "no such account: create it first",
        ),
        (
            vec![("Created", json!({"balance": 1}))],
            "Create",
            json!({"balance": 5}),
            "the account already exists",
        ),
        (
            vec![("Created", json!({"balance": 1}))],
            "Deposit",
            json!({"amount": -5}),
            "amount must be positive, got -5",
        ),
        (
            vec![],
            "Create",
            json!({"balance": -1}),
            "opening balance must be 0 or more, got -1",
        ),
    ];
    for (given, command, payload, rejection) in table {
        let outcome = bank.given("acc-001", &given).when(command, payload.clone());
        outcome.then_expect_rejection(rejection);
    }
}

#[test]
fn bank_walk_through_is_100_minus_30_plus_50() {
    let bank = sandbox("bank");
    assert_eq!(
        log(&bank),
        vec![
            (
                "acc-001".into(),
                1,
                "Created".into(),
                json!({"balance": 100})
            ),
            (
                "acc-001".into(),
                2,
                "Deducted".into(),
                json!({"amount": 30})
            ),
            (
                "acc-001".into(),
                3,
                "Deposited".into(),
                json!({"amount": 50})
            ),
        ]
    );
    let replay = block_on(bank.write().replay(
        "acc-001",
        &ReplayOptions {
            trace: true,
            ..Default::default()
        },
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(replay.state["balance"], json!(120));
    assert_eq!(replay.version, 3);
    assert_eq!(replay.events_replayed, 3);
    let balances: Vec<Value> = replay
        .trace
        .map(|t| {
            t.steps
                .into_iter()
                .map(|s| s.state["balance"].clone())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(balances, vec![json!(100), json!(70), json!(120)]);
    for (version, balance) in [(0, 0), (1, 100), (2, 70), (3, 120)] {
        let at = block_on(bank.write().replay(
            "acc-001",
            &ReplayOptions {
                version: Some(version),
                ..Default::default()
            },
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(at.state["balance"], json!(balance), "at version {version}");
    }
}

#[test]
fn bank_rejected_overdraw_appends_nothing() {
    let bank = sandbox("bank");
    let before = log(&bank);
    let result = block_on(bank.write().execute(
        CommandRequest::new("acc-001", "Deduct", json!({"amount": 500})),
        NOW,
    ));
    match result {
        Err(WriteSideError::Domain(e @ DomainError::Rejected { .. })) => {
            assert_eq!(e.kind(), ErrorKind::BusinessRule);
            assert_eq!(
                e.to_string(),
                "Deduct on acc-001 was rejected: insufficient funds: balance 120, asked 500"
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(log(&bank), before);
    assert_eq!(state_of(&bank, "acc-001")["balance"], json!(120));
}

#[test]
fn bank_command_appends_and_returns_the_new_state() {
    let bank = sandbox("bank");
    let committed = block_on(bank.write().execute(
        CommandRequest::new("acc-001", "Deduct", json!({"amount": 20})),
        NOW,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(committed.version, 4);
    assert_eq!(committed.state["balance"], json!(100));
    assert_eq!(committed.events.len(), 1);
    assert_eq!(committed.events[0].position, 4);
    assert_eq!(committed.events[0].metadata.timestamp, NOW);
    assert_eq!(state_of(&bank, "acc-001")["balance"], json!(100));
}

#[test]
fn a_stale_expected_version_on_a_command_is_a_conflict() {
    let bank = sandbox("bank");
    let mut request = CommandRequest::new("acc-001", "Deposit", json!({"amount": 1}));
    request.options.expected = Some(ExpectedVersion::Exact(2));
    match block_on(bank.write().execute(request, NOW)) {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Conflict);
            assert_eq!(
                e.to_string(),
                "concurrency conflict on acc-001: expected version 2, actual version 3"
            );
        }
        Ok(c) => panic!("expected a conflict, got {c:?}"),
    }
}

#[test]
fn raw_appends_are_checked_against_the_rules() {
    let bank = sandbox("bank");
    let before = log(&bank);
    let data =
        |v: Value| es_sandbox::event::EventData::from_value(v).unwrap_or_else(|e| panic!("{e}"));
    let cases: Vec<(&str, Vec<NewEvent>, ErrorKind, &str)> = vec![
        (
            "acc-001",
            vec![NewEvent::new("Exploded", data(json!({})))],
            ErrorKind::BadInput,
            "account rules cannot apply events of type \"Exploded\"",
        ),
        (
            "xyz-1",
            vec![NewEvent::new("Created", data(json!({"balance": 1})))],
            ErrorKind::BadInput,
            "ids start with acc-",
        ),
        (
            "acc-001",
            vec![
                NewEvent::new("Deposited", data(json!({"amount": 1}))),
                NewEvent::new("Deposited", data(json!({"amuont": 1}))),
            ],
            ErrorKind::BadInput,
            "Deposited (schema version 1), event 2 of the batch: `amount` must be integer (required), found nothing",
        ),
    ];
    for (aggregate, events, kind, message) in cases {
        match block_on(
            bank.write()
                .append(aggregate, ExpectedVersion::Any, events, NOW),
        ) {
            Err(e) => {
                assert_eq!(e.kind(), kind, "{e}");
                assert!(e.to_string().contains(message), "{e}");
            }
            Ok(c) => panic!("expected an error, got {c:?}"),
        }
    }
    assert_eq!(log(&bank), before);
    let committed = block_on(bank.write().append(
        "acc-001",
        ExpectedVersion::Exact(3),
        vec![NewEvent::new("Deducted", data(json!({"amount": 500})))],
        NOW,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    // Raw events bypass command rules: facts are facts, even an overdraft.
    assert_eq!(committed.state["balance"], json!(-380));
}

#[test]
fn raw_append_conflict_says_expected_and_actual() {
    let bank = sandbox("bank");
    let event = NewEvent::new(
        "Deposited",
        es_sandbox::event::EventData::from_value(json!({"amount": 1}))
            .unwrap_or_else(|e| panic!("{e}")),
    );
    match block_on(
        bank.write()
            .append("acc-001", ExpectedVersion::Exact(5), vec![event], NOW),
    ) {
        Err(e) => assert_eq!(
            e.to_string(),
            "concurrency conflict on acc-001: expected version 5, actual version 3"
        ),
        Ok(c) => panic!("expected a conflict, got {c:?}"),
    }
}

#[test]
fn opening_a_seeded_store_again_does_not_seed_twice() {
    let store = MemoryStore::new();
    let scenario = shipped("bank").unwrap_or_else(|e| panic!("{e}"));
    let first = block_on(Sandbox::open(store, scenario.clone())).unwrap_or_else(|e| panic!("{e}"));
    // Seeding again (as a second tab that saw an empty store would) stores nothing new.
    for (aggregate_id, events) in
        es_sandbox::write_side::plan_seed(first.domain()).unwrap_or_else(|e| panic!("{e}"))
    {
        let outcome = block_on(
            first
                .store()
                .append(&aggregate_id, ExpectedVersion::Any, events),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(outcome.already_stored);
    }
    assert_eq!(log(&first).len(), 3);
}

// ---- orders ----

#[test]
fn orders_failed_payment_is_compensated_with_new_events() {
    let outcome = domain("orders")
        .given(
            "ord-1",
            &[
                (
                    "OrderPlaced",
                    json!({"items": [{"sku": "mug", "qty": 1, "price": 8}], "total": 8}),
                ),
                (
                    "StockReserved",
                    json!({"items": [{"sku": "mug", "qty": 1, "price": 8}]}),
                ),
            ],
        )
        .when(
            "RecordPayment",
            json!({"approved": false, "reason": "card declined"}),
        );
    outcome.then_expect_events(&[
        ("PaymentFailed", json!({"reason": "card declined"})),
        (
            "StockReleased",
            json!({"items": [{"sku": "mug", "qty": 1, "price": 8}]}),
        ),
        ("OrderCancelled", json!({"reason": "payment failed"})),
    ]);
    let state = match outcome.result() {
        Ok(decision) => decision.state.clone(),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(state["status"], json!("cancelled"));
    assert_eq!(state["reserved"], json!(false));
}

#[test]
fn orders_seed_keeps_the_whole_history_of_the_cancelled_order() {
    let orders = sandbox("orders");
    let types: Vec<String> = log(&orders)
        .into_iter()
        .filter(|(aggregate, ..)| aggregate == "ord-1002")
        .map(|(_, _, t, _)| t)
        .collect();
    assert_eq!(
        types,
        [
            "OrderPlaced",
            "StockReserved",
            "PaymentFailed",
            "StockReleased",
            "OrderCancelled"
        ]
    );
    assert_eq!(state_of(&orders, "ord-1002")["status"], json!("cancelled"));
    assert_eq!(state_of(&orders, "ord-1001")["status"], json!("shipped"));
    assert_eq!(
        state_of(&orders, "ord-1001")["total"],
        json!(2100),
        "in cents"
    );
}

#[test]
fn orders_cannot_ship_before_payment() {
    let outcome = domain("orders")
        .given(
            "ord-1",
            &[("OrderPlaced", json!({"items": [], "total": 0}))],
        )
        .when("Ship", json!({"carrier": "PostNL"}));
    outcome.then_expect_rejection("cannot ship an order that is placed");
}

#[test]
fn an_order_never_placed_is_named_as_such_not_as_status_none() {
    for (command, payload) in [
        ("ReserveStock", json!({})),
        ("RecordPayment", json!({"approved": true})),
        ("Ship", json!({"carrier": "DHL"})),
    ] {
        domain("orders")
            .given("ord-9", &[])
            .when(command, payload)
            .then_expect_rejection("there is no such order: place it first");
    }
}

// ---- users ----

#[test]
fn users_v1_registration_is_read_as_v2() {
    let state = domain("users")
        .given("usr-1", &[])
        .and_stored((
            "UserRegistered",
            Some(1),
            json!({"name": "Grace Brewster Hopper", "email": "g@example.org"}),
        ))
        .state()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(state["first_name"], json!("Grace"));
    assert_eq!(state["last_name"], json!("Brewster Hopper"));
}

#[test]
fn users_register_writes_v2_and_seed_keeps_v1_bytes() {
    let users = sandbox("users");
    let events = block_on(users.write().events(&ReadAll::from_position(1, 100)))
        .unwrap_or_else(|e| panic!("{e}"));
    let v1 = &events[0];
    assert_eq!((v1.schema_version, &*v1.event_type), (1, "UserRegistered"));
    assert_eq!(
        v1.data.as_json(),
        r#"{"email":"ada@example.org","name":"Ada Lovelace"}"#
    );
    let registered = events
        .iter()
        .find(|e| &*e.aggregate_id == "usr-003")
        .unwrap_or_else(|| panic!("usr-003 missing"));
    assert_eq!(registered.schema_version, 2);
    let ada = state_of(&users, "usr-001");
    assert_eq!(
        (
            ada["first_name"].clone(),
            ada["last_name"].clone(),
            ada["email"].clone()
        ),
        (
            json!("Ada"),
            json!("Lovelace"),
            json!("ada@analytical.engine")
        )
    );
}

#[test]
fn users_register_validates_email() {
    let outcome = domain("users").given("usr-9", &[]).when(
        "Register",
        json!({"first_name": "A", "last_name": "B", "email": "nope"}),
    );
    outcome.then_expect_rejection("not an email address: nope");
}

#[test]
fn bank_time_travel_and_what_if() {
    let bank = sandbox("bank");
    let at = |options: ReplayOptions| {
        block_on(bank.write().replay("acc-001", &options)).unwrap_or_else(|e| panic!("{e}"))
    };
    // Seed times: Created 09:00, Deducted 10:00, Deposited 11:00 (2026-01-05, UTC).
    let ten_thirty = 1_767_609_000_000;
    let replay = at(ReplayOptions {
        time: Some(ten_thirty),
        ..Default::default()
    });
    assert_eq!(
        (replay.version, replay.state["balance"].clone()),
        (2, json!(70))
    );
    let before = at(ReplayOptions {
        time: Some(0),
        ..Default::default()
    });
    assert_eq!(
        (before.version, before.state["balance"].clone()),
        (0, json!(0))
    );

    let events = block_on(bank.write().events(&ReadAll::from_position(1, 10)))
        .unwrap_or_else(|e| panic!("{e}"));
    let deducted = events[1].event_id;
    let what_if = at(ReplayOptions {
        exclude: vec![deducted],
        trace: true,
        ..Default::default()
    });
    assert_eq!(what_if.state["balance"], json!(150));
    assert_eq!(what_if.excluded_versions, vec![2]);
    assert_eq!(what_if.events_replayed, 2);
    let steps: Vec<(u64, bool, Value)> = what_if
        .trace
        .map(|t| {
            t.steps
                .into_iter()
                .map(|s| (s.version, s.excluded, s.state["balance"].clone()))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        steps,
        vec![
            (1, false, json!(100)),
            (2, true, json!(100)),
            (3, false, json!(150))
        ]
    );

    let both = block_on(bank.write().replay(
        "acc-001",
        &ReplayOptions {
            version: Some(1),
            time: Some(1),
            ..Default::default()
        },
    ));
    assert!(matches!(
        both,
        Err(WriteSideError::Domain(DomainError::BadInput { .. }))
    ));
    let beyond = block_on(bank.write().replay(
        "acc-001",
        &ReplayOptions {
            version: Some(4),
            ..Default::default()
        },
    ));
    assert_eq!(
        beyond.map_err(|e| e.to_string()),
        Err("acc-001 has 3 versions; there is no version 4".to_string())
    );
}
