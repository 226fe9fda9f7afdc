//! A consumer node's read model: some of the scenario's projections in a SQLite database of the
//! node's own (in memory, or a file on a VFS: the origin-private file system in a worker), with
//! the inbox of handled event ids and the node's checkpoint beside them. Each event all or
//! nothing (its statements, and its inbox row when asked, in a savepoint of its own); the events
//! handed over together commit together, before the node answers for any of them. A strict model
//! fails an update or delete that changes no row (the row it is about is not there yet: an
//! event handled before the one that creates it), as an object-mapping projection would.

use std::collections::BTreeMap;
use std::rc::Rc;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::binding::{self, Plan};
use super::database::check_definition;
use super::projector::{Handlers, plan_handlers};
use super::query::{self, QueryLimits, QueryResult};
use super::round::ProjectedEvent;
use super::{ProjectionError, QueryError, sqlite_message};
use crate::consumers::{Applied, Handler};
use crate::domain::Domain;
use crate::event::StoredEvent;
use crate::scenario::ProjectionSpec;

/// The consumer's own tables: its inbox and its checkpoint, and what its tables were built for.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS consumer_inbox (event_id TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS consumer_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS consumer_built (definition TEXT NOT NULL)";

/// A projection's statements per event type, each with its parameter plan.
type Statements = BTreeMap<String, Vec<(String, Plan)>>;

/// A consumer's read model.
pub struct ConsumerModel {
    connection: Connection,
    domain: Rc<Domain>,
    /// Per projection: its name and statements.
    handlers: Vec<(String, Statements)>,
    strict: bool,
}

fn sql(what: &str, error: rusqlite::Error) -> ProjectionError {
    ProjectionError::Sql {
        projection: what.to_string(),
        message: sqlite_message(error),
    }
}

/// Whether a statement changes rows it must find (an update or a delete).
fn needs_a_row(statement: &str) -> bool {
    let start = statement.trim_start().get(..6).unwrap_or_default();
    start.eq_ignore_ascii_case("update") || start.eq_ignore_ascii_case("delete")
}

