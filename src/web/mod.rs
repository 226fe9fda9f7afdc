//! The JS surface (wasm32 only): the `Sandbox` class, the browser stores (IndexedDB,
//! localStorage, memory), the news pump, and errors as JS `Error`s. The only part of the crate
//! that knows about JS.
//!
//! - `class`: the `Sandbox` class (write side), `read_model`: its read-side methods,
//!   `teaching`: what the page shows beyond them, `crud`: the CRUD table beside the log,
//!   `interchange`: export, fixtures and share links (imports go through `open`), `recovery`:
//!   a store that does not open;
//! - `dto`: the option and answer shapes that cross the boundary; `convert`: how they cross;
//!   `typescript`: their declarations; `error`: errors as JS `Error`s;
//! - `news`: the one pump that hands new events to subscribers, the projector and other tabs;
//!   `projecting`: the read model following the log;
//! - `store`: the backend chosen at open; `indexed_db/`, `local_storage`: the backends.

mod class;
mod convert;
mod crud;
mod dto;
mod error;
mod indexed_db;
mod interchange;
mod local_storage;
mod news;
#[cfg(feature = "read-model")]
mod projecting;
#[cfg(feature = "read-model")]
mod read_model;
mod recovery;
mod store;
mod teaching;
mod typescript;

pub use class::JsSandbox;
#[cfg(feature = "read-model")]
pub use class::query_copy;
#[cfg(feature = "test-hooks")]
pub use indexed_db::WitnessGate;
pub use indexed_db::{Durability, IdbSegments, database_name};
pub use local_storage::{LocalSegments, commit_database_name};
pub use store::{Backend, BrowserStore, destroy};
