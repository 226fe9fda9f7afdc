//! Projections into SQLite: checkpoints, eventual consistency, exactly-once across a crash,
//! rebuild = incremental, upcasting on the way in, read-only queries, time limits, what-if.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::{Cell, RefMut};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use es_sandbox::expected::ExpectedVersion;
use es_sandbox::read_side::{
    ProjectorState, QueryError, QueryLimits, QueryResult, ReadModel, query_copy,
};
use es_sandbox::scenario::{SHIPPED, Scenario, shipped};
use es_sandbox::store::{EventStore, MemoryStore, ReadAll};
use es_sandbox::{CommandRequest, NewEvent};
use es_sandbox::{ErrorKind, Sandbox, SandboxError};
use futures::executor::block_on;
use proptest::prelude::*;
use serde_json::{Value, json};

/// A clock for tests that moves one millisecond each time it is read: deterministic.
fn ticking_clock() -> f64 {
    static NOW: AtomicU64 = AtomicU64::new(0);
    NOW.fetch_add(1, Ordering::Relaxed) as f64
}

const LIMITS: QueryLimits = QueryLimits {
    max_rows: 1000,
    time_limit_ms: 1_000_000.0,
    clock: ticking_clock,
};

fn open(scenario: Scenario) -> Sandbox<MemoryStore> {
    let sandbox =
        block_on(Sandbox::open(MemoryStore::new(), scenario)).unwrap_or_else(|e| panic!("{e}"));
    project_all(&sandbox);
    sandbox
}

fn bank() -> Sandbox<MemoryStore> {
    open(shipped("bank").unwrap_or_else(|e| panic!("{e}")))
}

fn project_all(sandbox: &Sandbox<MemoryStore>) {
    while block_on(sandbox.project(10_000))
        .unwrap_or_else(|e| panic!("{e}"))
        .applied
        > 0
    {}
}

/// The sandbox's read model (a shipped scenario's is set up on first use).
fn model(sandbox: &Sandbox<MemoryStore>) -> RefMut<'_, ReadModel> {
    sandbox.read_mut().unwrap_or_else(|e| panic!("{e}"))
}

