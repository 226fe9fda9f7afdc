//! Import and export: every format round-trips a log event by event; every refusal names where
//! the problem is and writes nothing; fixtures replay; share links carry a scenario and its log.
#![cfg(not(target_arch = "wasm32"))]

use std::rc::Rc;

use es_sandbox::interchange::{
    self, Exchange, Fixture, Format, ImportError, fixture_of, import_into, read_share_link,
    share_link,
};
use es_sandbox::{
    CommandOptions, CommandRequest, Domain, EventStore, MemoryStore, ReadAll, Sandbox,
    SandboxError, StoredEvent, shipped,
};
use futures::executor::block_on;
use serde_json::{Value, json};

fn ok<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

const FORMATS: [Format; 3] = [Format::Ndjson, Format::Kurrent, Format::CloudEvents];

/// A scenario's sandbox with its seed, 200 generated commands and one traced command.
fn sandbox_with_log(name: &str) -> Sandbox<MemoryStore> {
    let sandbox = ok(block_on(Sandbox::open(
        MemoryStore::new(),
        ok(shipped(name)),
    )));
    ok(block_on(sandbox.write().generate(
        200,
        7,
        1_700_000_000_123,
    )));
    if name == "bank" {
        let mut request = CommandRequest::new("acc-001", "Deposit", json!({"amount": 5}));
        request.options = CommandOptions {
            correlation_id: Some("corr-1".into()),
            causation_id: Some("cause-1".into()),
            ..CommandOptions::default()
        };
        ok(block_on(sandbox.write().execute(request, -86_400_001)));
    }
    sandbox
}

fn all_events<S: EventStore>(store: &S) -> Vec<StoredEvent> {
    ok(block_on(
        store.read_all(&ReadAll::from_position(1, usize::MAX)),
    ))
}

fn domain(name: &str) -> Rc<Domain> {
    Rc::new(ok(Domain::compile(ok(shipped(name)))))
}

fn import(name: &str, format: Format, text: &str) -> Result<MemoryStore, SandboxError> {
    let exchange = interchange::read(format, text.as_bytes())?;
    let store = MemoryStore::new();
    block_on(import_into(
        &store,
        MemoryStore::new(),
        domain(name),
        &exchange,
        0,
    ))?;
    Ok(store)
}

fn refused(name: &str, format: Format, text: &str) -> SandboxError {
    match import(name, format, text) {
        Ok(_) => panic!("imported, though it should have been refused"),
        Err(error) => error,
    }
}

fn problems(error: &SandboxError) -> Vec<(String, String)> {
    match error {
        SandboxError::Import(ImportError::Problems { problems, .. }) => problems
            .iter()
            .map(|p| (p.at.clone(), p.message.clone()))
            .collect(),
        other => panic!("expected import problems, got {other:?}"),
    }
}

#[test]
fn every_format_round_trips_every_scenario_event_by_event() {
    for name in ["bank", "orders", "users"] {
        let sandbox = sandbox_with_log(name);
        let original = all_events(sandbox.store());
        for format in FORMATS {
            let text = interchange::write(format, sandbox.domain(), &original);
            let store = ok(import(name, format, &text));
            let imported = all_events(&store);
            assert_eq!(imported.len(), original.len(), "{name} {format:?}");
            for (a, b) in original.iter().zip(&imported) {
                assert_eq!(a, b, "{name} {format:?}");
            }
            // And again: export of the import is the same file.
            assert_eq!(
                interchange::write(format, sandbox.domain(), &imported),
                text,
                "{name} {format:?}"
            );
        }
    }
}

#[test]
fn a_file_is_recognised_by_its_first_characters() {
    let sandbox = sandbox_with_log("bank");
    let events = all_events(sandbox.store());
    for format in FORMATS {
        let text = interchange::write(format, sandbox.domain(), &events);
        assert_eq!(interchange::sniff_format(text.as_bytes()), format);
        // Leading blank lines and spaces change nothing.
        let padded = format!("\n  \n{text}");
        assert_eq!(interchange::sniff_format(padded.as_bytes()), format);
    }
    let one_cloud_event = r#"{"specversion": "1.0", "id": "1"}"#;
    assert_eq!(
        interchange::sniff_format(one_cloud_event.as_bytes()),
        Format::CloudEvents
    );
    // A first line that only mentions the format's name is not its header.
    let mention = r#"{"acc-001": [{"eventType": "es-sandbox/events"}]}"#;
    assert_eq!(
        interchange::sniff_format(mention.as_bytes()),
        Format::Kurrent
    );
    assert_eq!(interchange::sniff_format(b"\xff\xfe"), Format::Kurrent);
}

