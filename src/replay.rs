//! Replay: folding an aggregate's events into its state, starting from the newest usable snapshot,
//! at the head, a version or a time, optionally leaving events out (what-if) and tracing each step.
//!
//! The functions here are pure: the write side reads the events and picks the usable snapshot
//! (see `write_side::replaying`), and hands them over.

use std::collections::HashSet;

use rhai::Dynamic;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aggregate::{fold, initial_state, state_to_json};
use crate::diff::{Change, changes};
use crate::domain::{AggregateType, Domain, DomainError};
use crate::event::{EventId, StoredEvent, Timestamp};
use crate::script::{ScriptError, json_to_dynamic};
pub use crate::snapshot::SkipReason;
use crate::snapshot::Snapshot;

/// What to replay.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ReplayOptions {
    /// Stop after this version (time travel by version). Default: the last.
    pub version: Option<u64>,
    /// Stop before the first event stamped later than this (time travel by time).
    pub time: Option<Timestamp>,
    /// Stop at the last event at or before this position of the whole log (time travel along
    /// the log: the aggregate as it was when the log reached that position).
    pub position: Option<u64>,
    /// Leave these events out (what-if).
    pub exclude: Vec<EventId>,
    /// Record the state after each event.
    pub trace: bool,
    /// Start from a snapshot when one is usable (default true).
    pub use_snapshots: bool,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            version: None,
            time: None,
            position: None,
            exclude: Vec::new(),
            trace: false,
            use_snapshots: true,
        }
    }
}

/// The outcome of a replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Replay {
    /// The aggregate.
    pub aggregate_id: String,
    /// Its type, such as `account`.
    pub aggregate_type: String,
    /// The state reached.
    pub state: Value,
    /// The version reached (the last version considered, excluded or not).
    pub version: u64,
    /// The aggregate's last version in the store.
    pub head_version: u64,
    /// The version of the snapshot the replay started from, if any.
    pub from_snapshot: Option<u64>,
    /// Newer snapshots that were not used, and why.
    pub skipped_snapshots: Vec<SkippedSnapshot>,
    /// How many events were folded.
    pub events_replayed: usize,
    /// Versions left out because their ids were excluded.
    pub excluded_versions: Vec<u64>,
    /// Each step, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<Trace>,
}

/// A snapshot a replay did not use.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedSnapshot {
    /// Its version.
    pub version: u64,
    /// Why it was not used.
    pub reason: SkipReason,
    /// The reason in words.
    pub message: String,
}

impl SkippedSnapshot {
    /// A snapshot passed over for a reason.
    pub fn new(version: u64, reason: SkipReason) -> Self {
        SkippedSnapshot {
            version,
            message: reason.to_string(),
            reason,
        }
    }
}

/// The state before the first replayed event and after each one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Trace {
    /// The state the replay started from (snapshot or initial).
    pub initial_state: Value,
    /// One step per event considered.
    pub steps: Vec<TraceStep>,
}

/// One event of a trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceStep {
    /// The event's version.
    pub version: u64,
    /// Its position.
    pub position: u64,
    /// Its id.
    pub event_id: EventId,
    /// Its type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Whether it was left out.
    pub excluded: bool,
    /// The state after it.
    pub state: Value,
    /// What it changed in the state.
    pub changes: Vec<Change>,
}

/// The snapshot a replay starts from, as a script value.
pub struct Start {
    /// Its version (0 = from the initial state).
    pub version: u64,
    /// The state.
    pub state: Dynamic,
}

impl Start {
    /// The state of a snapshot, as a script value.
    pub fn from_snapshot(snapshot: &Snapshot) -> Result<Self, SkipReason> {
        json_to_dynamic(&snapshot.state)
            .map(|state| Start {
                version: snapshot.version,
                state,
            })
            .map_err(|reason| SkipReason::Unreadable { reason })
    }
}

/// The result of folding events.
pub struct Folded {
    /// The state reached.
    pub state: Dynamic,
    /// Events folded.
    pub replayed: usize,
    /// Steps, if traced.
    pub steps: Option<Vec<TraceStep>>,
}

