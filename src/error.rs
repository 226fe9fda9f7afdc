//! The class of an error, as JS callers and the page switch on it: one small enum that every
//! layer's error maps onto with its own `kind()`, so that classifying points down, never up.

use serde::Serialize;

/// The class of an error, for callers that switch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    /// Optimistic concurrency conflict: reload and retry.
    Conflict,
    /// A business rule refused a command.
    BusinessRule,
    /// A script failed to compile or run.
    Script,
    /// Input that cannot be used.
    BadInput,
    /// An event id was misused (re-used with other content, or in a half-stored batch).
    Idempotency,
    /// Browser storage is full.
    StorageFull,
    /// A stored record cannot be read.
    Corrupt,
    /// Storage failed otherwise.
    Storage,
    /// A projection's SQL failed.
    Projection,
    /// A query was refused, failed or ran too long.
    Query,
    /// The store's events were written under another scenario.
    OtherScenario,
}

impl ErrorKind {
    /// The kind as the string JS sees: `conflict`, `businessRule`, …
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Conflict => "conflict",
            ErrorKind::BusinessRule => "businessRule",
            ErrorKind::Script => "script",
            ErrorKind::BadInput => "badInput",
            ErrorKind::Idempotency => "idempotency",
            ErrorKind::StorageFull => "storageFull",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::Storage => "storage",
            ErrorKind::Projection => "projection",
            ErrorKind::Query => "query",
            ErrorKind::OtherScenario => "otherScenario",
        }
    }
}
