//! The read side: events flow from the log into a read model in real SQLite, which people query
//! with SQL. The read model is eventually consistent with the log and can always be rebuilt from
//! it; a what-if read model is built the same way from the log without some events.
//!
//! - `database`: the read model (`ReadModel`): its tables, its projectors, their lifecycle.
//! - `projector`: one projection at work: checkpoint, state, planned statements.
//! - `round`: one projector's round, with its checkpoint, in one transaction.
//! - `binding`: an event's named parameters bound to a statement.
//! - `query`: the query box, read-only by SQLite's own authorizer;
//! - `consumer_model`: a consumer node's read model, with its inbox and checkpoint.

mod binding;
mod consumer_model;
mod database;
mod projector;
mod query;
mod round;

use std::collections::HashSet;

pub use crate::read_error::{ProjectionError, QueryError, ReadSideError};
pub use consumer_model::ConsumerModel;
pub use database::ReadModel;
pub use projector::{EVENTS, ProjectionStatus, ProjectorState};
pub use query::{QueryLimits, QueryResult, query_copy};
pub use round::{Projected, ProjectedEvent};

use crate::domain::Domain;
use crate::event::{EventId, StoredEvent};

/// SQLite's own message for an error, without rusqlite's additions.
pub(crate) fn sqlite_message(error: rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(_, Some(message))
        | rusqlite::Error::SqlInputError { msg: message, .. } => message,
        other => other.to_string(),
    }
}

/// A read model of its own, built from `events` without those whose ids are in `exclude`: what
/// the read model would say if they had never happened (or, given the log up to a position,
/// what it said then). The real read model is not touched.
pub fn what_if(
    domain: &Domain,
    events: Vec<StoredEvent>,
    exclude: &[EventId],
) -> Result<ReadModel, ProjectionError> {
    let mut model = ReadModel::open(&domain.scenario().projections)?;
    let exclude: HashSet<&EventId> = exclude.iter().collect();
    let kept = events
        .into_iter()
        .filter(|e| !exclude.contains(&e.event_id))
        .collect();
    model.project(domain, kept);
    Ok(model)
}
