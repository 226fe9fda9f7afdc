//! The promises a learner tests first, each reproduced with odd but plausible input: retries are
//! idempotent whatever changed since, events and payloads have shapes, money is whole numbers,
//! and one bad event cannot wreck a read model for good.
#![cfg(not(target_arch = "wasm32"))]

use es_sandbox::event::EventData;
use es_sandbox::read_side::{ProjectorState, QueryLimits};
use es_sandbox::{
    CommandRequest, DomainError, ErrorKind, EventId, ExpectedVersion, MemoryStore, NewEvent,
    ReadAll, Sandbox, SandboxError, WriteSideError, shipped,
};
use futures::executor::block_on;
use proptest::prelude::*;
use serde_json::{Value, json};

const NOW: i64 = 1_800_000_000_000;

fn sandbox(name: &str) -> Sandbox<MemoryStore> {
    let scenario = shipped(name).unwrap_or_else(|e| panic!("{e}"));
    block_on(Sandbox::open(MemoryStore::new(), scenario)).unwrap_or_else(|e| panic!("{e}"))
}

fn data(value: Value) -> EventData {
    EventData::from_value(value).unwrap_or_else(|e| panic!("{e}"))
}

fn execute(
    sandbox: &Sandbox<MemoryStore>,
    aggregate: &str,
    command: &str,
    payload: Value,
) -> Result<es_sandbox::Committed, SandboxError> {
    block_on(
        sandbox
            .write()
            .execute(CommandRequest::new(aggregate, command, payload), NOW),
    )
    .map_err(SandboxError::from)
}

