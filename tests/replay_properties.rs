//! Property tests: replay from a snapshot plus the tail equals a full replay, and a what-if replay
//! equals a replay of the log with those events removed.
#![cfg(not(target_arch = "wasm32"))]

use es_sandbox::NewEvent;
use es_sandbox::Sandbox;
use es_sandbox::event::EventData;
use es_sandbox::expected::ExpectedVersion;
use es_sandbox::replay::{Replay, ReplayOptions};
use es_sandbox::scenario::Scenario;
use es_sandbox::store::MemoryStore;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::executor::block_on;
use proptest::prelude::*;
use serde_json::json;

/// A scenario whose state depends on event order (multiply, reset) and mixes ints, floats,
/// strings and arrays, so that any replay mistake shows. The modulus keeps totals from overflowing.
fn ledger(snapshot_interval: u64) -> Scenario {
    let scenario = json!({
        "name": "ledger",
        "snapshotInterval": snapshot_interval,
        "aggregates": [{
            "name": "ledger",
            "idPrefix": "l-",
            "rules": [
                "fn initial() { #{ total: 0, count: 0, ratio: 0.5, tags: [], last: () } }",
                "fn apply_Added(s, d) { s.total += d.n; s.count += 1; s.last = \"add\"; s }",
                "fn apply_Multiplied(s, d) { s.total = (s.total * d.n) % 1000003; s.ratio *= 1.5; s.count += 1; s }",
                "fn apply_Tagged(s, d, e) { s.tags.push(`${d.tag}@${e.version}`); s.count += 1; s }",
                "fn apply_Reset(s, d) { s.total = 0; s.tags = []; s.count += 1; s.last = \"reset\"; s }"
            ]
        }]
    });
    match serde_json::from_value(scenario) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

#[derive(Debug, Clone)]
enum Op {
    Added(i64),
    Multiplied(i64),
    Tagged(u8),
    Reset,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (-50i64..50).prop_map(Op::Added),
        2 => (-3i64..4).prop_map(Op::Multiplied),
        2 => (0u8..5).prop_map(Op::Tagged),
        1 => Just(Op::Reset),
    ]
}

fn new_event(op: &Op) -> NewEvent {
    let (event_type, data) = match op {
        Op::Added(n) => ("Added", json!({ "n": n })),
        Op::Multiplied(n) => ("Multiplied", json!({ "n": n })),
        Op::Tagged(t) => ("Tagged", json!({ "tag": format!("t{t}") })),
        Op::Reset => ("Reset", json!({})),
    };
    let data = EventData::from_value(data).unwrap_or_else(|e| panic!("{e}"));
    NewEvent::new(event_type, data)
}

