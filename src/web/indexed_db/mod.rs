//! IndexedDB from Rust: a thin async layer over web-sys (`requests`), the database's layout
//! (`layout`), the store's segments and snapshots (`segments`), reading its log (`log_read`),
//! the commit record (`commit_record`), and the witness kept outside IndexedDB (`witness`)
//! that, with the database's incarnation id (`incarnation`), notices a database deleted behind
//! the store's back.
//!
//! Why a thin layer instead of `indexed_db_futures` or `rexie`: the store needs exactly `add`
//! with `ConstraintError` as a signal, key ranges, durability, `commit()`, upgrades and
//! `versionchange`; a few dozen lines give that with no extra dependency pinned to a
//! wasm-bindgen version.

pub(super) mod commit_record;
mod failure;
mod incarnation;
mod layout;
mod log_read;
pub(super) mod requests;
mod segments;
mod witness;

pub use layout::database_name;
#[cfg(feature = "test-hooks")]
pub use segments::WitnessGate;
pub use segments::{Durability, IdbSegments};
