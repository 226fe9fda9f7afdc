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
}

/// Why a snapshot was not used.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum SkipReason {
    /// It was computed by other rules or upcasters.
    #[serde(rename_all = "camelCase")]
    StaleRules {
        /// The hash it carries.
        snapshot_hash: String,
        /// The current rules' hash.
        current_hash: String,
    },
    /// It includes an event the what-if replay leaves out.
    #[serde(rename_all = "camelCase")]
    IncludesExcluded {
        /// The first excluded version.
        excluded_version: u64,
    },
    /// Its state could not be turned back into a script value.
    Unreadable {
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::StaleRules {
                snapshot_hash,
                current_hash,
            } => write!(
                f,
                "made with other rules (hash {snapshot_hash}, rules now {current_hash})"
            ),
            SkipReason::IncludesExcluded { excluded_version } => {
                write!(f, "includes version {excluded_version}, which is left out")
            }
            SkipReason::Unreadable { reason } => write!(f, "cannot be read: {reason}"),
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

/// Picks the newest snapshot at or below `target` that is older than the first excluded version
/// and made by the current rules, and says why newer ones were passed over.
pub fn choose_snapshot(
    snapshots: &[Snapshot],
    target: u64,
    first_excluded: Option<u64>,
    current_hash: &str,
) -> (Option<Start>, Vec<SkippedSnapshot>) {
    let mut skipped = Vec::new();
    for snapshot in snapshots.iter().rev().filter(|s| s.version <= target) {
        let reason = match first_excluded {
            Some(excluded_version) if snapshot.version >= excluded_version => {
                Some(SkipReason::IncludesExcluded { excluded_version })
            }
            _ if snapshot.rules_hash != current_hash => Some(SkipReason::StaleRules {
                snapshot_hash: snapshot.rules_hash.clone(),
                current_hash: current_hash.to_string(),
            }),
            _ => None,
        };
        let reason = match reason {
            Some(reason) => reason,
            None => match json_to_dynamic(&snapshot.state) {
                Ok(state) => {
                    let start = Start {
                        version: snapshot.version,
                        state,
                    };
                    return (Some(start), skipped);
                }
                Err(reason) => SkipReason::Unreadable { reason },
            },
        };
        skipped.push(SkippedSnapshot {
            version: snapshot.version,
            reason,
        });
    }
    (None, skipped)
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
