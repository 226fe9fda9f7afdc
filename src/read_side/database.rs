//! The read model: one in-memory SQLite database with the `events` mirror, the checkpoints table
//! and each projection's tables, and the projectors that fill them. Every change a projector
//! makes goes through a round (`round`), with its checkpoint, in one transaction.

use std::collections::HashSet;

use rusqlite::{Connection, params};

use super::projector::{
    EVENTS, Handlers, ProjectionStatus, Projector, ProjectorState, definition_hash, plan_handlers,
};
use super::query::{self, QueryLimits, QueryResult};
use super::round::{self, CHECKPOINTS, PARKED, Projected, ProjectedEvent};
use super::{ProjectionError, QueryError, sqlite_message};
use crate::domain::Domain;
use crate::event::StoredEvent;
use crate::scenario::ProjectionSpec;

/// A schema object: its kind (`table`, `index`, …) and name.
type SchemaObject = (String, String);

/// The read model.
pub struct ReadModel {
    connection: Connection,
    projectors: Vec<Projector>,
    /// Moves on with every change to the tables, so that a copy taken at one generation can be
    /// kept until the next.
    generation: u64,
}

impl std::fmt::Debug for ReadModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadModel")
            .field("projectors", &self.projectors.len())
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

fn sqlite(projection: &str, error: rusqlite::Error) -> ProjectionError {
    ProjectionError::Sql {
        projection: projection.to_string(),
        message: sqlite_message(error),
    }
}

/// The read model's own tables: the checkpoints and the mirror of the log.
fn built_in_schema(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute_batch(&format!(
        "CREATE TABLE {CHECKPOINTS} (projection TEXT PRIMARY KEY, position INTEGER NOT NULL, definition TEXT NOT NULL);
         CREATE TABLE {EVENTS} (position INTEGER PRIMARY KEY, event_id TEXT NOT NULL, aggregate_id TEXT NOT NULL,
           version INTEGER NOT NULL, type TEXT NOT NULL, schema_version INTEGER NOT NULL, data TEXT NOT NULL,
           timestamp INTEGER NOT NULL, correlation_id TEXT, causation_id TEXT);
         CREATE TABLE {PARKED} (projection TEXT NOT NULL, position INTEGER NOT NULL, event_id TEXT NOT NULL,
           type TEXT NOT NULL, error TEXT NOT NULL, PRIMARY KEY (projection, position));
         INSERT INTO {CHECKPOINTS} VALUES ('{EVENTS}', 0, 'built-in');"
    ))
}

fn schema_objects(connection: &Connection) -> rusqlite::Result<Vec<SchemaObject>> {
    let mut statement = connection
        .prepare("SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'")?;
    let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    rows.collect()
}

