//! A projector: one projection at work, with its checkpoint, its lifecycle (running, paused,
//! crashed, failed; stale when its definition changed since its tables were built) and its
//! statements, planned once per definition.

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::binding::{self, Plan};
use super::{ProjectionError, sqlite_message};
use crate::scenario::ProjectionSpec;

/// The built-in projection that mirrors the log.
pub const EVENTS: &str = "events";

/// Where a projector is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum ProjectorState {
    /// Applies new events.
    Running,
    /// Stopped by the user; queries see its tables as they were.
    Paused,
    /// Stopped in the middle of a round, before committing it: nothing of that round was kept.
    #[serde(rename_all = "camelCase")]
    Crashed {
        /// The position it had reached in the round it lost.
        at_position: u64,
    },
    /// An event could not be applied (or its tables could not be rebuilt); the projector stopped
    /// before it.
    #[serde(rename_all = "camelCase")]
    Failed {
        /// The event.
        at_position: u64,
        /// Why.
        message: String,
    },
}

/// A projector as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectionStatus {
    /// Its name.
    pub name: String,
    /// What it shows.
    pub description: String,
    /// The last position it applied (in the same transaction as its rows).
    pub checkpoint: u64,
    /// Where it is.
    #[serde(flatten)]
    pub state: ProjectorState,
    /// Its definition changed since its tables were built: rebuild to apply the new one.
    pub stale: bool,
    /// The tables and indexes it created.
    pub objects: Vec<String>,
}

/// What a projector runs per event.
#[derive(Debug, Clone)]
pub(super) enum Handlers {
    /// The `events` mirror, written by the read model's own statement.
    Mirror,
    /// SQL statements per event type, each with its parameter plan.
    Sql(BTreeMap<String, Vec<(String, Plan)>>),
}

/// One projection at work.
#[derive(Debug, Clone)]
pub(super) struct Projector {
    /// Its definition (`None`: the built-in mirror).
    pub spec: Option<ProjectionSpec>,
    /// Hash of the definition it follows now.
    pub hash: String,
    /// Hash of the definition its tables were built with.
    pub built_with: String,
    pub handlers: Handlers,
    pub checkpoint: u64,
    pub state: ProjectorState,
    /// (kind of schema object, name) of what its setup created.
    pub objects: Vec<(String, String)>,
    /// Crash in the next round after this many events (a lesson in checkpoints).
    pub crash_after: Option<usize>,
}

impl Projector {
    /// The `events` mirror, at position 0.
    pub fn mirror() -> Self {
        Projector {
            spec: None,
            hash: "built-in".into(),
            built_with: "built-in".into(),
            handlers: Handlers::Mirror,
            checkpoint: 0,
            state: ProjectorState::Running,
            objects: vec![("table".into(), EVENTS.into())],
            crash_after: None,
        }
    }

    pub fn name(&self) -> &str {
        self.spec.as_ref().map_or(EVENTS, |s| s.name.as_str())
    }

    /// Its definition changed since its tables were built.
    pub fn is_stale(&self) -> bool {
        self.hash != self.built_with
    }

    pub fn status(&self) -> ProjectionStatus {
        ProjectionStatus {
            name: self.name().to_string(),
            description: self.spec.as_ref().map_or_else(
                || "The log itself, as stored.".to_string(),
                |s| s.description.clone(),
            ),
            checkpoint: self.checkpoint,
            state: self.state.clone(),
            stale: self.is_stale(),
            objects: self.objects.iter().map(|(_, name)| name.clone()).collect(),
        }
    }
}

/// The hash of a projection's definition, recorded with its tables.
pub(super) fn definition_hash(spec: &ProjectionSpec) -> String {
    let text = serde_json::to_string(spec).unwrap_or_default();
    Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Prepares every handler statement once, to report SQL errors now and learn its parameters.
pub(super) fn plan_handlers(
    connection: &Connection,
    spec: &ProjectionSpec,
) -> Result<Handlers, ProjectionError> {
    let mut handlers = BTreeMap::new();
    for (event_type, statements) in &spec.on {
        let mut planned = Vec::new();
        for sql in statements.statements() {
            let definition = |message: String| ProjectionError::Definition {
                projection: spec.name.clone(),
                message: format!("{event_type}: {message}"),
            };
            let statement = connection
                .prepare_cached(sql)
                .map_err(|e| definition(sqlite_message(e)))?;
            let plan = binding::plan(&statement).map_err(definition)?;
            planned.push((sql.to_string(), plan));
        }
        handlers.insert(event_type.clone(), planned);
    }
    Ok(Handlers::Sql(handlers))
}
