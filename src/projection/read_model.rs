//! The read model: an in-memory SQLite database fed by projectors, each with a checkpoint stored
//! in the same transaction as the rows it changed, so a crash never applies an event twice or
//! skips one.

use std::cell::OnceCell;
use std::collections::BTreeMap;

use rusqlite::{Connection, params};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::binding::{self, Plan};
use super::query::{self, QueryError, QueryLimits, QueryResult};
use super::{ProjectionError, sqlite_message};
use crate::event::StoredEvent;
use crate::scenario::ProjectionSpec;

/// The built-in projection that mirrors the log.
pub const EVENTS: &str = "events";
const CHECKPOINTS: &str = "projection_checkpoints";

/// An event as projectors see it: as stored (for the `events` mirror) and upcast to its current
/// schema (for SQL projections), or why it cannot be upcast.
pub struct ProjectedEvent {
    /// The event as stored.
    pub stored: StoredEvent,
    /// The event as the rules read it, when upcasting changed it (`None`: as stored).
    upcast: Option<Result<StoredEvent, String>>,
    fields: OnceCell<Option<Map<String, Value>>>,
}

impl ProjectedEvent {
    /// An event already in its current schema.
    pub fn current(stored: StoredEvent) -> Self {
        ProjectedEvent {
            stored,
            upcast: None,
            fields: OnceCell::new(),
        }
    }

    /// An event and its upcast form (or why upcasting failed).
    pub fn upcast(stored: StoredEvent, upcast: Result<StoredEvent, String>) -> Self {
        ProjectedEvent {
            stored,
            upcast: Some(upcast),
            fields: OnceCell::new(),
        }
    }

    /// The event in its current schema, or why it cannot be upcast.
    fn as_current(&self) -> Result<&StoredEvent, &str> {
        match &self.upcast {
            None => Ok(&self.stored),
            Some(upcast) => upcast.as_ref().map_err(String::as_str),
        }
    }

    /// The upcast data's fields, parsed once for all projections.
    fn fields(&self) -> Option<&Map<String, Value>> {
        self.fields
            .get_or_init(|| {
                let current = self.as_current().ok()?;
                serde_json::from_str(current.data.as_json()).ok()
            })
            .as_ref()
    }
}

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
    /// An event could not be applied; the projector stopped before it.
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

/// What one round of projecting did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Projected {
    /// Events applied, summed over projectors.
    pub applied: usize,
    /// Projectors that crashed or failed in this round.
    pub stopped: Vec<String>,
}

#[derive(Debug, Clone)]
enum Handlers {
    /// The `events` mirror, written by the store's own statement.
    Mirror,
    /// SQL statements per event type, each with its parameter plan.
    Sql(BTreeMap<String, Vec<(String, Plan)>>),
}

#[derive(Debug, Clone)]
struct Projector {
    spec: Option<ProjectionSpec>,
    hash: String,
    built_with: String,
    handlers: Handlers,
    checkpoint: u64,
    state: ProjectorState,
    objects: Vec<(String, String)>,
    crash_after: Option<usize>,
}

impl Projector {
    fn name(&self) -> &str {
        self.spec.as_ref().map_or(EVENTS, |s| s.name.as_str())
    }
}

/// The read model.
pub struct ReadModel {
    connection: Connection,
    projectors: Vec<Projector>,
}

impl std::fmt::Debug for ReadModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadModel")
            .field("projectors", &self.projectors.len())
            .finish_non_exhaustive()
    }
}

