//! How IndexedDB's failures become the store's errors.

use super::requests::IdbError;
use crate::store::StoreError;

/// The backend's name in errors.
pub(super) const BACKEND: &str = "IndexedDB";

/// A failed request or transaction as a store error; a full quota is said as such.
pub(super) fn backend_error(operation: &'static str, error: IdbError) -> StoreError {
    if error.name == "QuotaExceededError" {
        StoreError::StorageFull {
            backend: BACKEND,
            detail: error.to_string(),
        }
    } else {
        StoreError::Backend {
            backend: BACKEND,
            operation,
            message: error.to_string(),
        }
    }
}

/// A Web Lock that could not be taken or held.
pub(super) fn lock_failed(operation: &'static str, message: String) -> StoreError {
    StoreError::Backend {
        backend: BACKEND,
        operation,
        message,
    }
}
