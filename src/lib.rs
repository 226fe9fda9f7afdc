//! es-sandbox: an event store, replay engine and scenario runner that compiles to WebAssembly.
//!
//! The core (everything outside `web`) is plain Rust: it builds and tests natively. The write
//! side ([`WriteSide`]: commands → decisions → events → [`EventStore`]) and the read side
//! (`read_side::ReadModel`: projections → SQLite → queries) meet in [`Sandbox`]; events move in and out
//! of a store through [`interchange`] (NDJSON, KurrentDB, CloudEvents, share links, fixtures).
//! See `ARCHITECTURE.md` for the map.

#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod aggregate;
pub mod consumers;
pub mod crud;
pub mod diff;
pub mod domain;
pub mod error;
pub mod event;
pub mod expected;
pub mod interchange;
pub mod pacing;
pub mod random;
pub mod read_error;
#[cfg(feature = "read-model")]
pub mod read_side;
pub mod replay;
pub mod rules;
pub mod sandbox;
pub mod scenario;
pub mod script;
pub mod shape;
pub mod snapshot;
pub mod store;
pub mod subscription;
pub mod testing;
pub mod upcast;
#[cfg(target_arch = "wasm32")]
pub mod web;
pub mod write_side;

pub use aggregate::{Decision, Placement, decide};
pub use domain::{AggregateType, Domain, DomainError};
pub use error::ErrorKind;
pub use event::{EventData, EventId, Metadata, ProposedEvent, StoredEvent, Timestamp};
pub use expected::ExpectedVersion;
pub use replay::{Replay, ReplayOptions};
pub use sandbox::{OnOtherScenario, Sandbox, SandboxError};
pub use scenario::{Scenario, ScenarioError, shipped};
pub use snapshot::Snapshot;
pub use store::{EventStore, MemoryStore, ReadAll, SegmentedStore, StoreError, VersionRange};
pub use write_side::{
    CommandOptions, CommandRequest, Committed, NewEvent, WriteSide, WriteSideError,
};
