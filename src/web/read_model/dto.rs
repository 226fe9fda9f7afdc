//! The read model's option and answer shapes: query options and answers, projections' lags.

use serde::{Deserialize, Serialize};

use crate::event::EventId;
use crate::read_side::{ProjectionStatus, QueryLimits, QueryResult};

/// Options of `query`, `queryCopy` and `readModelCopy`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryOptions {
    #[serde(default)]
    pub max_rows: Option<usize>,
    #[serde(default)]
    pub time_limit_ms: Option<f64>,
    #[serde(default)]
    pub exclude: Vec<EventId>,
    /// Time travel: answer as the read model would have when the log ended at this position.
    #[serde(default)]
    pub as_of: Option<u64>,
}

impl QueryOptions {
    /// Whether the answer needs a read model of its own (a what-if or a past one).
    pub fn hypothetical(&self) -> bool {
        !self.exclude.is_empty() || self.as_of.is_some()
    }

    /// The limits, with the page's clock.
    pub fn limits(&self, clock: fn() -> f64) -> QueryLimits {
        QueryLimits {
            max_rows: self.max_rows.unwrap_or(200),
            time_limit_ms: self.time_limit_ms.unwrap_or(2_000.0),
            clock,
        }
    }
}

/// A projection an answer read from, and how far it is behind the log.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub name: String,
    pub checkpoint: u64,
    /// Events of the log it has not applied yet (0: it is current).
    pub behind: u64,
}

/// What `query` resolves to.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryAnswer {
    #[serde(flatten)]
    pub result: QueryResult,
    /// How long the query took.
    pub ms: f64,
    /// Whether it ran on a what-if read model.
    pub what_if: bool,
    /// The log position it was answered as of (time travel), if not now.
    pub as_of: Option<u64>,
    /// The projections the statement read, and how far each is behind the log (none for a
    /// what-if answer, which is computed from the whole log).
    pub sources: Vec<Source>,
}

/// A projection's status with how far it is behind the log.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectionLag {
    #[serde(flatten)]
    pub status: ProjectionStatus,
    /// Events of the log it has not applied yet.
    pub behind: u64,
}

/// What `projections` resolves to.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadModelInfo {
    pub head: u64,
    pub delay_ms: f64,
    pub location: &'static str,
    /// Moves on with every change to the tables: a copy of the same generation is current.
    pub generation: u64,
    /// How far the slowest running projection is behind the log.
    pub behind: u64,
    pub projections: Vec<ProjectionLag>,
}