impl ConsumerModel {
    /// Opens (or creates) a consumer's read model of `specs` at `path` (`:memory:` for one in
    /// memory) on the VFS `vfs` (SQLite's default when `None`). A database built for other
    /// tables (other projections, or other setups) is built again, empty; one whose projections
    /// only handle events otherwise (a fixed statement: new code deployed) is kept.
    pub fn open(
        domain: Rc<Domain>,
        specs: &[ProjectionSpec],
        path: &str,
        vfs: Option<&str>,
        strict: bool,
    ) -> Result<Self, ProjectionError> {
        for spec in specs {
            check_definition(spec)?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
        let connection = match vfs {
            Some(vfs) => Connection::open_with_flags_and_vfs(path, flags, vfs),
            None => Connection::open_with_flags(path, flags),
        }
        .map_err(|e| sql("consumer read model", e))?;
        // A node is only ever stopped between transactions (its crash points are), so the
        // journal may live in memory; a page crash mid-commit is not one of the lab's faults.
        connection
            .execute_batch("PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF;")
            .map_err(|e| sql("consumer read model", e))?;
        let definition = specs
            .iter()
            .map(|spec| format!("{}: {}", spec.name, spec.setup.statements().join("; ")))
            .collect::<Vec<_>>()
            .join("\n");
        connection
            .execute_batch(SCHEMA)
            .map_err(|e| sql("consumer read model", e))?;
        let built: Option<String> = connection
            .query_row("SELECT definition FROM consumer_built", [], |row| {
                row.get(0)
            })
            .optional()
            .map_err(|e| sql("consumer read model", e))?;
        if built.as_deref() != Some(definition.as_str()) {
            Self::build(&connection, specs, &definition)?;
        }
        let mut handlers = Vec::new();
        for spec in specs {
            let Handlers::Sql(planned) = plan_handlers(&connection, spec)? else {
                continue;
            };
            handlers.push((spec.name.clone(), planned));
        }
        Ok(ConsumerModel {
            connection,
            domain,
            handlers,
            strict,
        })
    }

    /// Builds the model afresh: every table dropped, the consumer's own made again, each
    /// projection's setup run.
    fn build(
        connection: &Connection,
        specs: &[ProjectionSpec],
        definition: &str,
    ) -> Result<(), ProjectionError> {
        let fail = |e| sql("consumer read model", e);
        let objects: Vec<(String, String)> = connection
            .prepare("SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' AND type IN ('table', 'view')")
            .and_then(|mut statement| {
                statement
                    .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect()
            })
            .map_err(fail)?;
        for (kind, name) in objects {
            let kind = if kind == "view" { "VIEW" } else { "TABLE" };
            connection
                .execute_batch(&format!(
                    "DROP {kind} IF EXISTS \"{}\"",
                    name.replace('"', "\"\"")
                ))
                .map_err(fail)?;
        }
        connection.execute_batch(SCHEMA).map_err(fail)?;
        for spec in specs {
            connection
                .execute_batch(&spec.setup.statements().join(";\n"))
                .map_err(|e| ProjectionError::Definition {
                    projection: spec.name.clone(),
                    message: sqlite_message(e),
                })?;
        }
        connection
            .execute(
                "INSERT INTO consumer_built (definition) VALUES (?1)",
                params![definition],
            )
            .map_err(fail)?;
        Ok(())
    }

    /// Starts a batch: the events applied until [`ConsumerModel::commit_batch`] commit together
    /// (one commit instead of one per event: each commit writes the database file), each still
    /// all or nothing.
    pub fn begin_batch(&mut self) -> Result<(), ProjectionError> {
        if self.connection.is_autocommit() {
            self.connection
                .execute_batch("BEGIN")
                .map_err(|e| sql("consumer read model", e))?;
        }
        Ok(())
    }

    /// Commits the batch begun (nothing to do outside one).
    pub fn commit_batch(&mut self) -> Result<(), ProjectionError> {
        if !self.connection.is_autocommit()
            && let Err(error) = self.connection.execute_batch("COMMIT")
        {
            // Nothing of the batch was kept: the transaction does not stay open behind it.
            let _ = self.connection.execute_batch("ROLLBACK");
            return Err(sql("consumer read model", error));
        }
        Ok(())
    }

    /// Events whose effect is recorded in the inbox.
    pub fn inbox_len(&self) -> Result<u64, ProjectionError> {
        self.connection
            .query_row("SELECT count(*) FROM consumer_inbox", [], |row| {
                row.get::<_, i64>(0)
            })
            .map(|n| n.max(0) as u64)
            .map_err(|e| sql("consumer read model", e))
    }

    /// Runs one read-only statement, as the query box does.
    pub fn query(&mut self, sql: &str, limits: &QueryLimits) -> Result<QueryResult, QueryError> {
        query::run(&mut self.connection, sql, limits)
    }

    fn write(&mut self, event: &StoredEvent, inbox: bool) -> Result<Applied, String> {
        // A savepoint: a transaction of its own outside a batch, a nested one inside.
        let transaction = self.connection.savepoint().map_err(sqlite_message)?;
        let id = event.event_id.to_string();
        if inbox {
            let seen: Option<i64> = transaction
                .query_row(
                    "SELECT 1 FROM consumer_inbox WHERE event_id = ?1",
                    params![id],
                    |row| row.get(0),
                )
                .optional()
                .map_err(sqlite_message)?;
            if seen.is_some() {
                return Ok(Applied::Duplicate);
            }
        }
        let projected = ProjectedEvent::new(&self.domain, event.clone());
        let current = projected.as_current().map_err(str::to_string)?;
        for (projection, by_type) in &self.handlers {
            let Some(statements) = by_type.get(&*current.event_type) else {
                continue;
            };
            for (text, plan) in statements {
                let mut statement = transaction.prepare_cached(text).map_err(sqlite_message)?;
                binding::bind(&mut statement, plan, 0, current, projected.fields())
                    .map_err(|e| format!("{projection}: {e}"))?;
                let changed = statement
                    .raw_execute()
                    .map_err(|e| format!("{projection}: {}", sqlite_message(e)))?;
                if self.strict && changed == 0 && needs_a_row(text) {
                    return Err(format!(
                        "{projection}: {} of {} changed no row (the row it is about is not here yet)",
                        current.event_type, current.aggregate_id
                    ));
                }
            }
        }
        if inbox {
            transaction
                .execute(
                    "INSERT INTO consumer_inbox (event_id, position) VALUES (?1, ?2)",
                    params![id, event.position as i64],
                )
                .map_err(sqlite_message)?;
        }
        transaction.commit().map_err(sqlite_message)?;
        Ok(Applied::New)
    }
}

impl Handler for ConsumerModel {
    fn apply(&mut self, event: &StoredEvent, inbox: bool) -> Result<Applied, String> {
        // A failed statement rolls the savepoint back when it is dropped: nothing written.
        self.write(event, inbox)
    }

    fn checkpoint(&self) -> u64 {
        self.connection
            .query_row(
                "SELECT position FROM consumer_checkpoint WHERE id = 1",
                [],
                |row| row.get::<_, i64>(0),
            )
            .optional()
            .ok()
            .flatten()
            .map_or(0, |p| p.max(0) as u64)
    }

    fn save_checkpoint(&mut self, position: u64) -> Result<(), String> {
        self.connection
            .execute(
                "INSERT INTO consumer_checkpoint (id, position) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET position = excluded.position",
                params![position as i64],
            )
            .map(|_| ())
            .map_err(sqlite_message)
    }
}
