//! Replay: folding an aggregate's events into its state, starting from the newest usable snapshot,
//! at the head, a version or a time, optionally leaving events out (what-if) and tracing each step.
//!
//! The functions here are pure; the sandbox reads the events and snapshots and hands them over.

use std::collections::HashSet;

use rhai::Dynamic;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{AggregateKind, Domain};
use crate::event::{EventId, StoredEvent, Timestamp};
use crate::script::{ScriptError, dynamic_to_json, json_to_dynamic};
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
    /// Its kind, such as `account`.
    pub kind: String,
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

/// Folds events into a state, skipping excluded ids, optionally recording each step.
pub fn fold_events<'a>(
    domain: &Domain,
    kind: &AggregateKind,
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
            state = domain.fold(kind, state, event)?;
            replayed += 1;
        }
        if let Some(steps) = steps.as_mut() {
            steps.push(TraceStep {
                version: event.version,
                position: event.position,
                event_id: event.event_id,
                event_type: event.event_type.to_string(),
                excluded: left_out,
                state: state_to_json(kind, &state)?,
            });
        }
    }
    Ok(Folded {
        state,
        replayed,
        steps,
    })
}

/// A state as JSON, or a contract error naming the kind.
pub fn state_to_json(kind: &AggregateKind, state: &Dynamic) -> Result<Value, ScriptError> {
    dynamic_to_json(state).map_err(|e| {
        ScriptError::contract(
            kind.rules.name(),
            None,
            format!("the state cannot be shown as JSON: {e}"),
        )
    })
}

/// The version a time-travel replay stops at: the events before the first one stamped after `time`.
pub fn version_at_time(events: &[StoredEvent], time: Timestamp) -> u64 {
    events
        .iter()
        .take_while(|e| e.metadata.timestamp <= time)
        .last()
        .map_or(0, |e| e.version)
}
