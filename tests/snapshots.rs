//! Automatic snapshots: every `snapshotInterval` events per aggregate, and a replay that starts
//! from the newest one and folds only the tail (the IndexedDB twin is in `browser_storage.rs`).
#![cfg(not(target_arch = "wasm32"))]

use es_sandbox::{CommandRequest, EventId, MemoryStore, ReplayOptions, Sandbox, shipped};
use futures::executor::block_on;
use serde_json::json;

/// Given the bank with snapshots every 100 events, when acc-9 is created and takes 249
/// deposits of 1: the sandbox, the snapshot versions the commands reported, and each event's id
/// by version (index 0 is version 1).
fn acc_9_with_250_events() -> (Sandbox<MemoryStore>, Vec<u64>, Vec<EventId>) {
    let mut bank = shipped("bank").unwrap_or_else(|e| panic!("{e}"));
    bank.snapshot_interval = 100;
    let sandbox =
        block_on(Sandbox::open(MemoryStore::new(), bank)).unwrap_or_else(|e| panic!("{e}"));
    let mut taken = Vec::new();
    let mut ids = Vec::new();
    for n in 0..250 {
        let (command, payload) = if n == 0 {
            ("Create", json!({"balance": 0}))
        } else {
            ("Deposit", json!({"amount": 1}))
        };
        let committed = block_on(
            sandbox
                .write()
                .execute(CommandRequest::new("acc-9", command, payload), 0),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        taken.extend(committed.snapshot_taken);
        ids.extend(committed.events.iter().map(|e| e.event_id));
    }
    (sandbox, taken, ids)
}

#[test]
fn with_interval_100_250_events_leave_snapshots_at_100_and_200_and_a_replay_folds_50() {
    let (sandbox, taken, _) = acc_9_with_250_events();
    let write = sandbox.write();
    assert_eq!(taken, [100, 200], "the commands that took snapshots say so");
    let stored: Vec<u64> = block_on(write.snapshots("acc-9"))
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|s| s.version)
        .collect();
    assert_eq!(stored, [100, 200]);
    let replay = block_on(write.replay("acc-9", &ReplayOptions::default()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            replay.from_snapshot,
            replay.events_replayed,
            replay.state["balance"].clone()
        ),
        (Some(200), 50, json!(249))
    );
}

#[test]
fn a_what_if_without_version_150_passes_over_the_snapshot_at_200_and_starts_from_the_one_at_100() {
    let (sandbox, _, ids) = acc_9_with_250_events();
    let options = ReplayOptions {
        exclude: vec![ids[149]],
        ..ReplayOptions::default()
    };
    let replay =
        block_on(sandbox.write().replay("acc-9", &options)).unwrap_or_else(|e| panic!("{e}"));
    let skipped: Vec<u64> = replay.skipped_snapshots.iter().map(|s| s.version).collect();
    assert_eq!(
        (
            replay.from_snapshot,
            skipped,
            replay.events_replayed,
            replay.state["balance"].clone()
        ),
        // Versions 101 to 250 but 150 are folded: 149 events, one deposit fewer.
        (Some(100), vec![200], 149, json!(248))
    );
}
