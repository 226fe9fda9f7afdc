//! The JS surface (wasm32 only): the `Sandbox` class, the browser stores (IndexedDB,
//! localStorage, memory), news of new events, and errors as JS `Error`s. The only part of the
//! crate that knows about JS. Each module knows only what is below it:
//!
//! - `class`: the `Sandbox` class and what its methods share; one file per concept of the API
//!   imports it (nothing imports back): `opening`, `writing`, `reading`, `subscribing`,
//!   `describing`, `read_model` (projections and the query box), `teaching` (what the page
//!   shows beyond them), `crud` (the CRUD table beside the log), `interchange` (export,
//!   fixtures, share links), `recovery` (a store that does not open);
//! - `news`: JS subscribers, the core's pump and other tabs; `crud_place`: where the CRUD
//!   table lives; `read_model/projecting`: the core's follower on the page's timers (with
//!   `read_model`, the one module the `read-model` feature switches);
//! - `store`: a store's life outside a sandbox; `browser_segments`: the backend chosen at open,
//!   under the segmented store; `indexed_db/`, `local_storage`: the backends;
//! - `dto`: the option and answer shapes that cross the boundary; `convert`: how they cross;
//!   `typescript`: their declarations; `error`: errors as JS `Error`s; `runtime`: promises,
//!   clocks and timers; `pacing_host`: the page as the core's pace host (slow rules).

mod browser_segments;
mod class;
mod convert;
mod crud;
mod crud_place;
mod describing;
mod dto;
mod error;
mod indexed_db;
mod interchange;
mod local_storage;
mod news;
mod opening;
mod pacing_host;
#[cfg(feature = "read-model")]
pub mod read_model;
mod reading;
mod recovery;
mod runtime;
mod store;
mod subscribing;
mod teaching;
mod typescript;
mod writing;

pub use browser_segments::{Backend, BrowserSegments, BrowserStore};
pub use class::JsSandbox;
#[cfg(feature = "test-hooks")]
pub use indexed_db::WitnessGate;
pub use indexed_db::{Durability, IdbSegments, database_name};
pub use local_storage::{LocalSegments, commit_database_name};
pub use store::destroy;