fn query(sandbox: &Sandbox<MemoryStore>, sql: &str) -> QueryResult {
    model(sandbox)
        .query(sql, &LIMITS)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn rows(sandbox: &Sandbox<MemoryStore>, sql: &str) -> Vec<Vec<Value>> {
    query(sandbox, sql).rows
}

fn execute(sandbox: &Sandbox<MemoryStore>, aggregate: &str, command: &str, payload: Value) {
    block_on(sandbox.write().execute(
        CommandRequest::new(aggregate, command, payload),
        1_800_000_000_000,
    ))
    .unwrap_or_else(|e| panic!("{command}: {e}"));
}

/// acc-001's balance in the `balances` projection.
fn balance(sandbox: &Sandbox<MemoryStore>) -> i64 {
    let rows = rows(
        sandbox,
        "SELECT balance FROM balances WHERE account = 'acc-001'",
    );
    match rows.as_slice() {
        [row] => row[0]
            .as_i64()
            .unwrap_or_else(|| panic!("balance is {:?}", row[0])),
        _ => panic!("acc-001 has {} rows in balances", rows.len()),
    }
}

fn checkpoint(sandbox: &Sandbox<MemoryStore>, name: &str) -> (u64, ProjectorState) {
    let status = model(sandbox).status().into_iter().find(|p| p.name == name);
    let status = status.unwrap_or_else(|| panic!("no projection {name}"));
    (status.checkpoint, status.state)
}

#[test]
fn the_bank_read_model_answers_the_suggested_query() {
    let bank = bank();
    assert_eq!(
        rows(
            &bank,
            "SELECT account, balance FROM balances WHERE balance > 50"
        ),
        vec![vec![json!("acc-001"), json!(120)]]
    );
    assert_eq!(
        rows(&bank, "SELECT kind, amount FROM ledger ORDER BY position"),
        vec![
            vec![json!("opening"), json!(100)],
            vec![json!("deduction"), json!(-30)],
            vec![json!("deposit"), json!(50)],
        ]
    );
    // The log itself, and where each projection is.
    assert_eq!(
        rows(
            &bank,
            "SELECT position, type, data FROM events ORDER BY position"
        ),
        vec![
            vec![json!(1), json!("Created"), json!(r#"{"balance":100}"#)],
            vec![json!(2), json!("Deducted"), json!(r#"{"amount":30}"#)],
            vec![json!(3), json!("Deposited"), json!(r#"{"amount":50}"#)],
        ]
    );
    assert_eq!(
        rows(
            &bank,
            "SELECT projection, position FROM projection_checkpoints ORDER BY projection"
        ),
        vec![
            vec![json!("balances"), json!(3)],
            vec![json!("deposits"), json!(3)],
            vec![json!("events"), json!(3)],
            vec![json!("ledger"), json!(3)],
        ]
    );
}

#[test]
fn every_shipped_scenario_projects_and_answers_its_suggested_queries() {
    for name in es_sandbox::scenario::SHIPPED {
        let scenario = shipped(name).unwrap_or_else(|e| panic!("{e}"));
        let queries = scenario.queries.clone();
        let sandbox = open(scenario);
        for status in model(&sandbox).status() {
            assert_eq!(status.state, ProjectorState::Running, "{name}: {status:?}");
        }
        for suggested in queries {
            let result = query(&sandbox, &suggested.sql);
            assert!(
                result.total_rows > 0,
                "{name}: {} returned nothing",
                suggested.title
            );
        }
    }
}

#[test]
fn orders_compensation_nets_reserved_stock_to_zero() {
    let orders = open(shipped("orders").unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(
        rows(
            &orders,
            "SELECT order_id, status, stock_reserved FROM orders ORDER BY order_id"
        ),
        vec![
            vec![json!("ord-1001"), json!("shipped"), json!(1)],
            vec![json!("ord-1002"), json!("cancelled"), json!(0)],
        ]
    );
    assert_eq!(
        rows(
            &orders,
            "SELECT sku, sum(quantity) FROM stock_movements WHERE order_id = 'ord-1002' GROUP BY sku"
        ),
        vec![vec![json!("teapot"), json!(0)]]
    );
}

#[test]
fn version_1_events_arrive_upcast_while_the_events_table_keeps_the_stored_bytes() {
    let users = open(shipped("users").unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(
        rows(
            &users,
            "SELECT first_name, last_name, email FROM users WHERE user_id = 'usr-002'"
        ),
        vec![vec![
            json!("Grace"),
            json!("Brewster Hopper"),
            json!("grace@example.org")
        ]]
    );
    assert_eq!(
        rows(
            &users,
            "SELECT schema_version, data FROM events WHERE aggregate_id = 'usr-002'"
        ),
        vec![vec![
            json!(1),
            json!(r#"{"email":"grace@example.org","name":"Grace Brewster Hopper"}"#)
        ]]
    );
}

#[test]
fn a_paused_projection_is_stale_until_it_catches_up() {
    let bank = bank();
    model(&bank)
        .pause("balances")
        .unwrap_or_else(|e| panic!("{e}"));
    execute(&bank, "acc-001", "Deposit", json!({"amount": 5}));
    project_all(&bank);
    // The ledger followed; balances did not: its checkpoint says where it stopped.
    assert_eq!(checkpoint(&bank, "balances"), (3, ProjectorState::Paused));
    assert_eq!(checkpoint(&bank, "ledger").0, 4);
    assert_eq!(balance(&bank), 120);
    model(&bank)
        .resume("balances")
        .unwrap_or_else(|e| panic!("{e}"));
    project_all(&bank);
    assert_eq!(checkpoint(&bank, "balances"), (4, ProjectorState::Running));
    assert_eq!(balance(&bank), 125);
}

#[test]
fn a_crash_mid_batch_applies_nothing_of_it_and_the_restart_applies_each_event_once() {
    let bank = bank();
    model(&bank)
        .crash_next("balances", 1)
        .unwrap_or_else(|e| panic!("{e}"));
    execute(&bank, "acc-001", "Deposit", json!({"amount": 5}));
    execute(&bank, "acc-001", "Deposit", json!({"amount": 7}));
    project_all(&bank);
    // It applied the first deposit, then crashed before committing: the deposit's update was
    // rolled back with the checkpoint.
    assert_eq!(
        checkpoint(&bank, "balances"),
        (3, ProjectorState::Crashed { at_position: 4 })
    );
    assert_eq!(balance(&bank), 120);
    model(&bank)
        .resume("balances")
        .unwrap_or_else(|e| panic!("{e}"));
    project_all(&bank);
    assert_eq!(checkpoint(&bank, "balances"), (5, ProjectorState::Running));
    assert_eq!(balance(&bank), 132);
}

#[test]
fn the_events_mirror_loses_a_crashed_round_of_many_rows_and_then_holds_the_whole_log() {
    let bank = bank();
    let deposits = (0..150)
        .map(|i| {
            let data = es_sandbox::event::EventData::from_value(json!({"amount": i}));
            NewEvent::new("Deposited", data.unwrap_or_else(|e| panic!("{e}")))
        })
        .collect();
    block_on(
        bank.write()
            .append("acc-001", ExpectedVersion::Exact(3), deposits, 0),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    model(&bank)
        .crash_next("events", 100)
        .unwrap_or_else(|e| panic!("{e}"));
    project_all(&bank);
    assert_eq!(
        checkpoint(&bank, "events"),
        (3, ProjectorState::Crashed { at_position: 103 })
    );
    assert_eq!(
        rows(&bank, "SELECT count(*) FROM events"),
        vec![vec![json!(3)]]
    );
    model(&bank)
        .resume("events")
        .unwrap_or_else(|e| panic!("{e}"));
    project_all(&bank);
    assert_eq!(
        rows(
            &bank,
            "SELECT count(*), min(position), max(position), sum(json_extract(data, '$.amount')) FROM events WHERE type = 'Deposited'"
        ),
        vec![vec![
            json!(151),
            json!(3),
            json!(153),
            json!(50 + (0..150).sum::<i64>())
        ]]
    );
}

#[test]
fn a_statement_that_fails_stops_only_its_projection_and_names_the_event() {
    let mut scenario = shipped("bank").unwrap_or_else(|e| panic!("{e}"));
    scenario.projections.push(
        serde_json::from_value(json!({
            "name": "typo",
            "setup": "CREATE TABLE typo (account TEXT, amount INTEGER)",
            "on": { "Deposited": "INSERT INTO typo VALUES (:aggregate_id, :amout)" }
        }))
        .unwrap_or_else(|e| panic!("{e}")),
    );
    let bank = open(scenario);
    match checkpoint(&bank, "typo") {
        (
            2,
            ProjectorState::Failed {
                at_position: 3,
                message,
            },
        ) => {
            assert!(message.contains("no data field `amout`"), "{message}");
            assert!(message.contains("Deposited"), "{message}");
        }
        other => panic!("expected a failure at position 3, got {other:?}"),
    }
    assert_eq!(checkpoint(&bank, "balances"), (3, ProjectorState::Running));
}

#[test]
fn projection_definitions_are_checked_when_the_sandbox_opens() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"name": "p", "setup": "CREATE TABL p (x)", "on": {}}),
            "syntax error",
        ),
        (
            json!({"name": "p", "setup": "CREATE TABLE p (x)", "on": {"Deposited": "INSERT INTO nowhere VALUES (:amount)"}}),
            "no such table",
        ),
        (
            json!({"name": "p", "setup": "CREATE TABLE p (x)", "on": {"Deposited": "INSERT INTO p VALUES (?)"}}),
            "use :field names",
        ),
        (
            json!({"name": "p", "setup": "CREATE TABLE p (x)", "on": {"Exploded": "INSERT INTO p VALUES (1)"}}),
            "would never run",
        ),
        (
            json!({"name": "Bad Name", "setup": "CREATE TABLE p (x)", "on": {}}),
            "lower-case SQL name",
        ),
        (
            json!({"name": "events", "setup": "CREATE TABLE p (x)", "on": {}}),
            "reserved",
        ),
    ];
    for (projection, message) in cases {
        let mut scenario = shipped("bank").unwrap_or_else(|e| panic!("{e}"));
        scenario.projections =
            vec![serde_json::from_value(projection.clone()).unwrap_or_else(|e| panic!("{e}"))];
        match block_on(Sandbox::open(MemoryStore::new(), scenario)) {
            Err(e) => assert!(e.to_string().contains(message), "{e} should say {message}"),
            Ok(_) => panic!("{projection} should be refused"),
        }
    }
}

/// A shipped scenario's projections are known to set up, so its read model opens on first use
/// (a page draws its log before SQLite is set up); this test is what vouches for them. Changed
/// projections under a shipped name are checked at open (the table above: its scenarios are
/// named `bank`).
#[test]
fn a_shipped_scenarios_read_model_opens_on_first_use_and_says_so_once() {
    for name in SHIPPED {
        let scenario = shipped(name).unwrap_or_else(|e| panic!("{e}"));
        let projections: Vec<String> = scenario
            .projections
            .iter()
            .map(|p| p.name.clone())
            .collect();
        let sandbox =
            block_on(Sandbox::open(MemoryStore::new(), scenario)).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !sandbox.read_model_open(),
            "{name}: opened with the sandbox"
        );
        let told = Rc::new(Cell::new(0));
        let counter = Rc::clone(&told);
        sandbox.when_read_model_opens(move || counter.set(counter.get() + 1));
        assert_eq!(told.get(), 0, "{name}: told before it opened");
        let status = sandbox
            .read()
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .status();
        for projection in &projections {
            assert!(
                status.iter().any(|s| &s.name == projection),
                "{name}: no {projection}"
            );
        }
        assert!(sandbox.read_model_open());
        project_all(&sandbox);
        assert_eq!(told.get(), 1, "{name}: told once, when it opened");
        let head = block_on(sandbox.store().head_position()).unwrap_or_else(|e| panic!("{e}"));
        let checkpoints = model(&sandbox).status();
        assert!(head > 0, "{name}: no seed");
        assert!(
            checkpoints.iter().all(|s| s.checkpoint == head),
            "{name}: the seed was not projected: {checkpoints:?}"
        );
    }
}

#[test]
fn a_scenario_of_its_own_opens_its_read_model_with_the_sandbox() {
    let mut scenario = shipped("bank").unwrap_or_else(|e| panic!("{e}"));
    scenario.name = "my-bank".into();
    let sandbox =
        block_on(Sandbox::open(MemoryStore::new(), scenario)).unwrap_or_else(|e| panic!("{e}"));
    assert!(sandbox.read_model_open());
    let told = Rc::new(Cell::new(false));
    let flag = Rc::clone(&told);
    sandbox.when_read_model_opens(move || flag.set(true));
    assert!(told.get(), "an open read model is told at once");
}

#[test]
fn the_query_box_refuses_anything_that_would_write() {
    let bank = bank();
    let before = rows(&bank, "SELECT * FROM balances");
    let refused = [
        "INSERT INTO balances VALUES ('x', 1, 0)",
        "REPLACE INTO balances VALUES ('acc-001', 0, 0)",
        "UPDATE balances SET balance = 0",
        "DELETE FROM balances",
        "DROP TABLE balances",
        "CREATE TABLE t (x)",
        "CREATE TEMP TABLE t (x)",
        "CREATE VIEW v AS SELECT 1",
        "ALTER TABLE balances ADD COLUMN y",
        "ATTACH DATABASE ':memory:' AS other",
        "DETACH DATABASE main",
        "PRAGMA user_version = 5",
        "PRAGMA writable_schema = 1",
        "PRAGMA journal_mode",
        "BEGIN",
        "SAVEPOINT s",
        "VACUUM",
        "REINDEX",
        "ANALYZE",
        "WITH x AS (SELECT 1) DELETE FROM balances",
        "SELECT 1; DELETE FROM balances",
        "SELECT 1; SELECT 2",
    ];
    for sql in refused {
        match model(&bank).query(sql, &LIMITS) {
            Err(QueryError::Refused { reason }) => {
                assert!(!reason.is_empty(), "{sql}");
            }
            other => panic!("{sql}: expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(rows(&bank, "SELECT * FROM balances"), before);
    for sql in [
        "SELECT count(*) FROM ledger",
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 10) SELECT sum(x) FROM n",
        "SELECT json_extract(data, '$.amount') FROM events WHERE type = 'Deposited'",
        "EXPLAIN QUERY PLAN SELECT * FROM balances WHERE account = 'acc-001'",
    ] {
        assert!(model(&bank).query(sql, &LIMITS).is_ok(), "{sql} should run");
    }
}

#[test]
fn sql_errors_are_reported_as_sqlite_reports_them() {
    let bank = bank();
    let table = [
        ("SELEC 1", "near \"SELEC\": syntax error"),
        ("SELECT nope FROM balances", "no such column: nope"),
        ("SELECT * FROM nowhere", "no such table: nowhere"),
    ];
    for (sql, message) in table {
        match model(&bank).query(sql, &LIMITS) {
            Err(e @ QueryError::Sql { .. }) => {
                assert_eq!(e.to_string(), message);
                assert_eq!(SandboxError::from(e).kind(), ErrorKind::Query);
            }
            other => panic!("{sql}: expected an SQL error, got {other:?}"),
        }
    }
    assert!(matches!(
        model(&bank).query("  ", &LIMITS),
        Err(QueryError::Empty)
    ));
}

#[test]
fn a_runaway_query_is_interrupted_at_its_time_limit() {
    let bank = bank();
    let limits = QueryLimits {
        time_limit_ms: 50.0,
        ..LIMITS
    };
    let runaway = "WITH RECURSIVE forever(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM forever) SELECT count(*) FROM forever";
    match model(&bank).query(runaway, &limits) {
        Err(e @ QueryError::Interrupted { limit_ms: 50 }) => {
            assert!(e.to_string().contains("ran too long"), "{e}");
        }
        other => panic!("expected an interruption, got {other:?}"),
    }
    // The limit applies to that query only: the next one runs.
    assert_eq!(
        rows(&bank, "SELECT count(*) FROM balances"),
        vec![vec![json!(1)]]
    );
}

#[test]
fn results_are_capped_and_counted() {
    let bank = bank();
    let limits = QueryLimits {
        max_rows: 10,
        ..LIMITS
    };
    let result = model(&bank)
        .query("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1000) SELECT x FROM n", &limits)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((result.rows.len(), result.total_rows), (10, 1000));
    assert_eq!(result.columns, vec!["x".to_string()]);
}

#[test]
fn pragmas_that_describe_the_schema_run_in_the_query_box() {
    let bank = bank();
    let columns =
        |sql| -> Vec<Value> { rows(&bank, sql).into_iter().map(|r| r[1].clone()).collect() };
    assert_eq!(
        columns("PRAGMA table_info(balances)"),
        columns("SELECT * FROM pragma_table_info('balances')")
    );
    assert!(columns("PRAGMA table_info(balances)").contains(&json!("balance")));
    assert!(!rows(&bank, "pragma TABLE_LIST").is_empty());
    assert!(rows(&bank, "PRAGMA index_list(balances)").len() < 100);
}

#[test]
fn a_value_past_the_length_limit_fails_and_a_large_answer_is_capped_by_size() {
    let bank = bank();
    match model(&bank).query("SELECT zeroblob(500000000)", &LIMITS) {
        Err(QueryError::Sql { message }) => assert!(message.contains("too big"), "{message}"),
        other => panic!("expected SQLite's too big, got {other:?}"),
    }
    // Ten cells of 6 MB of text: the answer stops at its size cap and counts the rest.
    let big = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 10) \
               SELECT x, printf('%.*c', 6000000, 'a') FROM n";
    let result = query(&bank, big);
    assert!(result.size_capped);
    assert_eq!((result.rows.len(), result.total_rows), (5, 10));
    // The limit is the query box's only: the next query is back to no cap.
    assert!(!query(&bank, "SELECT 1").size_capped);
}

#[test]
fn a_changed_definition_is_detected_and_applied_by_a_rebuild() {
    let bank = bank();
    let mut specs = bank.domain().scenario().projections.clone();
    specs[0].setup = es_sandbox::scenario::SqlStatements::One(
        "CREATE TABLE balances (account TEXT PRIMARY KEY, balance INTEGER NOT NULL, updated_at INTEGER NOT NULL, rich INTEGER)".into(),
    );
    specs[0].on.insert(
        "Deposited".into(),
        es_sandbox::scenario::SqlStatements::One(
            "UPDATE balances SET balance = balance + :amount, rich = balance + :amount > 100, updated_at = :timestamp WHERE account = :aggregate_id".into(),
        ),
    );
    model(&bank)
        .redefine(&specs)
        .unwrap_or_else(|e| panic!("{e}"));
    let status = model(&bank)
        .status()
        .into_iter()
        .find(|p| p.name == "balances");
    let status = status.unwrap_or_else(|| panic!("balances is gone"));
    assert!(status.stale);
    assert_eq!(status.state, ProjectorState::Paused);
    assert!(
        model(&bank).resume("balances").is_err(),
        "a stale projection must be rebuilt"
    );
    model(&bank)
        .rebuild("balances")
        .unwrap_or_else(|e| panic!("{e}"));
    project_all(&bank);
    assert_eq!(
        rows(&bank, "SELECT balance, rich FROM balances"),
        vec![vec![json!(120), json!(1)]]
    );
    assert!(!model(&bank).status().iter().any(|p| p.stale));
}

#[test]
fn a_removed_projection_is_dropped_and_a_new_one_projects_from_the_start() {
    let bank = bank();
    let mut specs = bank.domain().scenario().projections.clone();
    specs.retain(|spec| spec.name != "ledger" && spec.name != "deposits");
    specs.push(
        serde_json::from_value(json!({
            "name": "incoming",
            "setup": "CREATE TABLE incoming (account TEXT, amount INTEGER)",
            "on": { "Deposited": "INSERT INTO incoming VALUES (:aggregate_id, :amount)" }
        }))
        .unwrap_or_else(|e| panic!("{e}")),
    );
    model(&bank)
        .redefine(&specs)
        .unwrap_or_else(|e| panic!("{e}"));
    project_all(&bank);
    let names: Vec<String> = model(&bank).status().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["events", "balances", "incoming"]);
    assert!(matches!(
        model(&bank).query("SELECT * FROM ledger", &LIMITS),
        Err(QueryError::Sql { message }) if message == "no such table: ledger"
    ));
    assert_eq!(
        rows(
            &bank,
            "SELECT * FROM projection_checkpoints WHERE projection = 'ledger'"
        ),
        Vec::<Vec<Value>>::new()
    );
    assert_eq!(
        rows(&bank, "SELECT account, amount FROM incoming"),
        vec![vec![json!("acc-001"), json!(50)]]
    );
}

#[test]
fn a_copy_of_the_read_model_answers_like_it_and_stays_read_only() {
    let bank = bank();
    let bytes = model(&bank).to_bytes().unwrap_or_else(|e| panic!("{e}"));
    let sql = "SELECT account, balance FROM balances WHERE balance > 50";
    let copy = query_copy(&bytes, sql, &LIMITS).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(copy, query(&bank, sql));
    assert!(matches!(
        query_copy(&bytes, "DELETE FROM balances", &LIMITS),
        Err(QueryError::Refused { .. })
    ));
    let runaway =
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n";
    let limits = QueryLimits {
        time_limit_ms: 50.0,
        ..LIMITS
    };
    assert!(matches!(
        query_copy(&bytes, runaway, &limits),
        Err(QueryError::Interrupted { limit_ms: 50 })
    ));
    // What-if copies leave the events out; damaged bytes are an error, not a panic.
    let events = block_on(bank.write().events(&ReadAll::from_position(1, 10)))
        .unwrap_or_else(|e| panic!("{e}"));
    let what_if = block_on(bank.what_if(&[events[1].event_id]))
        .and_then(|mut model| Ok(model.to_bytes()?))
        .unwrap_or_else(|e: SandboxError| panic!("{e}"));
    let answer = query_copy(&what_if, "SELECT balance FROM balances", &LIMITS)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer.rows, vec![vec![json!(150)]]);
    for damaged in [&b""[..], b"not a database", &bytes[..bytes.len() / 2]] {
        assert!(
            query_copy(damaged, sql, &LIMITS).is_err(),
            "{} bytes",
            damaged.len()
        );
    }
}

#[test]
fn what_if_queries_use_a_separate_read_model() {
    let bank = bank();
    let events = block_on(bank.write().events(&ReadAll::from_position(1, 10)))
        .unwrap_or_else(|e| panic!("{e}"));
    let deducted = events[1].event_id;
    let what_if = block_on(bank.what_if(&[deducted]))
        .and_then(|mut model| Ok(model.query("SELECT balance FROM balances", &LIMITS)?))
        .unwrap_or_else(|e: SandboxError| panic!("{e}"));
    assert_eq!(what_if.rows, vec![vec![json!(150)]]);
    assert_eq!(balance(&bank), 120);
    assert_eq!(
        rows(&bank, "SELECT count(*) FROM events"),
        vec![vec![json!(3)]]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Projecting in random chunks, with crashes along the way, ends with the same tables as a
    /// rebuild from position 0, and the `events` mirror holds the log.
    #[test]
    fn rebuild_equals_incremental(
        steps in prop::collection::vec((0usize..4, 1i64..40, any::<bool>(), 0usize..4), 1..160),
    ) {
        let bank = bank();
        for (n, (account, amount, deposit, disturbance)) in steps.iter().enumerate() {
            let id = format!("acc-{account}");
            let event = if block_on(bank.store_version(&id)) == 0 {
                NewEvent::new("Created", es_sandbox::event::EventData::from_value(json!({"balance": amount})).unwrap_or_else(|_| es_sandbox::event::EventData::empty()))
            } else {
                let kind = if *deposit { "Deposited" } else { "Deducted" };
                NewEvent::new(kind, es_sandbox::event::EventData::from_value(json!({"amount": amount})).unwrap_or_else(|_| es_sandbox::event::EventData::empty()))
            };
            block_on(bank.write().append(&id, ExpectedVersion::Any, vec![event], n as i64)).unwrap_or_else(|e| panic!("{e}"));
            match disturbance {
                0 => { block_on(bank.project(1 + n % 3)).unwrap_or_else(|e| panic!("{e}")); }
                1 => { model(&bank).crash_next("balances", n % 2).unwrap_or_else(|e| panic!("{e}")); block_on(bank.project(5)).unwrap_or_else(|e| panic!("{e}")); model(&bank).resume("balances").unwrap_or_else(|e| panic!("{e}")); }
                // The mirror writes many rows per statement in long rounds: crash it inside one.
                2 if n % 5 == 0 => { model(&bank).crash_next("events", n % 70).unwrap_or_else(|e| panic!("{e}")); block_on(bank.project(10_000)).unwrap_or_else(|e| panic!("{e}")); model(&bank).resume("events").unwrap_or_else(|e| panic!("{e}")); }
                _ => {}
            }
        }
        // A crash stays armed until its projector next has events to apply: restart each
        // crashed projector from its checkpoint until none is left.
        project_all(&bank);
        let crashed = || model(&bank).status().into_iter().find(|p| matches!(p.state, ProjectorState::Crashed { .. }));
        while let Some(crashed) = crashed() {
            model(&bank).resume(&crashed.name).unwrap_or_else(|e| panic!("{e}"));
            project_all(&bank);
        }
        let tables = |bank: &Sandbox<MemoryStore>| {
            ["SELECT * FROM balances ORDER BY account", "SELECT * FROM ledger ORDER BY position", "SELECT * FROM events ORDER BY position"]
                .map(|sql| rows(bank, sql))
        };
        let incremental = tables(&bank);
        // The mirror holds the log, event for event.
        let log = block_on(bank.write().events(&ReadAll::from_position(1, usize::MAX))).unwrap_or_else(|e| panic!("{e}"));
        let mirrored: Vec<(i64, String)> = incremental[2].iter().map(|row| (row[0].as_i64().unwrap_or(0), row[1].as_str().unwrap_or("").to_string())).collect();
        let expected: Vec<(i64, String)> = log.iter().map(|e| (e.position as i64, e.event_id.to_string())).collect();
        prop_assert_eq!(mirrored, expected);
        for name in ["balances", "ledger", "events"] {
            model(&bank).rebuild(name).unwrap_or_else(|e| panic!("{e}"));
        }
        project_all(&bank);
        prop_assert_eq!(incremental, tables(&bank));
    }
}

trait StoreVersion {
    async fn store_version(&self, id: &str) -> u64;
}

impl StoreVersion for Sandbox<MemoryStore> {
    async fn store_version(&self, id: &str) -> u64 {
        self.store().stream_version(id).await.unwrap_or(0)
    }
}

#[test]
fn a_definition_that_does_not_check_is_refused_and_changes_nothing() {
    use es_sandbox::read_side::ProjectionError;
    use es_sandbox::scenario::SqlStatements;
    let bank = bank();
    let before = model(&bank).status();
    let table: Vec<(&str, SqlStatements, SqlStatements, &str)> = vec![
        (
            "a handler naming a column its setup does not make",
            SqlStatements::One("CREATE TABLE balances (account TEXT PRIMARY KEY, balance INTEGER NOT NULL, updated_at INTEGER NOT NULL)".into()),
            SqlStatements::One("UPDATE balances SET nope = 1 WHERE account = :aggregate_id".into()),
            "Deposited: no such column: nope",
        ),
        (
            "a setup that does not parse",
            SqlStatements::One("CREATE TABEL balances (account TEXT)".into()),
            SqlStatements::One("SELECT 1".into()),
            "setup: near \"TABEL\": syntax error",
        ),
        (
            "a handler with a nameless parameter",
            SqlStatements::One("CREATE TABLE balances (account TEXT PRIMARY KEY, balance INTEGER NOT NULL, updated_at INTEGER NOT NULL)".into()),
            SqlStatements::One("UPDATE balances SET balance = balance + ? WHERE account = :aggregate_id".into()),
            "Deposited: parameter 1 has no name; use :field names",
        ),
    ];
    for (what, setup, deposited, message) in table {
        let mut specs = bank.domain().scenario().projections.clone();
        specs[0].setup = setup;
        specs[0].on.insert("Deposited".into(), deposited);
        match model(&bank).redefine(&specs) {
            Err(ProjectionError::Definition {
                projection,
                message: got,
            }) => {
                assert_eq!(
                    (projection.as_str(), got.as_str()),
                    ("balances", message),
                    "{what}"
                );
            }
            other => panic!("{what}: expected a definition error, got {other:?}"),
        }
        assert_eq!(model(&bank).status(), before, "{what}: nothing changed");
    }
}

#[test]
fn a_rebuild_whose_setup_fails_keeps_the_tables_and_says_why() {
    let bank = bank();
    let mut specs = bank.domain().scenario().projections.clone();
    // Checks alone (in a scratch database), but `ledger` exists in the real read model.
    specs[0].setup = es_sandbox::scenario::SqlStatements::Many(vec![
        "CREATE TABLE balances (account TEXT PRIMARY KEY, balance INTEGER NOT NULL, updated_at INTEGER NOT NULL)".into(),
        "CREATE TABLE ledger (x)".into(),
    ]);
    model(&bank)
        .redefine(&specs)
        .unwrap_or_else(|e| panic!("{e}"));
    let failed = model(&bank).rebuild("balances");
    assert!(
        failed
            .as_ref()
            .is_err_and(|e| e.to_string().contains("table ledger already exists")),
        "{failed:?}"
    );
    let status = model(&bank)
        .status()
        .into_iter()
        .find(|p| p.name == "balances");
    match status.map(|s| (s.checkpoint, s.state)) {
        Some((3, ProjectorState::Failed { message, .. })) => {
            assert!(
                message.starts_with("rebuild failed, its tables are as they were"),
                "{message}"
            );
        }
        other => panic!("expected balances failed at checkpoint 3, got {other:?}"),
    }
    assert_eq!(balance(&bank), 120, "the old tables answer as before");
    assert_eq!(
        rows(&bank, "SELECT count(*) FROM ledger"),
        vec![vec![json!(3)]]
    );
}

#[test]
fn the_read_model_as_of_a_position_is_the_same_whether_brought_forward_or_made_anew() {
    let bank = bank();
    for n in 0..30 {
        let account = format!("acc-{}", 900 + n % 4);
        let (command, payload) = if n < 4 {
            ("Create", json!({"balance": 100}))
        } else {
            ("Deposit", json!({"amount": n}))
        };
        execute(&bank, &account, command, payload);
    }
    let sql =
        "SELECT account, balance, (SELECT count(*) FROM events) FROM balances ORDER BY account";
    let look = |as_of| {
        block_on(bank.with_hypothetical(&[], Some(as_of), |model| {
            Ok(model.query(sql, &LIMITS)?.rows)
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let anew = |as_of| {
        block_on(bank.hypothetical(&[], Some(as_of)))
            .and_then(|mut model| Ok(model.query(sql, &LIMITS)?.rows))
            .unwrap_or_else(|e: SandboxError| panic!("{e}"))
    };
    // Forward (brought forward from the last look), back (made anew), the same again, past the head.
    for as_of in [5, 9, 9, 21, 3, 4, 30, 12, 40] {
        assert_eq!(look(as_of), anew(as_of), "as of {as_of}");
    }
    assert_eq!(
        look(6)[0][2],
        json!(6),
        "the mirror holds the events up to the position"
    );
}
