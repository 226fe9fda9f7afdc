//! The read model's projector against a bare loop of the same SQL on the same SQLite build:
//! how much the projector adds to the statements it runs. Run by `scripts/bench` (`cargo bench
//! --bench projection`), natively, where both sides link the one SQLite build; prints a section
//! of `bench/results.md`.
//!
//! The log is the storage benchmark's: 100,000 bank events over 10 accounts, appended in batches
//! of 1,000. The projector brings every projection of the bank (and the `events` mirror, or not)
//! from empty to the head, in the chunks the page uses. The bare loop prepares the projections'
//! own statements (and the mirror's one-row insert) once, in one transaction, and runs them for
//! every event with its values already decoded: the floor any projector can reach.

use std::time::Instant;

use es_sandbox::read_side::QueryLimits;
use es_sandbox::sandbox::projecting::CHUNK;
use es_sandbox::scenario::shipped;
use es_sandbox::store::{MemoryStore, ReadAll};
use es_sandbox::{EventData, EventId, ExpectedVersion, NewEvent, Sandbox, Scenario, StoredEvent};
use futures::executor::block_on;
use rusqlite::{Connection, params_from_iter, types::Value as Sql};
use serde_json::Value;

const AGGREGATES: usize = 10;
const BATCHES: usize = 100;
const BATCH: usize = 1_000;
const RUNS: usize = 5;
/// Queries of the read model made by the benchmark itself: one row, no time limit.
const LIMITS: QueryLimits = QueryLimits {
    max_rows: 1,
    time_limit_ms: f64::MAX,
    clock: || 0.0,
};

fn or_exit<T, E: std::fmt::Display>(result: Result<T, E>, what: &str) -> T {
    result.unwrap_or_else(|e| {
        eprintln!("{what}: {e}");
        std::process::exit(1)
    })
}

fn bank() -> Scenario {
    or_exit(shipped("bank"), "the bank scenario")
}

/// The storage benchmark's log: batch b goes to acc-(b mod 10).
fn log() -> Sandbox<MemoryStore> {
    let sandbox = or_exit(block_on(Sandbox::open(MemoryStore::new(), bank())), "open");
    let mut versions = [0u64; AGGREGATES];
    for b in 0..BATCHES {
        let k = b % AGGREGATES;
        let events = (0..BATCH)
            .map(|i| {
                versions[k] += 1;
                let (kind, data) = if versions[k] == 1 {
                    ("Created", serde_json::json!({ "balance": 0 }))
                } else if i % 3 != 0 {
                    ("Deposited", serde_json::json!({ "amount": i % 7 + 1 }))
                } else {
                    ("Deducted", serde_json::json!({ "amount": i % 7 + 1 }))
                };
                let mut event =
                    NewEvent::new(kind, or_exit(EventData::from_value(data), "event data"));
                event.event_id = Some(EventId::new_random());
                event.timestamp = Some(1_767_225_600_000 + (b * BATCH + i) as i64);
                event
            })
            .collect();
        let aggregate = format!("acc-{k}");
        let appended = sandbox
            .write()
            .append(&aggregate, ExpectedVersion::Any, events, 0);
        or_exit(block_on(appended), "append");
    }
    sandbox
}

/// The projector: a fresh read model (the sandbox opened again) of the same log brought to the
/// head; the store back, and events per second.
fn projector(store: MemoryStore, events: usize, mirror: bool) -> (MemoryStore, f64) {
    let sandbox = or_exit(block_on(Sandbox::open(store, bank())), "open");
    // A shipped scenario's read model opens on first use: here, before the clock starts.
    let mut model = or_exit(sandbox.read_mut(), "open the read model");
    if !mirror {
        or_exit(model.pause("events"), "pause the mirror");
    }
    drop(model);
    let start = Instant::now();
    while or_exit(block_on(sandbox.project(CHUNK)), "project").applied > 0 {}
    let seconds = start.elapsed().as_secs_f64();
    let count = or_exit(
        or_exit(sandbox.read_mut(), "open the read model")
            .query("SELECT count(*) FROM ledger", &LIMITS),
        "count",
    );
    if count.rows.first().and_then(|r| r.first()) != Some(&Value::from(events)) {
        eprintln!("the projector's ledger is short: {:?}", count.rows);
        std::process::exit(1);
    }
    (sandbox.into_store(), events as f64 / seconds)
}

/// An event's values, decoded for the bare loop: per statement its parameters (`None` where the
/// statement is for another event type), and the mirror's row.
struct Decoded {
    statements: Vec<Option<Vec<Sql>>>,
    row: Vec<Sql>,
}

/// The `events` mirror's table as the read model creates it, read from the read model itself.
fn mirror_schema(sandbox: &Sandbox<MemoryStore>) -> String {
    let sql = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'events'";
    let answer = or_exit(
        or_exit(sandbox.read_mut(), "open the read model").query(sql, &LIMITS),
        "the mirror's schema",
    );
    match answer.rows.first().and_then(|row| row.first()) {
        Some(Value::String(schema)) => schema.clone(),
        other => {
            eprintln!("no mirror table in the read model: {other:?}");
            std::process::exit(1)
        }
    }
}