/// SQL that drops schema objects: tables and views (their indexes and triggers go with them).
fn drop_objects(objects: &[SchemaObject]) -> String {
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

/// Checks a definition in a scratch database of its own: its setup runs and its statements
/// prepare against the tables the setup made. Nothing of the real read model is touched.
pub(super) fn check_definition(spec: &ProjectionSpec) -> Result<(), ProjectionError> {
    let scratch = Connection::open_in_memory().map_err(|e| sqlite(&spec.name, e))?;
    built_in_schema(&scratch).map_err(|e| sqlite(&spec.name, e))?;
    for sql in spec.setup.statements() {
        scratch
            .execute_batch(sql)
            .map_err(|e| ProjectionError::Definition {
                projection: spec.name.clone(),
                message: format!("setup: {}", sqlite_message(e)),
            })?;
    }
    plan_handlers(&scratch, spec).map(|_| ())
}

impl ReadModel {
    /// An empty in-memory read model with the `events` mirror and these projections, their
    /// tables created and their statements checked.
    pub fn open(specs: &[ProjectionSpec]) -> Result<Self, ProjectionError> {
        let connection = Connection::open_in_memory().map_err(|e| sqlite("read model", e))?;
        built_in_schema(&connection).map_err(|e| sqlite("read model", e))?;
        let mut model = ReadModel {
            connection,
            projectors: vec![Projector::mirror()],
            generation: 0,
        };
        let mut names = vec![
            EVENTS.to_string(),
            CHECKPOINTS.to_string(),
            PARKED.to_string(),
        ];
        for spec in specs {
            if names.contains(&spec.name) {
                return Err(ProjectionError::Definition {
                    projection: spec.name.clone(),
                    message: "two projections have this name (or it is reserved)".into(),
                });
            }
            names.push(spec.name.clone());
            let projector = model.build(spec, &[])?;
            model.projectors.push(projector);
        }
        Ok(model)
    }

    /// Runs a projection's setup and checks its statements, in one transaction that first drops
    /// `replacing` (its old tables, for a rebuild): either all of it happens or none.
    fn build(
        &mut self,
        spec: &ProjectionSpec,
        replacing: &[SchemaObject],
    ) -> Result<Projector, ProjectionError> {
        let name = spec.name.as_str();
        let hash = definition_hash(spec);
        let before = schema_objects(&self.connection).map_err(|e| sqlite(name, e))?;
        let tx = self.connection.transaction().map_err(|e| sqlite(name, e))?;
        tx.execute_batch(&drop_objects(replacing))
            .map_err(|e| sqlite(name, e))?;
        for sql in spec.setup.statements() {
            tx.execute_batch(sql)
                .map_err(|e| ProjectionError::Definition {
                    projection: name.to_string(),
                    message: format!("setup: {}", sqlite_message(e)),
                })?;
        }
        tx.execute(
            &format!("INSERT OR REPLACE INTO {CHECKPOINTS} VALUES (?1, 0, ?2)"),
            params![name, hash],
        )
        .map_err(|e| sqlite(name, e))?;
        let handlers = plan_handlers(&tx, spec)?;
        let objects = schema_objects(&tx)
            .map_err(|e| sqlite(name, e))?
            .into_iter()
            .filter(|o| !before.contains(o) || replacing.contains(o))
            .collect();
        tx.commit().map_err(|e| sqlite(name, e))?;
        self.generation += 1;
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

    /// The position after which the running projectors need events (the lowest checkpoint), or
    /// `None` when none is running.
    pub fn needs_from(&self) -> Option<u64> {
        self.projectors
            .iter()
            .filter(|p| p.state == ProjectorState::Running)
            .map(|p| p.checkpoint)
            .min()
    }

    /// Projects events (in position order, starting at or before every running projector's
    /// checkpoint + 1), passing them through the upcasters first.
    pub fn project(&mut self, domain: &Domain, events: Vec<StoredEvent>) -> Projected {
        let events: Vec<ProjectedEvent> = events
            .into_iter()
            .map(|event| ProjectedEvent::new(domain, event))
            .collect();
        self.apply(&events)
    }

    /// Applies events to each running projector, each in one transaction with its checkpoint.
    pub fn apply(&mut self, events: &[ProjectedEvent]) -> Projected {
        let mut projected = Projected::default();
        let ReadModel {
            connection,
            projectors,
            ..
        } = self;
        for projector in projectors.iter_mut() {
            if projector.state != ProjectorState::Running {
                continue;
            }
            let start = events.partition_point(|e| e.stored.position <= projector.checkpoint);
            let pending = &events[start..];
            if pending.is_empty() {
                continue;
            }
            projected.applied += round::run(connection, projector, pending);
            if projector.state != ProjectorState::Running {
                projected.stopped.push(projector.name().to_string());
            }
        }
        if projected.applied > 0 {
            self.generation += 1;
        }
        projected
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
        if projector.is_stale() {
            return Err(ProjectionError::Stale {
                projection: name.to_string(),
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

    /// The position a failed projector stopped at.
    pub fn failed_at(&mut self, name: &str) -> Result<u64, ProjectionError> {
        match self.find(name)?.state {
            ProjectorState::Failed { at_position, .. } => Ok(at_position),
            _ => Err(ProjectionError::NotFailed {
                projection: name.to_string(),
            }),
        }
    }

    /// Parks the event a failed projector stopped at: sets it aside in `parked_events`, with the
    /// error, and moves the checkpoint past it (in one transaction); the projector runs again.
    /// What real subscription systems offer beside fixing the projection or staying stopped.
    pub fn park(&mut self, name: &str, event: &StoredEvent) -> Result<(), ProjectionError> {
        let at_position = self.failed_at(name)?;
        let message = match &self.find(name)?.state {
            ProjectorState::Failed { message, .. } => message.clone(),
            _ => String::new(),
        };
        if event.position != at_position {
            return Err(ProjectionError::Definition {
                projection: name.to_string(),
                message: format!(
                    "it stopped at position {at_position}, not {}",
                    event.position
                ),
            });
        }
        let position = i64::try_from(at_position).unwrap_or(i64::MAX);
        let tx = self.connection.transaction().map_err(|e| sqlite(name, e))?;
        tx.execute(
            &format!("INSERT OR REPLACE INTO {PARKED} VALUES (?1, ?2, ?3, ?4, ?5)"),
            params![
                name,
                position,
                event.event_id.to_string(),
                &*event.event_type,
                message
            ],
        )
        .and_then(|_| {
            tx.execute(
                &format!("UPDATE {CHECKPOINTS} SET position = ?1 WHERE projection = ?2"),
                params![position, name],
            )
        })
        .map_err(|e| sqlite(name, e))?;
        tx.commit().map_err(|e| sqlite(name, e))?;
        self.generation += 1;
        let projector = self.find(name)?;
        projector.checkpoint = at_position;
        projector.state = ProjectorState::Running;
        Ok(())
    }

    /// Drops a projection's tables, runs its (current) setup again and sets its checkpoint to 0,
    /// so it replays the log from the start; all in one transaction. If the setup fails, its
    /// tables stay as they were and the projector is failed, saying why.
    pub fn rebuild(&mut self, name: &str) -> Result<(), ProjectionError> {
        let projector = self.find(name)?;
        let Some(spec) = projector.spec.clone() else {
            self.connection
                .execute_batch(&format!(
                    "DELETE FROM {EVENTS}; UPDATE {CHECKPOINTS} SET position = 0 WHERE projection = '{EVENTS}';"
                ))
                .map_err(|e| sqlite(EVENTS, e))?;
            self.generation += 1;
            let mirror = self.find(EVENTS)?;
            mirror.checkpoint = 0;
            mirror.state = ProjectorState::Running;
            return Ok(());
        };
        let replacing = projector.objects.clone();
        match self.build(&spec, &replacing) {
            Ok(rebuilt) => {
                *self.find(name)? = rebuilt;
                Ok(())
            }
            Err(error) => {
                let projector = self.find(name)?;
                projector.state = ProjectorState::Failed {
                    at_position: projector.checkpoint,
                    message: format!("rebuild failed, its tables are as they were: {error}"),
                };
                Err(error)
            }
        }
    }

    /// Replaces the projection definitions: new ones are created, removed ones dropped, and
    /// changed ones paused and marked stale until rebuilt. Every new or changed definition is
    /// checked first (in a scratch database); if one does not check, nothing changes.
    pub fn redefine(&mut self, specs: &[ProjectionSpec]) -> Result<(), ProjectionError> {
        let mut names = HashSet::new();
        for spec in specs {
            if !names.insert(spec.name.as_str()) || spec.name == EVENTS || spec.name == CHECKPOINTS
            {
                return Err(ProjectionError::Definition {
                    projection: spec.name.clone(),
                    message: "two projections have this name (or it is reserved)".into(),
                });
            }
            let unchanged = self
                .projectors
                .iter()
                .any(|p| p.name() == spec.name && p.hash == definition_hash(spec));
            if !unchanged {
                check_definition(spec)?;
            }
        }
        let removed: Vec<Projector> = self
            .projectors
            .extract_if(.., |p| {
                p.spec
                    .as_ref()
                    .is_some_and(|old| !specs.iter().any(|s| s.name == old.name))
            })
            .collect();
        for projector in removed {
            let name = projector.name().to_string();
            let mut drops = drop_objects(&projector.objects);
            drops.push_str(&format!(
                "DELETE FROM {CHECKPOINTS} WHERE projection = '{}';",
                name.replace('\'', "''")
            ));
            self.connection
                .execute_batch(&drops)
                .map_err(|e| sqlite(&name, e))?;
        }
        for spec in specs {
            match self.projectors.iter().position(|p| p.name() == spec.name) {
                None => {
                    let projector = self.build(spec, &[])?;
                    self.projectors.push(projector);
                }
                Some(index) => {
                    let hash = definition_hash(spec);
                    let projector = &mut self.projectors[index];
                    if projector.hash != hash {
                        // Its statements are planned when it is rebuilt, against its new tables.
                        projector.spec = Some(spec.clone());
                        projector.hash = hash;
                        projector.handlers = Handlers::Sql(Default::default());
                        projector.state = ProjectorState::Paused;
                    }
                }
            }
        }
        self.generation += 1;
        Ok(())
    }

    /// Every projector's status, the `events` mirror first.
    pub fn status(&self) -> Vec<ProjectionStatus> {
        self.projectors.iter().map(Projector::status).collect()
    }

    /// The projections that own any of `tables` (the mirror owns `events`): where an answer
    /// that read those tables comes from, and how far each has got.
    pub fn sources(&self, tables: &[String]) -> Vec<ProjectionStatus> {
        self.projectors
            .iter()
            .filter(|p| p.objects.iter().any(|(_, name)| tables.contains(name)))
            .map(Projector::status)
            .collect()
    }

    /// How many times the tables have changed: a copy of the same generation is still current.
    pub fn generation(&self) -> u64 {
        self.generation
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
