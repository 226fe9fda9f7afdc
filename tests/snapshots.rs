//! Automatic snapshots: every `snapshotInterval` events per aggregate, and a replay that starts
//! from the newest one and folds only the tail (the IndexedDB twin is in `browser_storage.rs`).
#![cfg(not(target_arch = "wasm32"))]

use es_sandbox::{CommandRequest, MemoryStore, ReplayOptions, Sandbox, shipped};
use futures::executor::block_on;
use serde_json::json;

#[test]
fn with_interval_100_250_events_leave_snapshots_at_100_and_200_and_a_replay_folds_50() {
    let mut bank = shipped("bank").unwrap_or_else(|e| panic!("{e}"));
    bank.snapshot_interval = 100;
    let sandbox =
        block_on(Sandbox::open(MemoryStore::new(), bank)).unwrap_or_else(|e| panic!("{e}"));
    let write = sandbox.write();
    let mut taken = Vec::new();
    for n in 0..250 {
        let (command, payload) = if n == 0 {
            ("Create", json!({"balance": 0}))
        } else {
            ("Deposit", json!({"amount": 1}))
        };
        let committed = block_on(write.execute(CommandRequest::new("acc-9", command, payload), 0))
            .unwrap_or_else(|e| panic!("{e}"));
        taken.extend(committed.snapshot_taken);
    }
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