#[test]
fn an_imported_store_opens_without_a_new_seed_and_records_its_scenario() {
    let sandbox = sandbox_with_log("bank");
    let original = all_events(sandbox.store());
    let text = interchange::write(Format::Ndjson, sandbox.domain(), &original);
    let store = ok(import("bank", Format::Ndjson, &text));
    assert!(ok(block_on(store.scenario())).is_some());
    let reopened = ok(block_on(Sandbox::open(store, ok(shipped("bank")))));
    assert_eq!(all_events(reopened.store()), original);
}

fn bank_ndjson() -> (String, Vec<StoredEvent>) {
    let sandbox = sandbox_with_log("bank");
    let events = all_events(sandbox.store());
    (
        interchange::write(Format::Ndjson, sandbox.domain(), &events),
        events,
    )
}

fn edit_lines(text: &str, edit: impl Fn(usize, &str) -> Option<String>) -> String {
    text.lines()
        .enumerate()
        .filter_map(|(index, line)| edit(index + 1, line))
        .map(|line| line + "\n")
        .collect()
}

#[test]
fn broken_ndjson_is_refused_with_every_line_that_is_wrong() {
    let (text, _) = bank_ndjson();
    let broken = edit_lines(&text, |number, line| match number {
        3 => Some(line[..line.len() / 2].to_string()),
        5 => Some(line.replace("\"type\":\"Deposited\"", "\"type\":\"Teleported\"")),
        7 => Some(line.replace("\"schemaVersion\":1", "\"schemaVersion\":9")),
        _ => Some(line.to_string()),
    });
    let error = refused("bank", Format::Ndjson, &broken);
    let found = problems(&error);
    assert_eq!(found[0].0, "line 3", "{found:?}");
    assert!(found[0].1.starts_with("not JSON"), "{found:?}");
    // Lines 5 and 7 are syntactically fine: the rules find them once the syntax is right.
    let broken = edit_lines(&text, |number, line| match number {
        5 => Some(line.replace("\"type\":\"Deposited\"", "\"type\":\"Teleported\"")),
        7 => Some(line.replace("\"schemaVersion\":1", "\"schemaVersion\":9")),
        _ => Some(line.to_string()),
    });
    let line5 = text.lines().nth(4).unwrap_or_default();
    let line7 = text.lines().nth(6).unwrap_or_default();
    let found = problems(&refused("bank", Format::Ndjson, &broken));
    let at: Vec<&str> = found.iter().map(|(at, _)| at.as_str()).collect();
    let mut expected = Vec::new();
    if line5.contains("\"type\":\"Deposited\"") {
        expected.push("line 5");
    }
    if line7.contains("\"schemaVersion\":1") {
        expected.push("line 7");
    }
    assert!(!expected.is_empty(), "the fixture log changed");
    assert_eq!(at, expected, "{found:?}");
}

#[test]
fn a_cut_short_or_gapped_file_is_refused() {
    let (text, events) = bank_ndjson();
    // Cut after a whole line: the header's count tells.
    let cut: String = text.lines().take(10).map(|l| format!("{l}\n")).collect();
    let found = problems(&refused("bank", Format::Ndjson, &cut));
    assert_eq!(found[0].0, "file");
    assert!(found[0].1.contains("cut short"), "{found:?}");
    // A middle line (position 19) deleted: positions jump, and the next line says so.
    let gapped = edit_lines(&text, |number, line| {
        (number != 20).then(|| line.to_string())
    });
    let found = problems(&refused("bank", Format::Ndjson, &gapped));
    assert!(
        found
            .iter()
            .any(|(at, m)| at == "line 20" && m.contains("position 20 where the log has 19")),
        "{found:?}"
    );
    assert!(events.len() > 20);
}