fn definition_hash(spec: &ProjectionSpec) -> String {
    let text = serde_json::to_string(spec).unwrap_or_default();
    Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn sqlite(projection: &str, error: rusqlite::Error) -> ProjectionError {
    ProjectionError::Sql {
        projection: projection.to_string(),
        message: super::sqlite_message(error),
    }
}

impl ReadModel {
    /// An empty in-memory read model with the `events` mirror and these projections, their
    /// tables created and their statements checked.
    pub fn open(specs: &[ProjectionSpec]) -> Result<Self, ProjectionError> {
        let connection = Connection::open_in_memory().map_err(|e| sqlite("read model", e))?;
        connection
            .execute_batch(&format!(
                "CREATE TABLE {CHECKPOINTS} (projection TEXT PRIMARY KEY, position INTEGER NOT NULL, definition TEXT NOT NULL);
                 CREATE TABLE {EVENTS} (position INTEGER PRIMARY KEY, event_id TEXT NOT NULL, aggregate_id TEXT NOT NULL,
                   version INTEGER NOT NULL, type TEXT NOT NULL, schema_version INTEGER NOT NULL, data TEXT NOT NULL,
                   timestamp INTEGER NOT NULL, correlation_id TEXT, causation_id TEXT);
                 INSERT INTO {CHECKPOINTS} VALUES ('{EVENTS}', 0, 'built-in');"
            ))
            .map_err(|e| sqlite("read model", e))?;
        let mut model = ReadModel {
            connection,
            projectors: vec![Projector {
                spec: None,
                hash: "built-in".into(),
                built_with: "built-in".into(),
                handlers: Handlers::Mirror,
                checkpoint: 0,
                state: ProjectorState::Running,
                objects: vec![("table".into(), EVENTS.into())],
                crash_after: None,
            }],
        };
        let mut names = vec![EVENTS.to_string(), CHECKPOINTS.to_string()];
        for spec in specs {
            if names.contains(&spec.name) {
                return Err(ProjectionError::Definition {
                    projection: spec.name.clone(),
                    message: "two projections have this name (or it is reserved)".into(),
                });
            }
            names.push(spec.name.clone());
            let projector = model.create(spec)?;
            model.projectors.push(projector);
        }
        Ok(model)
    }

    /// Runs a projection's setup and checks its statements; returns the projector.
    fn create(&mut self, spec: &ProjectionSpec) -> Result<Projector, ProjectionError> {
        let name = spec.name.as_str();
        let hash = definition_hash(spec);
        let before = self.schema_objects()?;
        let tx = self.connection.transaction().map_err(|e| sqlite(name, e))?;
        for sql in spec.setup.statements() {
            tx.execute_batch(sql).map_err(|e| sqlite(name, e))?;
        }
        tx.execute(
            &format!("INSERT OR REPLACE INTO {CHECKPOINTS} VALUES (?1, 0, ?2)"),
            params![name, hash],
        )
        .map_err(|e| sqlite(name, e))?;
        tx.commit().map_err(|e| sqlite(name, e))?;
        let objects = self
            .schema_objects()?
            .into_iter()
            .filter(|o| !before.contains(o))
            .collect();
        let handlers = self.plan_handlers(spec)?;
        Ok(Projector {
            spec: Some(spec.clone()),
            built_with: hash.clone(),
            hash,
            handlers,
            checkpoint: 0,
            state: ProjectorState::Running,
            objects,
            crash_after: None,
        })
    }

    /// Prepares every handler statement once, to report SQL errors now and learn its parameters.
    fn plan_handlers(&self, spec: &ProjectionSpec) -> Result<Handlers, ProjectionError> {
        let mut handlers = BTreeMap::new();
        for (event_type, statements) in &spec.on {
            let mut planned = Vec::new();
            for sql in statements.statements() {
                let statement = self.connection.prepare_cached(sql).map_err(|e| {
                    ProjectionError::Definition {
                        projection: spec.name.clone(),
                        message: format!("{event_type}: {}", sqlite(&spec.name, e)),
                    }
                })?;
                let plan =
                    binding::plan(&statement).map_err(|message| ProjectionError::Definition {
                        projection: spec.name.clone(),
                        message: format!("{event_type}: {message}"),
                    })?;
                planned.push((sql.to_string(), plan));
            }
            handlers.insert(event_type.clone(), planned);
        }
        Ok(Handlers::Sql(handlers))
    }

    fn schema_objects(&self) -> Result<Vec<(String, String)>, ProjectionError> {
        let mut statement = self
            .connection
            .prepare("SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'")
            .map_err(|e| sqlite("read model", e))?;
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(|e| sqlite("read model", e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| sqlite("read model", e))
    }

    /// The position after which the running projectors need events (the lowest checkpoint), or
    /// `None` when none is running.
    pub fn needs_from(&self) -> Option<u64> {
        self.projectors
            .iter()
            .filter(|p| p.state == ProjectorState::Running)
            .map(|p| p.checkpoint)
            .min()
    }

    /// Applies events (in position order, starting at or before every running projector's
    /// checkpoint + 1) to each running projector, each in one transaction with its checkpoint.
    pub fn apply(&mut self, events: &[ProjectedEvent]) -> Projected {
        let mut projected = Projected::default();
        for index in 0..self.projectors.len() {
            if self.projectors[index].state != ProjectorState::Running {
                continue;
            }
            let checkpoint = self.projectors[index].checkpoint;
            let start = events.partition_point(|e| e.stored.position <= checkpoint);
            let pending = &events[start..];
            if pending.is_empty() {
                continue;
            }
            let (applied, state) = self.run_projector(index, pending);
            projected.applied += applied;
            let projector = &mut self.projectors[index];
            if let Some(state) = state {
                projected.stopped.push(projector.name().to_string());
                projector.state = state;
            }
        }
        projected
    }

    /// One projector over pending events, in one transaction: how many were applied, and the
    /// state it stopped in, if it stopped. An event that fails stops the projector just before
    /// it: the events before it are applied again and kept.
    fn run_projector(
        &mut self,
        index: usize,
        pending: &[ProjectedEvent],
    ) -> (usize, Option<ProjectorState>) {
        let crash_after = self.projectors[index].crash_after.take();
        match self.run_batch(index, pending, crash_after) {
            Ok(applied) => (applied, None),
            Err((failed_at, state)) => {
                if failed_at > 0 && matches!(state, ProjectorState::Failed { .. }) {
                    let kept = self
                        .run_batch(index, &pending[..failed_at], None)
                        .unwrap_or(0);
                    return (kept, Some(state));
                }
                (0, Some(state))
            }
        }
    }

    /// Applies a batch in one transaction with the checkpoint; on failure, rolls it all back and
    /// says at which event (index in the batch) and in what state it stopped.
    fn run_batch(
        &mut self,
        index: usize,
        pending: &[ProjectedEvent],
        crash_after: Option<usize>,
    ) -> Result<usize, (usize, ProjectorState)> {
        // Borrowed apart: the transaction needs the connection while the handlers are read.
        let ReadModel {
            connection,
            projectors,
        } = self;
        let projector = &projectors[index];
        let first = pending.first().map_or(0, |e| e.stored.position);
        let tx = connection.transaction().map_err(|e| {
            let message = sqlite_message(e);
            (
                0,
                ProjectorState::Failed {
                    at_position: first,
                    message,
                },
            )
        })?;
        // A crash is staged after `after` events, or after the whole round if it is shorter.
        let crash_at = crash_after.map(|after| after.min(pending.len()));
        let written = write_events(&tx, &projector.handlers, pending, crash_at);
        let last = match written {
            Ok(last) => last,
            Err(stopped) => {
                // Dropping the transaction rolls back: what a crash before commit does, and what
                // a failed event needs.
                drop(tx);
                return Err(stopped);
            }
        };
        let Some(position) = last else {
            return Ok(0);
        };
        let saved = tx
            .execute(
                &format!("UPDATE {CHECKPOINTS} SET position = ?1 WHERE projection = ?2"),
                params![
                    i64::try_from(position).unwrap_or(i64::MAX),
                    projector.name()
                ],
            )
            .and_then(|_| tx.commit());
        match saved {
            Ok(()) => {
                projectors[index].checkpoint = position;
                Ok(pending.len())
            }
            Err(e) => Err((
                0,
                ProjectorState::Failed {
                    at_position: first,
                    message: sqlite_message(e),
                },
            )),
        }
    }

    fn find(&mut self, name: &str) -> Result<&mut Projector, ProjectionError> {
        match self.projectors.iter().position(|p| p.name() == name) {
            Some(index) => Ok(&mut self.projectors[index]),
            None => Err(ProjectionError::Unknown {
                name: name.to_string(),
                known: self
                    .projectors
                    .iter()
                    .map(|p| p.name().to_string())
                    .collect(),
            }),
        }
    }

    /// Stops a projector; its tables keep what they have.
    pub fn pause(&mut self, name: &str) -> Result<(), ProjectionError> {
        self.find(name)?.state = ProjectorState::Paused;
        Ok(())
    }

    /// Restarts a paused, crashed or failed projector from its checkpoint. A stale one must be
    /// rebuilt instead.
    pub fn resume(&mut self, name: &str) -> Result<(), ProjectionError> {
        let projector = self.find(name)?;
        if projector.hash != projector.built_with {
            return Err(ProjectionError::Definition {
                projection: name.to_string(),
                message: "its definition changed since its tables were built; rebuild it".into(),
            });
        }
        projector.state = ProjectorState::Running;
        Ok(())
    }

    /// Makes a projector crash in its next round, after applying `after` events of it (or all of
    /// a shorter round) and before committing: the round's work is lost with its transaction.
    pub fn crash_next(&mut self, name: &str, after: usize) -> Result<(), ProjectionError> {
        self.find(name)?.crash_after = Some(after);
        Ok(())
    }

    /// Drops a projection's tables, runs its (current) setup again and sets its checkpoint to 0,
    /// so it replays the log from the start.
    pub fn rebuild(&mut self, name: &str) -> Result<(), ProjectionError> {
        let projector = self.find(name)?;
        let drops = drop_objects(&projector.objects);
        let Some(spec) = projector.spec.clone() else {
            self.connection
                .execute_batch(&format!(
                    "DELETE FROM {EVENTS}; UPDATE {CHECKPOINTS} SET position = 0 WHERE projection = '{EVENTS}';"
                ))
                .map_err(|e| sqlite(EVENTS, e))?;
            let mirror = self.find(EVENTS)?;
            mirror.checkpoint = 0;
            mirror.state = ProjectorState::Running;
            return Ok(());
        };
        self.connection
            .execute_batch(&drops)
            .map_err(|e| sqlite(name, e))?;
        let rebuilt = self.create(&spec)?;
        *self.find(name)? = rebuilt;
        Ok(())
    }

    /// Replaces the projection definitions: new ones are created, removed ones dropped, and
    /// changed ones paused and marked stale until rebuilt.
    pub fn redefine(&mut self, specs: &[ProjectionSpec]) -> Result<(), ProjectionError> {
        let removed: Vec<String> = self
            .projectors
            .iter()
            .filter_map(|p| p.spec.as_ref())
            .filter(|old| !specs.iter().any(|s| s.name == old.name))
            .map(|old| old.name.clone())
            .collect();
        for name in removed {
            let index = self.projectors.iter().position(|p| p.name() == name);
            if let Some(index) = index {
                let projector = self.projectors.remove(index);
                let mut drops = drop_objects(&projector.objects);
                drops.push_str(&format!(
                    "DELETE FROM {CHECKPOINTS} WHERE projection = '{}';",
                    name.replace('\'', "''")
                ));
                self.connection
                    .execute_batch(&drops)
                    .map_err(|e| sqlite(&name, e))?;
            }
        }
        for spec in specs {
            match self.projectors.iter().position(|p| p.name() == spec.name) {
                None => {
                    let projector = self.create(spec)?;
                    self.projectors.push(projector);
                }
                Some(index) => {
                    let hash = definition_hash(spec);
                    if self.projectors[index].hash != hash {
                        let handlers = self
                            .plan_handlers(spec)
                            .unwrap_or(Handlers::Sql(BTreeMap::new()));
                        let projector = &mut self.projectors[index];
                        projector.spec = Some(spec.clone());
                        projector.hash = hash;
                        projector.handlers = handlers;
                        projector.state = ProjectorState::Paused;
                    }
                }
            }
        }
        Ok(())
    }

    /// Every projector's status, the `events` mirror first.
    pub fn status(&self) -> Vec<ProjectionStatus> {
        self.projectors
            .iter()
            .map(|p| ProjectionStatus {
                name: p.name().to_string(),
                description: p.spec.as_ref().map_or_else(
                    || "The log itself, as stored.".to_string(),
                    |s| s.description.clone(),
                ),
                checkpoint: p.checkpoint,
                state: p.state.clone(),
                stale: p.hash != p.built_with,
                objects: p.objects.iter().map(|(_, name)| name.clone()).collect(),
            })
            .collect()
    }

    /// Runs one read-only query.
    pub fn query(&mut self, sql: &str, limits: &QueryLimits) -> Result<QueryResult, QueryError> {
        query::run(&mut self.connection, sql, limits)
    }

    /// A copy of the whole database in SQLite's file format, for [`query_copy`] to run a query
    /// elsewhere (the page runs it in a worker, so that a long query never blocks it).
    ///
    /// [`query_copy`]: super::query_copy
    pub fn to_bytes(&mut self) -> Result<Vec<u8>, ProjectionError> {
        self.connection
            .serialize(rusqlite::MAIN_DB)
            .map(|data| data.to_vec())
            .map_err(|e| sqlite("read model", e))
    }
}

/// SQL that drops a projection's tables and views (its indexes and triggers go with them).
fn drop_objects(objects: &[(String, String)]) -> String {
    let mut drops = String::new();
    for (kind, object) in objects {
        if kind == "table" || kind == "view" {
            drops.push_str(&format!(
                "DROP {} IF EXISTS \"{}\";",
                kind.to_uppercase(),
                object.replace('"', "\"\"")
            ));
        }
    }
    drops
}

/// Events the `events` mirror inserts with one statement: fewer statement runs, same rows.
const MIRROR_ROWS: usize = 64;

/// Writes a projector's statements for `pending` events, stopping before event `crash_at` (a
/// simulated crash) if it is set: the position of the last event written, or where it stopped.
fn write_events(
    tx: &rusqlite::Transaction<'_>,
    handlers: &Handlers,
    pending: &[ProjectedEvent],
    crash_at: Option<usize>,
) -> Result<Option<u64>, (usize, ProjectorState)> {
    let failed = |n: usize, at_position: u64, message: String| {
        (
            n,
            ProjectorState::Failed {
                at_position,
                message,
            },
        )
    };
    let first = pending.first().map_or(0, |e| e.stored.position);
    let end = crash_at.map_or(pending.len(), |at| at.min(pending.len()));
    let mut writer =
        Writer::prepare(tx, handlers, end).map_err(|message| failed(0, first, message))?;
    let mut n = 0;
    while n < end {
        let at_position = pending[n].stored.position;
        n += writer
            .write(&pending[n..end])
            .map_err(|message| failed(n, at_position, message))?;
    }
    let last = end.checked_sub(1).map(|i| pending[i].stored.position);
    if let Some(at) = crash_at {
        let reached = last.unwrap_or(first);
        return Err((
            at,
            ProjectorState::Crashed {
                at_position: reached,
            },
        ));
    }
    Ok(last)
}

/// A projector's statements, prepared for one round.
enum Writer<'t, 'h> {
    /// One row, and (for long rounds) [`MIRROR_ROWS`] rows at a time, with the columns' plan.
    Mirror {
        one: rusqlite::Statement<'t>,
        many: Option<rusqlite::Statement<'t>>,
        plan: Plan,
    },
    Sql(BTreeMap<&'h str, Vec<(rusqlite::Statement<'t>, &'h Plan)>>),
}

impl<'t, 'h> Writer<'t, 'h> {
    fn prepare(
        tx: &'t rusqlite::Transaction<'_>,
        handlers: &'h Handlers,
        events: usize,
    ) -> Result<Self, String> {
        match handlers {
            Handlers::Mirror => {
                let plan = binding::mirror_plan();
                let insert = |rows: usize| {
                    let row = format!("({})", vec!["?"; plan.len()].join(", "));
                    let values = vec![row; rows].join(", ");
                    tx.prepare(&format!("INSERT INTO {EVENTS} VALUES {values}"))
                        .map_err(sqlite_message)
                };
                let many = if events >= MIRROR_ROWS {
                    Some(insert(MIRROR_ROWS)?)
                } else {
                    None
                };
                Ok(Writer::Mirror {
                    one: insert(1)?,
                    many,
                    plan,
                })
            }
            Handlers::Sql(by_type) => {
                let mut prepared = BTreeMap::new();
                for (event_type, statements) in by_type {
                    let mut list = Vec::with_capacity(statements.len());
                    for (sql, plan) in statements {
                        list.push((tx.prepare(sql).map_err(sqlite_message)?, plan));
                    }
                    prepared.insert(event_type.as_str(), list);
                }
                Ok(Writer::Sql(prepared))
            }
        }
    }

    /// Writes the first of `events`, or more at once where it can: how many it wrote.
    fn write(&mut self, events: &[ProjectedEvent]) -> Result<usize, String> {
        match self {
            Writer::Mirror {
                many: Some(many),
                plan,
                ..
            } if events.len() >= MIRROR_ROWS => {
                mirror(many, plan, &events[..MIRROR_ROWS])?;
                Ok(MIRROR_ROWS)
            }
            Writer::Mirror { one, plan, .. } => {
                mirror(one, plan, &events[..1])?;
                Ok(1)
            }
            Writer::Sql(by_type) => {
                apply_sql(by_type, &events[0])?;
                Ok(1)
            }
        }
    }
}

/// Writes events into the `events` mirror, as stored, with a statement of as many rows.
fn mirror(
    statement: &mut rusqlite::Statement<'_>,
    plan: &Plan,
    events: &[ProjectedEvent],
) -> Result<(), String> {
    for (row, event) in events.iter().enumerate() {
        binding::bind(statement, plan, row * plan.len(), &event.stored, None)?;
    }
    statement
        .raw_execute()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Runs a projection's statements for one event.
fn apply_sql(
    by_type: &mut BTreeMap<&str, Vec<(rusqlite::Statement<'_>, &Plan)>>,
    event: &ProjectedEvent,
) -> Result<(), String> {
    let current = event
        .as_current()
        .map_err(|e| format!("cannot upcast: {e}"))?;
    let Some(statements) = by_type.get_mut(&*current.event_type) else {
        return Ok(());
    };
    for (n, (statement, plan)) in statements.iter_mut().enumerate() {
        let fields = if plan.iter().any(|(_, s)| s.needs_fields()) {
            event.fields()
        } else {
            None
        };
        let run = binding::bind(statement, plan, 0, current, fields).and_then(|()| {
            statement
                .raw_execute()
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        run.map_err(|message| {
            format!(
                "{} statement {} at event {} (position {}): {message}",
                current.event_type,
                n + 1,
                current.event_id,
                current.position
            )
        })?;
    }
    Ok(())
}
