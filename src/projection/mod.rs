//! Projections: events flowing into a read model in real SQLite, which people query with SQL.
//! The read model is eventually consistent with the log and can always be rebuilt from it.

mod binding;
mod query;
mod read_model;

pub use query::{QueryError, QueryLimits, QueryResult, query_copy};
pub use read_model::{
    EVENTS, Projected, ProjectedEvent, ProjectionStatus, ProjectorState, ReadModel,
};

/// SQLite's own message for an error, without rusqlite's additions.
pub(crate) fn sqlite_message(error: rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(_, Some(message))
        | rusqlite::Error::SqlInputError { msg: message, .. } => message,
        other => other.to_string(),
    }
}

/// Why a projection could not be set up or changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// No projection has this name.
    #[error("there is no projection {name:?}; projections: {}", known.join(", "))]
    Unknown {
        /// The name asked for.
        name: String,
        /// The projections there are.
        known: Vec<String>,
    },
}