#[test]
fn duplicate_ids_wrong_scenario_and_newer_schemas_are_named() {
    let (text, _) = bank_ndjson();
    let second_id = text.lines().nth(2).and_then(|l| {
        let v: Value = serde_json::from_str(l).ok()?;
        Some(v["eventId"].as_str()?.to_string())
    });
    let first_id = text.lines().nth(1).and_then(|l| {
        let v: Value = serde_json::from_str(l).ok()?;
        Some(v["eventId"].as_str()?.to_string())
    });
    let (Some(first_id), Some(second_id)) = (first_id, second_id) else {
        panic!("no ids")
    };
    let duplicated = text.replacen(&second_id, &first_id, 1);
    let found = problems(&refused("bank", Format::Ndjson, &duplicated));
    assert_eq!(found[0].0, "line 3");
    assert!(found[0].1.contains("already used at line 2"), "{found:?}");

    let error = refused("orders", Format::Ndjson, &text);
    let found = problems(&error);
    assert_eq!(found[0].0, "header");
    assert!(
        found[0].1.contains("scenario \"bank\", not orders"),
        "{found:?}"
    );

    let newer = text.replacen("\"Deposited\":1", "\"Deposited\":3", 1);
    let found = problems(&refused("bank", Format::Ndjson, &newer));
    assert!(found[0].1.contains("newer rules"), "{found:?}");
}

#[test]
fn an_event_the_rules_refuse_writes_nothing_and_names_its_line() {
    let (text, _) = bank_ndjson();
    let line = text
        .lines()
        .position(|l| l.contains("\"type\":\"Deposited\""))
        .unwrap_or_default();
    let bad = edit_lines(&text, |number, l| {
        Some(if number == line + 1 {
            l.replace(
                "\"data\":{\"amount\":",
                "\"data\":{\"amount\":\"five\",\"x\":",
            )
        } else {
            l.to_string()
        })
    });
    let exchange = ok(interchange::read(Format::Ndjson, bad.as_bytes()));
    let store = MemoryStore::new();
    let error = block_on(import_into(
        &store,
        MemoryStore::new(),
        domain("bank"),
        &exchange,
        0,
    ))
    .unwrap_err();
    let found = problems(&error.into());
    assert_eq!(found[0].0, format!("line {}", line + 1), "{found:?}");
    assert!(found[0].1.contains("amount"), "{found:?}");
    assert_eq!(ok(block_on(store.head_position())), 0, "nothing written");
}

#[test]
fn a_store_with_events_is_not_imported_into() {
    let (text, _) = bank_ndjson();
    let exchange = ok(interchange::read(Format::Ndjson, text.as_bytes()));
    let sandbox = ok(block_on(Sandbox::open(
        MemoryStore::new(),
        ok(shipped("bank")),
    )));
    let before = all_events(sandbox.store());
    let error = block_on(import_into(
        sandbox.store(),
        MemoryStore::new(),
        domain("bank"),
        &exchange,
        0,
    ))
    .unwrap_err();
    assert!(error.to_string().contains("empty store"), "{error}");
    assert_eq!(all_events(sandbox.store()), before);
}