fn head(sandbox: &Sandbox<MemoryStore>) -> u64 {
    block_on(sandbox.write().events(&ReadAll::from_position(1, 100_000)))
        .map(|e| e.len() as u64)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn event_id(n: u8) -> EventId {
    EventId::from_bytes([n; 16])
}

#[test]
fn a_retry_with_the_original_now_stale_expected_version_returns_the_originals() {
    let bank = sandbox("bank");
    let batch = || {
        let mut event = NewEvent::new("Deposited", data(json!({"amount": 2})));
        event.event_id = Some(event_id(7));
        event.timestamp = Some(NOW);
        vec![event]
    };
    let first = block_on(
        bank.write()
            .append("acc-001", ExpectedVersion::Exact(3), batch(), NOW),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let again = block_on(
        bank.write()
            .append("acc-001", ExpectedVersion::Exact(3), batch(), NOW),
    )
    .unwrap_or_else(|e| panic!("the exact same call again: {e}"));
    assert!(again.already_stored);
    assert_eq!(again.events, first.events);
    assert_eq!(head(&bank), 4, "nothing was written twice");
}

#[test]
fn a_command_retried_with_its_event_ids_returns_the_originals_whatever_changed_since() {
    let bank = sandbox("bank");
    let deduct = |amount: i64, timestamp: i64, expected: Option<ExpectedVersion>| {
        let mut request = CommandRequest::new("acc-001", "Deduct", json!({ "amount": amount }));
        request.options.event_ids = vec![event_id(9)];
        request.options.timestamp = Some(timestamp);
        request.options.expected = expected;
        block_on(bank.write().execute(request, NOW))
    };
    let first = deduct(100, NOW, Some(ExpectedVersion::Exact(3))).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.state["balance"], json!(20));
    // Since then the balance fell to 0, so the handler would now refuse; the retry also comes
    // with another timestamp and a stale expected version.
    execute(&bank, "acc-001", "Deduct", json!({"amount": 20})).unwrap_or_else(|e| panic!("{e}"));
    let retry = deduct(100, NOW + 60_000, Some(ExpectedVersion::Exact(3)))
        .unwrap_or_else(|e| panic!("the retry: {e}"));
    assert!(retry.already_stored);
    assert_eq!(retry.events, first.events, "the originally stored events");
    assert_eq!(
        retry.state["balance"],
        json!(0),
        "and the aggregate as it is now"
    );
    assert_eq!(head(&bank), 5);
}

#[test]
fn raw_events_are_checked_against_their_declared_shapes() {
    let bank = sandbox("bank");
    // (data, field, expected, found)
    let table = [
        (
            json!({"amount": "five"}),
            "amount",
            "integer",
            "a string \"five\"",
        ),
        (
            json!({"amount": 0.5}),
            "amount",
            "a whole number within ±9007199254740991 (integer)",
            "the number 0.5",
        ),
        (json!({}), "amount", "integer (required)", "nothing"),
        (
            json!({"amount": 5, "memo": "x"}),
            "memo",
            "absent (the fields are amount)",
            "a string \"x\"",
        ),
        (
            json!({"amount": 9007199254740993u64}),
            "amount",
            "a number JavaScript holds exactly (within ±9007199254740991)",
            "9007199254740993",
        ),
    ];
    for (value, field, expected, found) in table {
        let event = NewEvent::new("Deposited", data(value.clone()));
        match block_on(
            bank.write()
                .append("acc-001", ExpectedVersion::Any, vec![event], NOW),
        ) {
            Err(WriteSideError::Domain(e @ DomainError::Shape { .. })) => {
                assert_eq!(e.kind(), ErrorKind::BadInput);
                let DomainError::Shape {
                    what,
                    field: f,
                    expected: x,
                    found: g,
                } = e
                else {
                    unreachable!()
                };
                assert_eq!(
                    (what.as_str(), f.as_str(), x.as_str(), g.as_str()),
                    ("Deposited (schema version 1)", field, expected, found),
                    "{value}"
                );
            }
            other => panic!("{value}: expected a shape error, got {other:?}"),
        }
    }
    assert_eq!(head(&bank), 3, "nothing was stored");
}

#[test]
fn command_payloads_are_checked_before_any_script_runs() {
    let bank = sandbox("bank");
    let users = sandbox("users");
    // (sandbox, aggregate, command, payload, the message)
    let table: Vec<(&Sandbox<MemoryStore>, &str, &str, Value, &str)> = vec![
        (
            &bank,
            "acc-9",
            "Create",
            json!(42),
            "the payload of Create: must be { balance?: integer }, found the number 42",
        ),
        (
            &bank,
            "acc-9",
            "Create",
            json!([]),
            "the payload of Create: must be { balance?: integer }, found an array",
        ),
        (
            &bank,
            "acc-9",
            "Create",
            json!("hello"),
            "the payload of Create: must be { balance?: integer }, found a string \"hello\"",
        ),
        (
            &bank,
            "acc-9",
            "Create",
            Value::Null,
            "the payload of Create: must be { balance?: integer }, found null",
        ),
        (
            &bank,
            "acc-001",
            "Deposit",
            json!({"amount": 0.1}),
            "the payload of Deposit: `amount` must be a whole number within ±9007199254740991 (integer), found the number 0.1",
        ),
        (
            &bank,
            "acc-001",
            "Deduct",
            json!({"amount": "150.3"}),
            "the payload of Deduct: `amount` must be integer, found a string \"150.3\"",
        ),
        (
            &users,
            "usr-9",
            "Register",
            json!({"first_name": null, "last_name": "B", "email": "b@x"}),
            "the payload of Register: `first_name` must be string, found null",
        ),
        (
            &users,
            "usr-9",
            "Register",
            json!({"last_name": "B", "email": "b@x"}),
            "the payload of Register: `first_name` must be string (required), found nothing",
        ),
    ];
    for (sandbox, aggregate, command, payload, message) in table {
        match execute(sandbox, aggregate, command, payload.clone()) {
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::BadInput, "{payload}: {e}");
                assert_eq!(e.to_string(), message, "{payload}");
            }
            Ok(c) => panic!("{command} {payload}: accepted, {c:?}"),
        }
    }
}

#[test]
fn money_stays_whole_and_a_fraction_cannot_sneak_past_a_comparison() {
    let bank = sandbox("bank");
    for amount in [json!(0.1), json!(0.2)] {
        assert!(execute(&bank, "acc-001", "Deposit", json!({ "amount": amount })).is_err());
    }
    let refused = execute(&bank, "acc-001", "Deduct", json!({"amount": 150.3}));
    assert!(refused.is_err_and(|e| e.kind() == ErrorKind::BadInput));
    let balance = block_on(bank.write().replay("acc-001", &Default::default()))
        .unwrap_or_else(|e| panic!("{e}"))
        .state["balance"]
        .clone();
    assert_eq!(balance, json!(120));
    // Orders count in cents: whole numbers too.
    let orders = sandbox("orders");
    let place = json!({"items": [{"sku": "mug", "qty": 1, "price": 7.99}]});
    assert!(
        execute(&orders, "ord-9", "Place", place).is_err_and(|e| e.kind() == ErrorKind::BadInput)
    );
}

#[test]
fn the_query_box_gives_integers_javascript_cannot_hold_as_exact_text() {
    let bank = sandbox("bank");
    let limits = QueryLimits {
        max_rows: 10,
        time_limit_ms: 1e9,
        clock: || 0.0,
    };
    let answer = bank
        .read_mut()
        .unwrap_or_else(|e| panic!("{e}"))
        .query(
            "SELECT 9223372036854775807 AS big, 9007199254740991 AS safe, -9007199254740993 AS low",
            &limits,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        answer.rows,
        vec![vec![
            json!("9223372036854775807"),
            json!(9007199254740991i64),
            json!("-9007199254740993")
        ]]
    );
}

