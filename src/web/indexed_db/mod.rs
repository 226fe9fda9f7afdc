//! IndexedDB from Rust: a thin async layer over web-sys (`requests`), the store's segments and
//! snapshots (`segments`), and the commit record (`commit_record`).
//!
//! Why a thin layer instead of `indexed_db_futures` or `rexie`: the store needs exactly `add`
//! with `ConstraintError` as a signal, key ranges, durability, `commit()`, upgrades and
//! `versionchange`; a few dozen lines give that with no extra dependency pinned to a
//! wasm-bindgen version.

pub(super) mod commit_record;
pub(super) mod requests;
mod segments;

pub use segments::{Durability, IdbSegments, database_name};
