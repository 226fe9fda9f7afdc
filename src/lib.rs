//! es-sandbox: an event store, replay engine and scenario runner that compiles to WebAssembly.
//!
//! The core (everything outside `web`) is plain Rust: it builds and tests natively. See
//! `ARCHITECTURE.md` for the map.

#![warn(missing_docs)]

pub mod domain;
pub mod error;
pub mod event;
pub mod expected;
pub mod projection;
pub mod replay;
pub mod rules;
pub mod sandbox;
pub mod scenario;
pub mod script;
pub mod snapshot;
pub mod store;
pub mod testing;
pub mod upcast;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use error::{ErrorKind, SandboxError};
pub use sandbox::Sandbox;
