//! The write side's error: the rules refused or failed (the domain's), the store did, or the
//! scenario is not valid (it does not compile, or its seed cannot be planned).

use serde::Serialize;

use crate::domain::DomainError;
use crate::error::ErrorKind;
use crate::pacing::Stopped;
use crate::scenario::ScenarioError;
use crate::script::ScriptError;
use crate::store::StoreError;

/// Why a command, an append, a replay or a snapshot did not happen. Nothing is written when one
/// is returned.
///
/// Serialised (for JS callers' `details`), a variant is the error it wraps.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(untagged)]
pub enum WriteSideError {
    /// The rules refused or failed, or the input does not fit them.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The store refused or failed (conflict, idempotency, storage).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The scenario is not valid, or its seed cannot be planned.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
}

impl From<ScriptError> for WriteSideError {
    fn from(error: ScriptError) -> Self {
        WriteSideError::Domain(error.into())
    }
}

impl From<Stopped> for WriteSideError {
    fn from(stopped: Stopped) -> Self {
        ScriptError::from(stopped).into()
    }
}

impl WriteSideError {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            WriteSideError::Domain(error) => error.kind(),
            WriteSideError::Store(error) => error.kind(),
            WriteSideError::Scenario(error) => error.kind(),
        }
    }

    /// Shorthand for a [`DomainError::BadInput`].
    pub fn bad_input(what: impl Into<String>, reason: impl Into<String>) -> Self {
        DomainError::bad_input(what, reason).into()
    }
}