#[test]
fn kurrent_streams_without_positions_interleave_by_time_and_mixed_ones_are_refused() {
    let sandbox = sandbox_with_log("bank");
    let events = all_events(sandbox.store());
    let text = interchange::write(Format::Kurrent, sandbox.domain(), &events);
    let mut document: Value = ok(serde_json::from_str(&text));
    for stream in document
        .as_object_mut()
        .into_iter()
        .flat_map(|o| o.values_mut())
    {
        for event in stream.as_array_mut().into_iter().flatten() {
            if let Some(metadata) = event["metadata"].as_object_mut() {
                metadata.remove("position");
            }
        }
    }
    let store = ok(import("bank", Format::Kurrent, &document.to_string()));
    let imported = all_events(&store);
    assert_eq!(imported.len(), events.len());
    // Each stream keeps its order; streams interleave by time.
    let ids_of = |events: &[StoredEvent], id: &str| -> Vec<_> {
        events
            .iter()
            .filter(|e| &*e.aggregate_id == id)
            .map(|e| e.event_id)
            .collect()
    };
    for stream in ["acc-001", "acc-002", "acc-003"] {
        assert_eq!(ids_of(&imported, stream), ids_of(&events, stream));
    }
    // One event with a position and the others without: which order is meant is unclear.
    document["acc-001"][0]["metadata"]["position"] = json!(1);
    let found = problems(&refused("bank", Format::Kurrent, &document.to_string()));
    assert!(
        found.iter().any(|(_, m)| m.contains("give all or none")),
        "{found:?}"
    );
    let found = problems(&refused("bank", Format::Kurrent, "[]"));
    assert!(found[0].1.contains("no stream name"), "{found:?}");
    let found = problems(&refused(
        "bank",
        Format::Kurrent,
        r#"{"acc-009":[{"eventType":"Created","data":{}}]}"#,
    ));
    assert_eq!(found[0].0, r#"$["acc-009"][0]"#);
    assert!(found[0].1.contains("`eventId` is missing"), "{found:?}");
}

#[test]
fn cloud_events_refusals_name_the_attribute() {
    for (event, expected) in [
        (
            json!({"specversion": "0.3"}),
            "`specversion` must be \"1.0\"",
        ),
        (
            json!({"specversion": "1.0", "id": "x", "source": "/s", "type": "Created", "subject": "acc-1", "data_base64": "AA=="}),
            "data_base64",
        ),
        (
            json!({"specversion": "1.0", "id": "7f0e2a7e-0000-4000-8000-000000000001", "source": "/s", "type": "Created", "subject": "acc-1", "time": "yesterday"}),
            "`time` \"yesterday\" is not an RFC 3339 date-time",
        ),
        (
            json!({"specversion": "1.0", "id": "7f0e2a7e-0000-4000-8000-000000000001", "source": "/s", "type": "Created"}),
            "`subject` is missing",
        ),
    ] {
        let found = problems(&refused(
            "bank",
            Format::CloudEvents,
            &json!([event]).to_string(),
        ));
        assert_eq!(found[0].0, "$[0]");
        assert!(found[0].1.contains(expected), "{found:?} / {expected}");
    }
}

#[test]
fn not_text_too_large_empty_and_deeply_nested_files_get_a_message() {
    for format in FORMATS {
        assert!(matches!(
            interchange::read(format, b"\xff\xfe{}"),
            Err(ImportError::NotUtf8 { offset: 0 })
        ));
        assert_eq!(interchange::read(format, b"  \n"), Err(ImportError::Empty));
        let huge = vec![b' '; interchange::MAX_IMPORT_BYTES + 1];
        assert!(matches!(
            interchange::read(format, &huge),
            Err(ImportError::TooLarge { .. })
        ));
        let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let error = interchange::read(format, nested.as_bytes()).unwrap_err();
        assert!(!error.to_string().is_empty());
    }
}

#[test]
fn a_fixture_cut_from_the_log_replays_and_fails_when_the_state_is_wrong() {
    let sandbox = sandbox_with_log("bank");
    let stream = ok(block_on(
        sandbox
            .store()
            .read_stream("acc-001", es_sandbox::VersionRange::from(1)),
    ));
    assert!(stream.len() >= 3);
    let fixture = ok(fixture_of(sandbox.domain(), &stream, 2, 3));
    assert_eq!(fixture.given.len(), 1);
    assert_eq!(fixture.when.len(), 2);
    let reread = ok(Fixture::from_json(fixture.to_json().as_bytes()));
    let run = ok(reread.run(sandbox.domain()));
    assert!(run.passed, "{run:?}");
    reread.assert_passes(sandbox.domain());

    let mut wrong = reread.clone();
    wrong.then.state["balance"] = json!(1_000_000);
    assert!(!ok(wrong.run(sandbox.domain())).passed);
    assert!(
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(
            || wrong.assert_passes(sandbox.domain())
        ))
        .is_err(),
        "a wrong fixture fails"
    );
    assert!(fixture_of(sandbox.domain(), &stream, 3, 2).is_err());
    assert!(Fixture::from_json(br#"{"fixture":"other"}"#).is_err());
}

#[test]
fn a_share_link_carries_the_scenario_and_its_log_and_a_broken_one_says_so() {
    let mut scenario = ok(shipped("bank"));
    scenario.title = "Edited bank".into();
    let sandbox = ok(block_on(Sandbox::open(
        MemoryStore::new(),
        scenario.clone(),
    )));
    ok(block_on(sandbox.write().generate(50, 1, 1_000)));
    let events = all_events(sandbox.store());
    let link = share_link(sandbox.domain(), &events).unwrap_or_default();
    assert!(!link.is_empty());
    assert!(
        link.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    let shared = ok(read_share_link(&format!("#share={link}")));
    assert_eq!(shared.scenario, scenario);
    let store = MemoryStore::new();
    let domain = Rc::new(ok(Domain::compile(shared.scenario)));
    ok(block_on(import_into(
        &store,
        MemoryStore::new(),
        domain,
        &shared.exchange,
        0,
    )));
    assert_eq!(all_events(&store), events);

    for (broken, expected) in [
        (&link[..link.len() / 2], "cut short or damaged"),
        ("not*base64", "not base64url"),
        ("aGVsbG8", "cut short or damaged"),
    ] {
        let error = read_share_link(broken).unwrap_err();
        assert!(error.to_string().contains(expected), "{error} / {expected}");
    }
    let long = "A".repeat(interchange::MAX_LINK_CHARS + 1);
    assert!(
        read_share_link(&long)
            .unwrap_err()
            .to_string()
            .contains("more than")
    );
}

#[test]
fn an_exchange_read_twice_is_the_same() {
    let (text, _) = bank_ndjson();
    let one: Exchange = ok(interchange::read(Format::Ndjson, text.as_bytes()));
    let two: Exchange = ok(interchange::read(Format::Ndjson, text.as_bytes()));
    assert_eq!(one, two);
    assert!(one.header.is_some());
}

#[test]
fn the_read_model_of_an_imported_store_holds_every_imported_event() {
    let (text, events) = bank_ndjson();
    let store = ok(import("bank", Format::Ndjson, &text));
    let sandbox = ok(block_on(Sandbox::open(store, ok(shipped("bank")))));
    while ok(block_on(sandbox.project(10_000))).applied > 0 {}
    let limits = es_sandbox::read_side::QueryLimits {
        max_rows: 10,
        time_limit_ms: 1e9,
        clock: || 0.0,
    };
    let answer = ok(sandbox
        .read_mut()
        .unwrap_or_else(|e| panic!("{e}"))
        .query("SELECT COUNT(*) FROM events", &limits));
    assert_eq!(answer.rows, vec![vec![json!(events.len())]]);
}

/// Not a check: prints how long share links get, for the README (`--ignored --nocapture`).
#[test]
#[ignore = "a measurement"]
fn share_link_length_per_event() {
    for count in [100, 1_000, 10_000] {
        let sandbox = ok(block_on(Sandbox::open(
            MemoryStore::new(),
            ok(shipped("bank")),
        )));
        ok(block_on(sandbox.write().generate(
            count,
            1,
            1_700_000_000_000,
        )));
        let events = all_events(sandbox.store());
        let link = share_link(sandbox.domain(), &events).unwrap_or_default();
        println!(
            "{} events: {} characters, {:.1} per event",
            events.len(),
            link.len(),
            link.len() as f64 / events.len() as f64
        );
    }
}

#[test]
fn a_file_names_its_scenario_where_its_format_says() {
    let sandbox = sandbox_with_log("orders");
    let events = all_events(sandbox.store());
    for (format, named) in [
        (Format::Ndjson, Some("orders".to_string())),
        (Format::CloudEvents, Some("orders".to_string())),
        (Format::Kurrent, None),
    ] {
        let text = interchange::write(format, sandbox.domain(), &events);
        assert_eq!(
            interchange::scenario_named(format, text.as_bytes()),
            named,
            "{format:?}"
        );
    }
    assert_eq!(
        interchange::scenario_named(Format::Ndjson, b"not json\n"),
        None
    );
    assert_eq!(
        interchange::scenario_named(Format::CloudEvents, b"\xff"),
        None
    );
}
