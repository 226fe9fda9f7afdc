//! The store contract, table-driven, against the in-memory backend (natively).
#![cfg(not(target_arch = "wasm32"))]

mod contract;

use es_sandbox::store::MemoryStore;
use futures::executor::block_on;

#[test]
fn append_table() {
    let mut failures = Vec::new();
    for case in contract::append_cases() {
        if let Err(failure) = block_on(contract::run_append_case(&MemoryStore::new(), case)) {
            failures.push(failure);
        }
    }
    assert!(
        failures.is_empty(),
        "failed cases:\n{}",
        failures.join("\n")
    );
}

#[test]
fn reads() {
    assert_eq!(block_on(contract::reads(&MemoryStore::new())), Ok(()));
}

#[test]
fn snapshots() {
    assert_eq!(block_on(contract::snapshots(&MemoryStore::new())), Ok(()));
}

#[test]
fn snapshots_with_appends() {
    assert_eq!(
        block_on(contract::snapshots_with_appends(&MemoryStore::new())),
        Ok(())
    );
}

#[test]
fn batch_limits() {
    assert_eq!(
        block_on(contract::batch_limits(&MemoryStore::new())),
        Ok(())
    );
}