/// The bare loop: the projections' statements (and the mirror's insert), prepared once, run for
/// every event in one transaction with values decoded beforehand; events per second.
fn bare_loop(events: &[StoredEvent], mirror_table: &str, mirror: bool) -> f64 {
    let scenario = bank();
    let connection = or_exit(Connection::open_in_memory(), "SQLite");
    or_exit(connection.execute_batch(mirror_table), "mirror table");
    // Each statement with the event type it runs for and its parameters' names.
    let mut prepared = Vec::new();
    for projection in &scenario.projections {
        for sql in projection.setup.statements() {
            or_exit(connection.execute_batch(sql), "setup");
        }
        for (event_type, statements) in &projection.on {
            for sql in statements.statements() {
                let statement = or_exit(connection.prepare(sql), "prepare");
                let names: Vec<String> = (1..=statement.parameter_count())
                    .filter_map(|i| statement.parameter_name(i))
                    .map(|n| n.trim_start_matches(':').to_string())
                    .collect();
                prepared.push((event_type.clone(), statement, names));
            }
        }
    }
    let mut insert = or_exit(
        connection.prepare("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        "prepare the mirror",
    );
    // Every value decoded before the clock starts: the loop only binds and steps.
    let decoded: Vec<Decoded> = events
        .iter()
        .map(|event| {
            let data: serde_json::Map<String, Value> =
                or_exit(serde_json::from_str(event.data.as_json()), "data");
            let value = |name: &str| match name {
                "aggregate_id" => Sql::Text(event.aggregate_id.to_string()),
                "position" => Sql::Integer(event.position as i64),
                "version" => Sql::Integer(event.version as i64),
                "timestamp" => Sql::Integer(event.metadata.timestamp),
                field => match data.get(field) {
                    Some(Value::Number(n)) => Sql::Integer(n.as_i64().unwrap_or_default()),
                    Some(other) => Sql::Text(other.to_string()),
                    None => Sql::Null,
                },
            };
            let statements = prepared
                .iter()
                .map(|(kind, _, names)| {
                    (**kind == *event.event_type).then(|| names.iter().map(|n| value(n)).collect())
                })
                .collect();
            let row = vec![
                Sql::Integer(event.position as i64),
                Sql::Text(event.event_id.to_string()),
                Sql::Text(event.aggregate_id.to_string()),
                Sql::Integer(event.version as i64),
                Sql::Text(event.event_type.to_string()),
                Sql::Integer(i64::from(event.schema_version)),
                Sql::Text(event.data.as_json().to_string()),
                Sql::Integer(event.metadata.timestamp),
                Sql::Null,
                Sql::Null,
            ];
            Decoded { statements, row }
        })
        .collect();
    let start = Instant::now();
    let tx = or_exit(connection.unchecked_transaction(), "begin");
    for Decoded { statements, row } in &decoded {
        for ((_, statement, _), values) in prepared.iter_mut().zip(statements) {
            if let Some(values) = values {
                or_exit(statement.execute(params_from_iter(values)), "execute");
            }
        }
        if mirror {
            or_exit(insert.execute(params_from_iter(row)), "mirror");
        }
    }
    or_exit(tx.commit(), "commit");
    events.len() as f64 / start.elapsed().as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let sandbox = log();
    let events = or_exit(
        block_on(
            sandbox
                .write()
                .events(&ReadAll::from_position(1, usize::MAX)),
        ),
        "read the log",
    );
    let mirror_table = mirror_schema(&sandbox);
    let mut store = Some(sandbox.into_store());
    let mut lines = vec![
        String::new(),
        "## Projection against a bare loop (native)".into(),
        String::new(),
        format!(
            "Measured natively by `cargo bench --bench projection` ({RUNS} runs, median, events/s), where the projector and the bare"
        ),
        "loop link the same SQLite build (rusqlite's bundled one; the page's is the same C compiled to wasm). The log: the storage".into(),
        format!(
            "benchmark's {} bank events. The projector: `project()` in chunks of {CHUNK}, every bank projection, from empty. The bare loop:",
            events.len()
        ),
        "the same statements prepared once, one transaction, values decoded before the clock starts.".into(),
        String::new(),
        "| | projector | bare loop | projector / bare loop | target |".into(),
        "|---|---|---|---|---|".into(),
    ];
    for (label, mirror) in [("with the `events` mirror", true), ("mirror paused", false)] {
        let mut rates = Vec::new();
        for _ in 0..RUNS {
            let Some(taken) = store.take() else { break };
            let (back, rate) = projector(taken, events.len(), mirror);
            store = Some(back);
            rates.push(rate);
        }
        let ours = median(rates);
        let floor = median(
            (0..RUNS)
                .map(|_| bare_loop(&events, &mirror_table, mirror))
                .collect(),
        );
        let target = if mirror { "≥ 0.7×" } else { "" };
        lines.push(format!(
            "| Bank projections, {label} (events/s) | {:.0}k | {:.0}k | {:.2}× | {target} |",
            ours / 1000.0,
            floor / 1000.0,
            ours / floor
        ));
    }
    println!("{}", lines.join("\n"));
}