#[test]
fn a_second_created_for_an_account_does_not_break_the_balances() {
    let bank = sandbox("bank");
    let created = NewEvent::new("Created", data(json!({"balance": 7})));
    block_on(
        bank.write()
            .append("acc-001", ExpectedVersion::Any, vec![created], NOW),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    while block_on(bank.project(1_000))
        .map(|p| p.applied)
        .unwrap_or(0)
        > 0
    {}
    assert!(
        bank.read()
            .unwrap_or_else(|e| panic!("{e}"))
            .status()
            .iter()
            .all(|p| p.state == ProjectorState::Running)
    );
    let limits = QueryLimits {
        max_rows: 10,
        time_limit_ms: 1e9,
        clock: || 0.0,
    };
    let rows = bank
        .read_mut()
        .unwrap_or_else(|e| panic!("{e}"))
        .query(
            "SELECT balance FROM balances WHERE account = 'acc-001'",
            &limits,
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .rows;
    assert_eq!(rows, vec![vec![json!(7)]]);
}

#[test]
fn an_event_a_projection_cannot_apply_can_be_parked_and_the_projection_moves_on() {
    let mut bank = shipped("bank").unwrap_or_else(|e| panic!("{e}"));
    // A strict projection of its own: a second Created for an account breaks it.
    bank.projections.push(
        serde_json::from_value(json!({
            "name": "openings",
            "setup": "CREATE TABLE openings (account TEXT PRIMARY KEY, balance INTEGER NOT NULL)",
            "on": { "Created": "INSERT INTO openings VALUES (:aggregate_id, :balance)" }
        }))
        .unwrap_or_else(|e| panic!("{e}")),
    );
    let sandbox =
        block_on(Sandbox::open(MemoryStore::new(), bank)).unwrap_or_else(|e| panic!("{e}"));
    let created = NewEvent::new("Created", data(json!({"balance": 7})));
    block_on(
        sandbox
            .write()
            .append("acc-001", ExpectedVersion::Any, vec![created], NOW),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    execute(&sandbox, "acc-001", "Deposit", json!({"amount": 1})).unwrap_or_else(|e| panic!("{e}"));
    let project = || {
        while block_on(sandbox.project(1_000))
            .map(|p| p.applied)
            .unwrap_or(0)
            > 0
        {}
    };
    project();
    let openings = || {
        sandbox
            .read()
            .unwrap_or_else(|e| panic!("{e}"))
            .status()
            .into_iter()
            .find(|p| p.name == "openings")
    };
    match openings().map(|p| (p.checkpoint, p.state)) {
        Some((
            3,
            ProjectorState::Failed {
                at_position: 4,
                message,
            },
        )) => {
            assert!(
                message.contains("UNIQUE constraint failed: openings.account"),
                "{message}"
            );
        }
        other => panic!("expected openings failed at position 4, got {other:?}"),
    }
    // Resuming meets the same event again.
    sandbox
        .read_mut()
        .unwrap_or_else(|e| panic!("{e}"))
        .resume("openings")
        .unwrap_or_else(|e| panic!("{e}"));
    project();
    assert!(matches!(
        openings().map(|p| p.state),
        Some(ProjectorState::Failed { .. })
    ));
    // Parked: the event is set aside, with the error, and the projection moves on.
    block_on(sandbox.skip("openings")).unwrap_or_else(|e| panic!("{e}"));
    project();
    assert_eq!(
        openings().map(|p| (p.checkpoint, p.state)),
        Some((5, ProjectorState::Running))
    );
    let limits = QueryLimits {
        max_rows: 10,
        time_limit_ms: 1e9,
        clock: || 0.0,
    };
    let parked = sandbox
        .read_mut()
        .unwrap_or_else(|e| panic!("{e}"))
        .query(
            "SELECT projection, position, type, error FROM parked_events",
            &limits,
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .rows;
    assert_eq!(parked.len(), 1);
    assert_eq!(
        parked[0][..3],
        [json!("openings"), json!(4), json!("Created")]
    );
    assert!(
        parked[0][3]
            .as_str()
            .is_some_and(|e| e.contains("UNIQUE constraint failed"))
    );
    // Only a failed projection has an event to park.
    assert!(block_on(sandbox.skip("balances")).is_err());
}

#[test]
fn a_store_remembers_its_scenario_and_is_not_opened_under_another_by_accident() {
    use es_sandbox::OnOtherScenario::{Refuse, UseGiven, UseStored};
    let bank = sandbox("bank");
    let scenario = |name: &str| shipped(name).unwrap_or_else(|e| panic!("{e}"));
    let store = bank.into_store();
    let refused = block_on(Sandbox::open_as(store, scenario("orders"), Refuse));
    let Err(error) = refused else {
        panic!("the bank's store opened under the orders rules")
    };
    assert_eq!(error.kind(), ErrorKind::OtherScenario);
    assert_eq!(
        error.to_string(),
        "this store holds events of scenario bank, not orders: open it with bank (onOtherScenario: \"useStored\"), or with orders anyway (\"useGiven\")"
    );
    // A refused open consumes the store: each choice gets a fresh bank store.
    let bank_store = || sandbox("bank").into_store();
    let stored = block_on(Sandbox::open_as(
        bank_store(),
        scenario("orders"),
        UseStored,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored.domain().scenario().name, "bank");
    let given = block_on(Sandbox::open_as(bank_store(), scenario("orders"), UseGiven))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(given.domain().scenario().name, "orders");
    // From then on the store remembers orders.
    let again = block_on(Sandbox::open(given.into_store(), scenario("orders")));
    assert!(again.is_ok());
}

/// Commands a user could send to a shipped scenario, valid by its shapes.
fn valid_command() -> impl Strategy<Value = (&'static str, String, &'static str, Value)> {
    let account = (1u8..4).prop_map(|n| format!("acc-{n}"));
    let order = (1u8..4).prop_map(|n| format!("ord-{n}"));
    let user = (1u8..4).prop_map(|n| format!("usr-{n}"));
    let name = "[A-Za-z ]{0,8}";
    prop_oneof![
        (account.clone(), 0i64..500).prop_map(|(id, n)| (
            "bank",
            id,
            "Create",
            json!({ "balance": n })
        )),
        (account.clone(), -5i64..500).prop_map(|(id, n)| (
            "bank",
            id,
            "Deposit",
            json!({ "amount": n })
        )),
        (account, -5i64..500).prop_map(|(id, n)| ("bank", id, "Deduct", json!({ "amount": n }))),
        (
            order.clone(),
            prop::collection::vec(("[a-z]{0,5}", -1i64..4, -1i64..900), 0..3)
        )
            .prop_map(|(id, items)| {
                let items: Vec<Value> = items
                    .into_iter()
                    .map(|(sku, qty, price)| json!({"sku": sku, "qty": qty, "price": price}))
                    .collect();
                ("orders", id, "Place", json!({ "items": items }))
            }),
        order
            .clone()
            .prop_map(|id| ("orders", id, "ReserveStock", json!({}))),
        (order.clone(), any::<bool>()).prop_map(|(id, approved)| (
            "orders",
            id,
            "RecordPayment",
            json!({ "approved": approved })
        )),
        order.prop_map(|id| ("orders", id, "Ship", json!({ "carrier": "PostNL" }))),
        (user.clone(), name, name, "[a-z@.]{0,8}").prop_map(|(id, first, last, email)| {
            (
                "users",
                id,
                "Register",
                json!({ "first_name": first, "last_name": last, "email": email }),
            )
        }),
        (user.clone(), "[a-z@.]{0,8}").prop_map(|(id, email)| (
            "users",
            id,
            "ChangeEmail",
            json!({ "email": email })
        )),
        user.prop_map(|id| ("users", id, "Deactivate", json!({}))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever valid commands the shipped scenarios accept, their projections apply every event
    /// those commands store: no projection of a shipped scenario ever fails.
    #[test]
    fn shipped_projections_apply_everything_their_rules_can_produce(
        commands in prop::collection::vec(valid_command(), 1..40),
    ) {
        for name in ["bank", "orders", "users"] {
            let sandbox = sandbox(name);
            for (scenario, aggregate, command, payload) in &commands {
                if *scenario == name {
                    // Business refusals are fine; anything else is not.
                    if let Err(e) = execute(&sandbox, aggregate, command, payload.clone()) {
                        prop_assert_eq!(e.kind(), ErrorKind::BusinessRule, "{}", e);
                    }
                }
            }
            while block_on(sandbox.project(1_000)).map(|p| p.applied).unwrap_or(0) > 0 {}
            for status in sandbox.read().unwrap_or_else(|e| panic!("{e}")).status() {
                prop_assert_eq!(&status.state, &ProjectorState::Running, "{}: {:?}", name, status);
            }
        }
    }
}
