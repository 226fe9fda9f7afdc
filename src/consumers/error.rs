//! The lab's error: settings out of range, or an action that does not fit the run.

use serde::Serialize;

use crate::error::ErrorKind;

/// Why the lab refused settings or an action. Nothing changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum LabError {
    /// A setting out of its range.
    #[error("{setting} must be {range}, got {given}")]
    Setting {
        /// The setting's name, as the lab's options name it.
        setting: &'static str,
        /// Its range, in words.
        range: &'static str,
        /// What was given.
        given: String,
    },
    /// An action names a consumer the lab does not have.
    #[error("there is no consumer {consumer}; the lab has {consumers}")]
    NoSuchConsumer {
        /// The consumer asked for (from 0).
        consumer: usize,
        /// How many there are.
        consumers: usize,
    },
    /// An action that needs a persistent subscription, on a catch-up one.
    #[error("{action} needs a persistent subscription: catch-up subscriptions park nothing")]
    NotPersistent {
        /// The action.
        action: &'static str,
    },
}

impl LabError {
    /// The class of this error: input that cannot be used.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::BadInput
    }
}
