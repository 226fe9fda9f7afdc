//! One round of a projector: its statements for every pending event, and its new checkpoint, in
//! one SQLite transaction, so that an event is applied exactly once whatever fails. A failing
//! statement rolls the round back; the events before it are applied again and kept.

use std::cell::OnceCell;
use std::collections::BTreeMap;

use rusqlite::{Connection, params};
use serde::Serialize;
use serde_json::{Map, Value};

use super::binding::{self, Plan};
use super::projector::{EVENTS, Handlers, Projector, ProjectorState};
use super::sqlite_message;
use crate::domain::Domain;
use crate::event::StoredEvent;

/// The table of checkpoints.
pub(super) const CHECKPOINTS: &str = "projection_checkpoints";
/// The table of events a projection could not apply and was told to skip.
pub(super) const PARKED: &str = "parked_events";
/// Events the `events` mirror inserts with one statement: fewer statement runs, same rows.
const MIRROR_ROWS: usize = 64;

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
    /// An event as the read side receives it: passed through the upcasters.
    pub fn new(domain: &Domain, stored: StoredEvent) -> Self {
        let upcast = (!domain.is_current(&stored))
            .then(|| domain.upcast_event(&stored).map_err(|e| e.to_string()));
        ProjectedEvent {
            stored,
            upcast,
            fields: OnceCell::new(),
        }
    }

    /// The event in its current schema, or why it cannot be upcast.
    pub(super) fn as_current(&self) -> Result<&StoredEvent, &str> {
        match &self.upcast {
            None => Ok(&self.stored),
            Some(upcast) => upcast.as_ref().map_err(String::as_str),
        }
    }

    /// The upcast data's fields, parsed once for all projections.
    pub(super) fn fields(&self) -> Option<&Map<String, Value>> {
        self.fields
            .get_or_init(|| {
                let current = self.as_current().ok()?;
                serde_json::from_str(current.data.as_json()).ok()
            })
            .as_ref()
    }
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

/// Why a round stopped before committing.
#[derive(Debug, Clone, PartialEq)]
enum Stop {
    /// A simulated crash after `after` events, at `at_position`.
    Crashed { at_position: u64 },
    /// The event at `index` of the round (at `at_position`) could not be applied.
    Failed {
        index: usize,
        at_position: u64,
        message: String,
    },
}

impl Stop {
    fn failed(index: usize, at_position: u64, message: String) -> Self {
        Stop::Failed {
            index,
            at_position,
            message,
        }
    }

    fn into_state(self) -> ProjectorState {
        match self {
            Stop::Crashed { at_position } => ProjectorState::Crashed { at_position },
            Stop::Failed {
                at_position,
                message,
                ..
            } => ProjectorState::Failed {
                at_position,
                message,
            },
        }
    }
}

/// Runs one projector over its pending events (those after its checkpoint, in position order):
/// how many were applied. A projector that stops is left crashed or failed; an event that fails
/// stops it just before that event, keeping the ones before.
pub(super) fn run(
    connection: &mut Connection,
    projector: &mut Projector,
    pending: &[ProjectedEvent],
) -> usize {
    let crash_after = projector.crash_after.take();
    match run_batch(connection, projector, pending, crash_after) {
        Ok(applied) => applied,
        Err(stop) => {
            let kept = match &stop {
                Stop::Failed { index, .. } if *index > 0 => {
                    run_batch(connection, projector, &pending[..*index], None).unwrap_or(0)
                }
                _ => 0,
            };
            projector.state = stop.into_state();
            kept
        }
    }
}

/// Applies a batch in one transaction with the checkpoint, or rolls it all back and says where
/// and why it stopped.
fn run_batch(
    connection: &mut Connection,
    projector: &mut Projector,
    pending: &[ProjectedEvent],
    crash_after: Option<usize>,
) -> Result<usize, Stop> {
    let first = pending.first().map_or(0, |e| e.stored.position);
    let tx = connection
        .transaction()
        .map_err(|e| Stop::failed(0, first, sqlite_message(e)))?;
    // A crash is staged after `after` events, or after the whole round if it is shorter.
    let crash_at = crash_after.map(|after| after.min(pending.len()));
    // Dropping the transaction on an early return rolls back: what a crash before commit does,
    // and what a failed event needs.
    let Some(position) = write_events(&tx, &projector.handlers, pending, crash_at)? else {
        return Ok(0);
    };
    tx.execute(
        &format!("UPDATE {CHECKPOINTS} SET position = ?1 WHERE projection = ?2"),
        params![
            i64::try_from(position).unwrap_or(i64::MAX),
            projector.name()
        ],
    )
    .and_then(|_| tx.commit())
    .map_err(|e| Stop::failed(0, first, sqlite_message(e)))?;
    projector.checkpoint = position;
    Ok(pending.len())
}

/// Writes a projector's statements for `pending` events, stopping before event `crash_at` (a
/// simulated crash) if it is set: the position of the last event written.
fn write_events(
    tx: &rusqlite::Transaction<'_>,
    handlers: &Handlers,
    pending: &[ProjectedEvent],
    crash_at: Option<usize>,
) -> Result<Option<u64>, Stop> {
    let first = pending.first().map_or(0, |e| e.stored.position);
    let end = crash_at.map_or(pending.len(), |at| at.min(pending.len()));
    let mut writer =
        Writer::prepare(tx, handlers, end).map_err(|message| Stop::failed(0, first, message))?;
    let mut n = 0;
    while n < end {
        let at_position = pending[n].stored.position;
        n += writer
            .write(&pending[n..end])
            .map_err(|message| Stop::failed(n, at_position, message))?;
    }
    let last = end.checked_sub(1).map(|i| pending[i].stored.position);
    if crash_at.is_some() {
        return Err(Stop::Crashed {
            at_position: last.unwrap_or(first),
        });
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
