//! Schema evolution: upcaster chains on stored version-1 events, stored bytes that never change,
//! and snapshots that go stale when rules or upcasters change.
#![cfg(not(target_arch = "wasm32"))]

use es_sandbox::OnOtherScenario;
use es_sandbox::event::{EventData, EventId, Metadata, ProposedEvent};
use es_sandbox::expected::ExpectedVersion;
use es_sandbox::replay::{ReplayOptions, SkipReason};
use es_sandbox::scenario::Scenario;
use es_sandbox::store::{EventStore, MemoryStore, ReadAll};
use es_sandbox::{ErrorKind, Sandbox};
use futures::executor::block_on;
use serde_json::{Value, json};

/// A profile aggregate whose `Named` event went through three shapes:
/// v1 `{name}`, v2 `{first, last}`, v3 `{first, last, display}`.
fn profiles(apply_suffix: &str) -> Scenario {
    let apply = format!(
        "fn apply_Named(s, d) {{ s.first = d.first; s.last = d.last; s.display = d.display{apply_suffix}; s }}"
    );
    serde_json::from_value(json!({
        "name": "profiles",
        "snapshotInterval": 0,
        "aggregates": [{
            "name": "profile",
            "idPrefix": "p-",
            "rules": ["fn initial() { #{} }", apply]
        }],
        "upcasters": [
            { "eventType": "Named", "fromVersion": 2, "script": [
                "fn upcast(d, event) { d.display = `${d.first} ${d.last} (v${event.schema_version})`; d }"
            ]},
            { "eventType": "Named", "fromVersion": 1, "script": [
                "fn upcast(d) {",
                "    let parts = d.remove(\"name\").split(\" \");",
                "    #{ first: parts[0], last: parts[parts.len() - 1] }",
                "}"
            ]}
        ]
    }))
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Stored fixtures: the same fact written by three generations of the app.
fn fixtures() -> Vec<(u32, Value)> {
    vec![
        (1, json!({"name": "Ada Lovelace"})),
        (2, json!({"first": "Grace", "last": "Hopper"})),
        (
            3,
            json!({"first": "Alan", "last": "Turing", "display": "Dr Turing"}),
        ),
    ]
}

fn store_with_fixtures() -> MemoryStore {
    let store = MemoryStore::new();
    for (n, (schema_version, data)) in fixtures().into_iter().enumerate() {
        let event = ProposedEvent {
            event_id: EventId::derived(&format!("fixture/{n}")),
            event_type: "Named".into(),
            schema_version,
            data: EventData::from_value(data).unwrap_or_else(|e| panic!("{e}")),
            metadata: Metadata::at(1_000 + n as i64),
        };
        block_on(store.append(&format!("p-{n}"), ExpectedVersion::NoStream, vec![event]))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    store
}

/// Opens a store with these rules, even when it was written under others: what these tests
/// are about.
fn open(store: MemoryStore, scenario: Scenario) -> Sandbox<MemoryStore> {
    block_on(Sandbox::open_as(store, scenario, OnOtherScenario::UseGiven))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn state(sandbox: &Sandbox<MemoryStore>, id: &str) -> Value {
    block_on(sandbox.write().replay(id, &ReplayOptions::default()))
        .unwrap_or_else(|e| panic!("{e}"))
        .state
}

#[test]
fn each_stored_generation_is_read_as_the_current_shape() {
    let sandbox = open(store_with_fixtures(), profiles(""));
    assert_eq!(sandbox.domain().current_schema_version("Named"), 3);
    // (aggregate, expected state)
    let table = [
        (
            "p-0",
            json!({"first": "Ada", "last": "Lovelace", "display": "Ada Lovelace (v1)"}),
        ),
        (
            "p-1",
            json!({"first": "Grace", "last": "Hopper", "display": "Grace Hopper (v2)"}),
        ),
        (
            "p-2",
            json!({"first": "Alan", "last": "Turing", "display": "Dr Turing"}),
        ),
    ];
    for (id, expected) in table {
        assert_eq!(state(&sandbox, id), expected, "{id}");
    }
}

#[test]
fn stored_bytes_never_change() {
    let store = store_with_fixtures();
    let before =
        block_on(store.read_all(&ReadAll::from_position(1, 10))).unwrap_or_else(|e| panic!("{e}"));
    let sandbox = open(store, profiles(""));
    for id in ["p-0", "p-1", "p-2"] {
        state(&sandbox, id);
    }
    let after = block_on(sandbox.write().events(&ReadAll::from_position(1, 10)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(before, after);
    assert_eq!(after[0].data.as_json(), r#"{"name":"Ada Lovelace"}"#);
    assert_eq!(after[0].schema_version, 1);
}

#[test]
fn the_upcast_view_shows_the_current_shape_without_storing_it() {
    let sandbox = open(store_with_fixtures(), profiles(""));
    let stored = block_on(sandbox.write().events(&ReadAll::from_position(1, 1)))
        .unwrap_or_else(|e| panic!("{e}"));
    let view = sandbox
        .domain()
        .upcast_event(&stored[0])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(view.schema_version, 3);
    assert_eq!(
        view.data.to_value(),
        json!({"first": "Ada", "last": "Lovelace", "display": "Ada Lovelace (v1)"})
    );
    assert_eq!(view.event_id, stored[0].event_id);
}

#[test]
fn old_schema_versions_may_be_appended_and_newer_ones_are_refused() {
    let sandbox = open(MemoryStore::new(), profiles(""));
    let v1 = |version: Option<u32>| {
        let mut event = es_sandbox::NewEvent::new(
            "Named",
            EventData::from_value(json!({"name": "Edsger Dijkstra"}))
                .unwrap_or_else(|e| panic!("{e}")),
        );
        event.schema_version = version;
        vec![event]
    };
    let committed = block_on(
        sandbox
            .write()
            .append("p-9", ExpectedVersion::Any, v1(Some(1)), 5),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(committed.events[0].schema_version, 1);
    assert_eq!(committed.state["display"], json!("Edsger Dijkstra (v1)"));
    match block_on(
        sandbox
            .write()
            .append("p-9", ExpectedVersion::Any, v1(Some(4)), 5),
    ) {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::BadInput);
            assert_eq!(
                e.to_string(),
                "Named has schema versions 1 to 3; 4 is not one of them"
            );
        }
        Ok(c) => panic!("expected an error, got {c:?}"),
    }
    // Without a schema version, the current one is assumed: the v1 shape then fails to apply.
    match block_on(
        sandbox
            .write()
            .append("p-9", ExpectedVersion::Any, v1(None), 5),
    ) {
        Err(e) => assert_eq!(e.kind(), ErrorKind::Script, "{e}"),
        Ok(c) => panic!("expected an error, got {c:?}"),
    }
}

#[test]
fn a_stored_event_newer_than_the_rules_is_a_clear_error() {
    // A store written by rules with three versions, read by rules that know only one.
    let store = store_with_fixtures();
    let scenario: Scenario = serde_json::from_value(json!({
        "name": "old",
        "aggregates": [{ "name": "profile", "idPrefix": "p-", "rules": [
            "fn initial() { #{} }", "fn apply_Named(s, d) { s.name = d.name; s }"
        ]}]
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let sandbox = open(store, scenario);
    match block_on(sandbox.write().replay("p-2", &ReplayOptions::default())) {
        Err(e) => assert!(
            e.to_string()
                .contains("schema version 3, newer than the 1 the rules read"),
            "{e}"
        ),
        Ok(r) => panic!("expected an error, got {r:?}"),
    }
}

#[test]
fn snapshots_made_by_other_rules_are_skipped_with_the_reason() {
    let sandbox = open(store_with_fixtures(), profiles(""));
    let add = |sandbox: &Sandbox<MemoryStore>, first: &str| {
        let event = es_sandbox::NewEvent::new(
            "Named",
            EventData::from_value(json!({"first": first, "last": "X", "display": first}))
                .unwrap_or_else(|e| panic!("{e}")),
        );
        block_on(
            sandbox
                .write()
                .append("p-0", ExpectedVersion::Any, vec![event], 9),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    };
    add(&sandbox, "B"); // version 2
    block_on(sandbox.write().snapshot("p-0")).unwrap_or_else(|e| panic!("{e}"));
    let old_hash = sandbox.domain().aggregate_types()[0].rules_hash.clone();

    // New rules: the same store, a changed apply function.
    let changed = open(sandbox.into_store(), profiles(" + \"!\""));
    let new_hash = changed.domain().aggregate_types()[0].rules_hash.clone();
    assert_ne!(old_hash, new_hash);
    add(&changed, "C"); // version 3
    block_on(changed.write().snapshot("p-0")).unwrap_or_else(|e| panic!("{e}"));

    // Back to the first rules: the version-3 snapshot is stale, the version-2 one is used.
    let back = open(changed.into_store(), profiles(""));
    let replay = block_on(back.write().replay("p-0", &ReplayOptions::default()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(replay.from_snapshot, Some(2));
    assert_eq!(replay.events_replayed, 1);
    assert_eq!(replay.skipped_snapshots.len(), 1);
    assert_eq!(replay.skipped_snapshots[0].version, 3);
    assert_eq!(
        replay.skipped_snapshots[0].reason,
        SkipReason::StaleRules {
            snapshot_hash: new_hash.clone(),
            current_hash: old_hash.clone()
        }
    );
    assert_eq!(replay.state["display"], json!("C"));

    // Changing only an upcaster also makes snapshots stale.
    let mut upcaster_changed = profiles("");
    upcaster_changed.upcasters[0].script =
        es_sandbox::scenario::ScriptText::Text("fn upcast(d) { d.display = \"?\"; d }".into());
    let with_new_upcaster = open(back.into_store(), upcaster_changed);
    let replay = block_on(
        with_new_upcaster
            .write()
            .replay("p-0", &ReplayOptions::default()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(replay.from_snapshot, None);
    assert_eq!(replay.skipped_snapshots.len(), 2);
    assert_eq!(replay.events_replayed, 3);
}
