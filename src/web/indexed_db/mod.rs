//! IndexedDB from Rust: a thin async layer over web-sys (`requests`), the store's segments and
//! snapshots (`segments`), the commit record (`commit_record`), and the witness kept outside
//! IndexedDB that notices a database deleted behind the store's back (`witness`).
//!
//! Why a thin layer instead of `indexed_db_futures` or `rexie`: the store needs exactly `add`
//! with `ConstraintError` as a signal, key ranges, durability, `commit()`, upgrades and
//! `versionchange`; a few dozen lines give that with no extra dependency pinned to a
//! wasm-bindgen version.

pub(super) mod commit_record;
pub(super) mod requests;
mod segments;
mod witness;

#[cfg(feature = "test-hooks")]
pub use segments::WitnessGate;
pub use segments::{Durability, IdbSegments, database_name};
