//! A sandbox without a read side: the lean module, built without the `read-model` feature
//! (no SQLite), opens none; nothing is projected or queried.

use super::SandboxError;
use crate::domain::Domain;

/// No read side.
pub struct ReadSide;

/// Opens no read side.
pub(super) fn open(_domain: &Domain) -> Result<ReadSide, SandboxError> {
    Ok(ReadSide)
}

/// There are no projections to check.
pub(super) fn check(_domain: &Domain) -> Result<(), SandboxError> {
    Ok(())
}