fn open(snapshot_interval: u64) -> Sandbox<MemoryStore> {
    block_on(Sandbox::open(MemoryStore::new(), ledger(snapshot_interval)))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn append(sandbox: &Sandbox<MemoryStore>, aggregate: &str, op: &Op) {
    block_on(
        sandbox
            .write()
            .append(aggregate, ExpectedVersion::Any, vec![new_event(op)], 0),
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

fn replay(sandbox: &Sandbox<MemoryStore>, aggregate: &str, options: ReplayOptions) -> Replay {
    block_on(sandbox.write().replay(aggregate, &options)).unwrap_or_else(|e| panic!("{e}"))
}

/// Head replays made by the snapshot property, and how many of them started from a snapshot.
static REPLAYS: AtomicUsize = AtomicUsize::new(0);
static STARTED_FROM_SNAPSHOT: AtomicUsize = AtomicUsize::new(0);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Snapshots at random points (on demand and every `interval` events), then replays at
    /// random versions: from the newest usable snapshot plus the tail equals from the start.
    #[test]
    fn snapshot_plus_tail_equals_full_replay(
        log in prop::collection::vec((0usize..3, op()), 20..60),
        snapshot_after in prop::collection::vec(prop::bool::weighted(0.2), 60),
        interval in 0u64..7,
        targets in prop::collection::vec(any::<prop::sample::Index>(), 1..4),
    ) {
        let sandbox = open(interval);
        let aggregates = ["l-a", "l-b", "l-c"];
        for (i, (which, op)) in log.iter().enumerate() {
            append(&sandbox, aggregates[*which], op);
            if snapshot_after[i] {
                block_on(sandbox.write().snapshot(aggregates[*which])).unwrap_or_else(|e| panic!("{e}"));
            }
        }
        for aggregate in aggregates {
            let snapshots: Vec<u64> = block_on(sandbox.write().snapshots(aggregate))
                .unwrap_or_else(|e| panic!("{e}"))
                .iter()
                .map(|s| s.version)
                .collect();
            // Every snapshot here is usable: a replay must start from the newest at or below
            // its target, or the property would hold without snapshots ever being used.
            let newest_at = |version: u64| snapshots.iter().copied().filter(|&v| v <= version).max();
            let full = replay(&sandbox, aggregate, ReplayOptions { use_snapshots: false, ..Default::default() });
            let head = replay(&sandbox, aggregate, ReplayOptions::default());
            prop_assert_eq!(&head.state, &full.state);
            prop_assert_eq!(full.events_replayed as u64, full.head_version);
            prop_assert_eq!(head.from_snapshot, newest_at(head.head_version));
            if let Some(from) = head.from_snapshot {
                prop_assert_eq!(head.events_replayed as u64, head.head_version - from);
                STARTED_FROM_SNAPSHOT.fetch_add(1, Ordering::Relaxed);
            }
            REPLAYS.fetch_add(1, Ordering::Relaxed);
            for target in &targets {
                let version = target.index(full.head_version as usize + 1) as u64;
                let with = replay(&sandbox, aggregate, ReplayOptions { version: Some(version), ..Default::default() });
                let without = replay(&sandbox, aggregate, ReplayOptions { version: Some(version), use_snapshots: false, ..Default::default() });
                prop_assert_eq!(with.from_snapshot, newest_at(version), "at version {}", version);
                prop_assert_eq!(with.state, without.state, "at version {}", version);
            }
        }
    }

    /// Leaving events out of a replay gives the state of a log that never had them.
    #[test]
    fn what_if_equals_replay_without_those_events(
        ops in prop::collection::vec(op(), 1..40),
        left_out in prop::collection::vec(any::<bool>(), 40),
        interval in 0u64..5,
    ) {
        let original = open(interval);
        for op in &ops {
            append(&original, "l-a", op);
        }
        let events = block_on(original.write().events(&es_sandbox::store::ReadAll::from_position(1, 1000)))
            .unwrap_or_else(|e| panic!("{e}"));
        let exclude: Vec<_> = events.iter().zip(&left_out).filter(|(_, out)| **out).map(|(e, _)| e.event_id).collect();

        let pruned = open(interval);
        for (op, out) in ops.iter().zip(&left_out) {
            if !out {
                append(&pruned, "l-a", op);
            }
        }
        let what_if = replay(&original, "l-a", ReplayOptions { exclude: exclude.clone(), ..Default::default() });
        let mut expected = replay(&pruned, "l-a", ReplayOptions::default()).state;
        // Tagged records the event's version, which differs once earlier events are gone; compare
        // the tags without it.
        strip_versions(&mut expected);
        let mut got = what_if.state.clone();
        strip_versions(&mut got);
        prop_assert_eq!(got, expected);
        prop_assert_eq!(what_if.excluded_versions.len(), exclude.len());
        if let (Some(from), Some(first)) = (what_if.from_snapshot, what_if.excluded_versions.first()) {
            prop_assert!(from < *first, "snapshot {} includes excluded version {}", from, first);
        }
    }
}

fn strip_versions(state: &mut serde_json::Value) {
    if let Some(tags) = state["tags"].as_array_mut() {
        for tag in tags {
            if let Some(text) = tag.as_str() {
                *tag = json!(text.split('@').next().unwrap_or_default());
            }
        }
    }
}

/// The property above must mostly exercise snapshots: most head replays start from one.
#[test]
fn most_replays_of_the_snapshot_property_start_from_a_snapshot() {
    snapshot_plus_tail_equals_full_replay();
    let (replays, from_snapshot) = (
        REPLAYS.load(Ordering::Relaxed),
        STARTED_FROM_SNAPSHOT.load(Ordering::Relaxed),
    );
    assert!(
        from_snapshot * 4 >= replays * 3,
        "only {from_snapshot} of {replays} head replays started from a snapshot"
    );
}
