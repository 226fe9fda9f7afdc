//! The read side's errors: a projection's that cannot be set up or changed, and a query's that
//! gives no answer. Plain data, in every build (the lean module has no read side, but the error
//! vocabulary, like the kinds JS switches on, is the same everywhere).

use serde::Serialize;

use crate::error::ErrorKind;

/// Why a projection could not be set up or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum ProjectionError {
    /// A projection's SQL is not valid: setup, a handler statement, or its parameters.
    #[error("projection {projection}: {message}")]
    Definition {
        /// The projection.
        projection: String,
        /// What is wrong, as SQLite says it.
        message: String,
    },
    /// SQLite failed.
    #[error("projection {projection}: {message}")]
    Sql {
        /// The projection (or `read model`).
        projection: String,
        /// SQLite's message.
        message: String,
    },
    /// The projection's definition changed since its tables were built.
    #[error(
        "projection {projection}: its definition changed since its tables were built; rebuild it"
    )]
    Stale {
        /// The projection.
        projection: String,
    },
    /// Only a failed projection has an event to skip.
    #[error("projection {projection} has not failed: there is no event to skip")]
    NotFailed {
        /// The projection.
        projection: String,
    },
    /// No projection has this name.
    #[error("there is no projection {name:?}; projections: {}", known.join(", "))]
    Unknown {
        /// The name asked for.
        name: String,
        /// The projections there are.
        known: Vec<String>,
    },
}

impl ProjectionError {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Projection
    }
}

/// The read side's errors: a projection's or a query's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(untagged)]
pub enum ReadSideError {
    /// A projection could not be set up or changed.
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    /// A query gave no answer.
    #[error(transparent)]
    Query(#[from] QueryError),
}

impl ReadSideError {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ReadSideError::Projection(error) => error.kind(),
            ReadSideError::Query(error) => error.kind(),
        }
    }
}

/// Why a query gave no answer.
///
/// Serialised (for JS callers' `details`): `{ refused }`, `{ sqlite }` or `{ limitMs }`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum QueryError {
    /// No SQL.
    #[error("type a SELECT statement to run")]
    Empty,
    /// The statement would change something, or there is more than one.
    #[error("refused: {reason}")]
    Refused {
        /// What was refused.
        #[serde(rename = "refused")]
        reason: String,
    },
    /// SQLite's own error, as it reports it.
    #[error("{message}")]
    Sql {
        /// SQLite's message.
        #[serde(rename = "sqlite")]
        message: String,
    },
    /// The query ran past its time limit.
    #[error("stopped after {limit_ms} ms: the query ran too long (a recursive query without end?)")]
    Interrupted {
        /// The limit.
        limit_ms: u64,
    },
}

impl QueryError {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Query
    }
}