/// Folds events into a state, skipping excluded ids, optionally recording each step. It breathes
/// with the domain's pacer between events: slow rules never hold the thread for long.
pub async fn fold_events<'a>(
    domain: &Domain,
    aggregate: &AggregateType,
    mut state: Dynamic,
    events: impl IntoIterator<Item = &'a StoredEvent>,
    excluded: &HashSet<EventId>,
    trace: bool,
) -> Result<Folded, ScriptError> {
    let mut steps = trace.then(Vec::new);
    let mut replayed = 0;
    for event in events {
        let left_out = excluded.contains(&event.event_id);
        if !left_out {
            state = fold(domain, aggregate, state, event)?;
            replayed += 1;
            domain.pacer().breathe().await?;
        }
        if let Some(steps) = steps.as_mut() {
            steps.push(TraceStep {
                version: event.version,
                position: event.position,
                event_id: event.event_id,
                event_type: event.event_type.to_string(),
                excluded: left_out,
                state: state_to_json(aggregate, &state)?,
                changes: Vec::new(),
            });
        }
    }
    Ok(Folded {
        state,
        replayed,
        steps,
    })
}

/// What a replay folds, gathered by the write side: where it starts (a usable snapshot, or the
/// initial state), the events after that up to the target version, and what to leave out.
pub struct ReplayInput<'a> {
    /// The aggregate.
    pub aggregate_id: &'a str,
    /// Its last version in the store.
    pub head_version: u64,
    /// The version to stop at.
    pub target: u64,
    /// The snapshot to start from, if one is usable.
    pub start: Option<Start>,
    /// Newer snapshots passed over, and why.
    pub skipped: Vec<SkippedSnapshot>,
    /// The events after the start, up to the target, in version order.
    pub events: &'a [StoredEvent],
    /// Ids to leave out (what-if).
    pub excluded: &'a HashSet<EventId>,
    /// The versions those ids hold, up to the target.
    pub excluded_versions: Vec<u64>,
    /// Record each step.
    pub trace: bool,
}

/// Folds a replay's events from its start: the outcome, and the state reached as a script value.
pub async fn replay(
    domain: &Domain,
    aggregate: &AggregateType,
    input: ReplayInput<'_>,
) -> Result<(Replay, Dynamic), ScriptError> {
    let (from_snapshot, start_state) = match input.start {
        Some(start) => (Some(start.version), start.state),
        None => (None, initial_state(domain, aggregate)?),
    };
    let initial_state = if input.trace {
        Some(state_to_json(aggregate, &start_state)?)
    } else {
        None
    };
    let mut folded = fold_events(
        domain,
        aggregate,
        start_state,
        input.events,
        input.excluded,
        input.trace,
    )
    .await?;
    if let (Some(steps), Some(initial)) = (folded.steps.as_mut(), &initial_state) {
        let mut before = initial;
        for step in steps.iter_mut() {
            step.changes = changes(before, &step.state);
            before = &step.state;
        }
    }
    let replay = Replay {
        aggregate_id: input.aggregate_id.to_string(),
        aggregate_type: aggregate.rules.name().to_string(),
        state: state_to_json(aggregate, &folded.state)?,
        version: input.target,
        head_version: input.head_version,
        from_snapshot,
        skipped_snapshots: input.skipped,
        events_replayed: folded.replayed,
        excluded_versions: input.excluded_versions,
        trace: initial_state.map(|initial_state| Trace {
            initial_state,
            steps: folded.steps.unwrap_or_default(),
        }),
    };
    Ok((replay, folded.state))
}

/// The version a replay stops at: the one asked for, the last one before a time (which needs the
/// whole stream), or the head.
pub fn target_version(
    aggregate_id: &str,
    options: &ReplayOptions,
    head_version: u64,
    whole: Option<&[StoredEvent]>,
) -> Result<u64, DomainError> {
    let asked = [
        options.version.is_some(),
        options.time.is_some(),
        options.position.is_some(),
    ];
    if asked.iter().filter(|a| **a).count() > 1 {
        return Err(DomainError::bad_input(
            "replay options",
            "give one of a version, a time and a position",
        ));
    }
    if let (Some(position), Some(events)) = (options.position, whole) {
        return Ok(events
            .iter()
            .take_while(|e| e.position <= position)
            .last()
            .map_or(0, |e| e.version));
    }
    match (options.version, options.time, whole) {
        (Some(version), None, _) if version > head_version => Err(DomainError::VersionOutOfRange {
            aggregate_id: aggregate_id.to_string(),
            asked: version,
            head: head_version,
        }),
        (Some(version), None, _) => Ok(version),
        (None, Some(time), Some(events)) => Ok(version_at_time(events, time)),
        _ => Ok(head_version),
    }
}

/// The version a time-travel replay stops at: the events before the first one stamped after `time`.
pub fn version_at_time(events: &[StoredEvent], time: Timestamp) -> u64 {
    events
        .iter()
        .take_while(|e| e.metadata.timestamp <= time)
        .last()
        .map_or(0, |e| e.version)
}
