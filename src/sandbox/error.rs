//! The sandbox's error: the union of every layer's, where the write side, the read side and the
//! interchange meet. Each converts upward with `From`; the kinds JS switches on are the lower
//! layers' own.

use serde::Serialize;

use crate::domain::DomainError;
use crate::error::ErrorKind;
use crate::interchange::{ImportError, InterchangeError};
use crate::read_error::{ProjectionError, QueryError, ReadSideError};
use crate::scenario::ScenarioError;
use crate::script::ScriptError;
use crate::store::StoreError;
use crate::write_side::WriteSideError;

/// Why a sandbox operation did not happen. Nothing is written when one is returned.
///
/// Serialised (for JS callers' `details`), a variant is its fields, or the error it wraps.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum SandboxError {
    /// The write side's: the rules refused or failed, the input does not fit them, the store
    /// refused or failed, or the scenario is not valid.
    #[error(transparent)]
    Write(#[from] WriteSideError),
    /// A file (or link) to import has problems.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// A projection could not be set up or changed, or a query gave no answer.
    #[error(transparent)]
    ReadSide(#[from] ReadSideError),
    /// The store's events were written under another scenario than the one given.
    #[error("{}", other_scenario(stored, given))]
    OtherScenario {
        /// The scenario recorded with the store.
        stored: String,
        /// The scenario given.
        given: String,
    },
    /// Other input that cannot be used, such as a malformed options object.
    #[error("{what}: {reason}")]
    BadInput {
        /// Which input.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Why a store was not opened with another scenario, and the ways to open it.
fn other_scenario(stored: &str, given: &str) -> String {
    if stored == given {
        format!(
            "this store's events were written under other rules of scenario {stored}: open it with the store's own rules (onOtherScenario: \"useStored\") or with the ones given (\"useGiven\")"
        )
    } else {
        format!(
            "this store holds events of scenario {stored}, not {given}: open it with {stored} (onOtherScenario: \"useStored\"), or with {given} anyway (\"useGiven\")"
        )
    }
}

/// What the write side's error takes in, the sandbox's takes in the same way.
macro_rules! through_the_write_side {
    ($($error:ty),*) => {
        $(impl From<$error> for SandboxError {
            fn from(error: $error) -> Self {
                SandboxError::Write(error.into())
            }
        })*
    };
}

through_the_write_side!(DomainError, StoreError, ScenarioError, ScriptError);

impl From<ProjectionError> for SandboxError {
    fn from(error: ProjectionError) -> Self {
        SandboxError::ReadSide(error.into())
    }
}

impl From<QueryError> for SandboxError {
    fn from(error: QueryError) -> Self {
        SandboxError::ReadSide(error.into())
    }
}

impl From<InterchangeError> for SandboxError {
    fn from(error: InterchangeError) -> Self {
        match error {
            InterchangeError::Import(error) => SandboxError::Import(error),
            InterchangeError::Write(error) => SandboxError::Write(error),
        }
    }
}

impl SandboxError {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SandboxError::Write(error) => error.kind(),
            SandboxError::Import(error) => error.kind(),
            SandboxError::ReadSide(error) => error.kind(),
            SandboxError::OtherScenario { .. } => ErrorKind::OtherScenario,
            SandboxError::BadInput { .. } => ErrorKind::BadInput,
        }
    }

    /// Shorthand for [`SandboxError::BadInput`].
    pub fn bad_input(what: impl Into<String>, reason: impl Into<String>) -> Self {
        SandboxError::BadInput {
            what: what.into(),
            reason: reason.into(),
        }
    }
}
