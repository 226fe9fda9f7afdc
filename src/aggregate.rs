//! The one owner of calling an aggregate's rules: its initial state, folding events into a state
//! (the rules' `apply_<Event>`, on the data as the rules read it), and the one pure decision (an
//! aggregate's rules, its current state and a command give the events that happen and the state
//! after them, or a refusal). No store, no clock: commands, replays, the seed and the
//! given/when/then checks all come here. The state is a Rhai value; it becomes JSON here too.

use std::sync::Arc;

use rhai::Dynamic;
use serde_json::Value;

use crate::domain::{AggregateType, Domain, DomainError};
use crate::event::{EventId, Metadata, ProposedEvent, StoredEvent};
use crate::rules::{CommandContext, HandleError};
use crate::script::{ScriptError, dynamic_to_json, json_to_dynamic};

/// Where a decision's events would land: right after the aggregate's version and the log's head,
/// if nobody else appends first, stamped with this metadata.
#[derive(Debug, Clone)]
pub struct Placement<'a> {
    /// The aggregate.
    pub aggregate_id: &'a str,
    /// Its version before the events.
    pub version: u64,
    /// The log's head position before the events.
    pub position: u64,
    /// Timestamp and tracing ids of the events.
    pub metadata: Metadata,
}

/// What a command decided.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The events that happen, in order, as the store will be offered them.
    pub events: Vec<ProposedEvent>,
    /// The state after them (the rules could apply them: that was checked).
    pub state: Dynamic,
}

/// The starting state of an aggregate type.
pub fn initial_state(domain: &Domain, aggregate: &AggregateType) -> Result<Dynamic, ScriptError> {
    aggregate.rules.initial_state(domain.engine())
}

/// Folds one stored event into a state: its data as the rules read it (upcast and checked
/// against the current shape), then its `apply_<Event>`.
pub fn fold(
    domain: &Domain,
    aggregate: &AggregateType,
    mut state: Dynamic,
    event: &StoredEvent,
) -> Result<Dynamic, ScriptError> {
    if domain.is_current(event)
        && aggregate
            .rules
            .apply_straight(domain.engine(), &mut state, event)
    {
        return Ok(state);
    }
    let data = domain.rules_data(aggregate, event)?;
    aggregate.rules.apply(domain.engine(), state, data, event)
}

/// A state as JSON, or a contract error naming the aggregate type.
pub fn state_to_json(aggregate: &AggregateType, state: &Dynamic) -> Result<Value, ScriptError> {
    dynamic_to_json(state).map_err(|e| {
        ScriptError::contract(
            aggregate.rules.name(),
            None,
            format!("the state cannot be shown as JSON: {e}"),
        )
    })
}

/// Runs a command: the rules' handler decides on the current state, and the events it decided
/// are folded onto that state to prove the rules can apply them. `ids` gives the id of the event
/// at each index. A `throw` in the handler is [`DomainError::Rejected`].
pub fn decide(
    domain: &Domain,
    aggregate: &AggregateType,
    state: Dynamic,
    command: &str,
    payload: &Value,
    at: &Placement<'_>,
    mut ids: impl FnMut(usize) -> EventId,
) -> Result<Decision, DomainError> {
    let context = CommandContext {
        aggregate_id: at.aggregate_id,
        version: at.version,
        timestamp: at.metadata.timestamp,
    };
    if !aggregate.rules.commands().any(|c| c == command) {
        let unknown = HandleError::UnknownCommand {
            command: command.to_string(),
            known: aggregate.rules.commands().map(str::to_string).collect(),
        };
        return Err(refusal(aggregate, at.aggregate_id, command, unknown));
    }
    // The payload is the caller's input: a wrong one is refused before any script runs.
    domain.check_payload(aggregate, command, payload)?;
    let payload = json_to_dynamic(payload).map_err(|e| {
        ScriptError::contract(
            aggregate.rules.name(),
            None,
            format!("the command payload cannot be given to the rules: {e}"),
        )
    })?;
    let decided = aggregate
        .rules
        .handle(domain.engine(), state.clone(), command, payload, context)
        .map_err(|e| refusal(aggregate, at.aggregate_id, command, e))?;
    // What the handler decided is the rules' output: a wrong shape is the script's fault.
    let script = format!("{} rules, handle_{command}", aggregate.rules.name());
    for d in &decided {
        domain.check_output(aggregate, &script, &d.event_type, &d.data.to_value())?;
    }
    let events: Vec<ProposedEvent> = decided
        .into_iter()
        .enumerate()
        .map(|(index, d)| ProposedEvent {
            event_id: ids(index),
            schema_version: domain.current_schema_version(&d.event_type),
            event_type: d.event_type.into(),
            data: d.data,
            metadata: at.metadata.clone(),
        })
        .collect();
    let state = fold_batch(domain, aggregate, state, at, &events)?;
    Ok(Decision { events, state })
}

/// Folds a batch not yet stored onto a state, as if placed at `at`, naming the event the rules
/// cannot apply by its position in the batch, its version and its type.
pub fn fold_batch(
    domain: &Domain,
    aggregate: &AggregateType,
    mut state: Dynamic,
    at: &Placement<'_>,
    batch: &[ProposedEvent],
) -> Result<Dynamic, ScriptError> {
    let aggregate_id: Arc<str> = at.aggregate_id.into();
    for (offset, proposed) in (1u64..).zip(batch) {
        let version = at.version + offset;
        let event = proposed
            .clone()
            .place(&aggregate_id, version, at.position + offset);
        state = fold(domain, aggregate, state, &event).map_err(|mut e| {
            e.message = format!(
                "event {offset} of the batch ({}, which would be version {version}) cannot be applied: {}",
                event.event_type, e.message
            );
            e
        })?;
    }
    Ok(state)
}

/// A command applied straight to a state, as a CRUD system would: the rules decide on the state,
/// what they decided is folded in, and only the new state is kept. No events, no versions, no
/// history: what the lesson contrasts with the log. No row yet (`None`) is the initial state.
pub fn apply_to_state(
    domain: &Domain,
    aggregate: &AggregateType,
    state: Option<&Value>,
    aggregate_id: &str,
    command: &str,
    payload: &Value,
) -> Result<Value, DomainError> {
    let state = match state {
        Some(row) => json_to_dynamic(row).map_err(|e| {
            DomainError::bad_input("state", format!("it cannot be given to the rules: {e}"))
        })?,
        None => initial_state(domain, aggregate)?,
    };
    let at = Placement {
        aggregate_id,
        version: 0,
        position: 0,
        metadata: Metadata::at(0),
    };
    let decision = decide(domain, aggregate, state, command, payload, &at, |_| {
        EventId::derived("crud")
    })?;
    Ok(state_to_json(aggregate, &decision.state)?)
}

/// A handler's refusal or failure as a domain error.
fn refusal(
    aggregate: &AggregateType,
    aggregate_id: &str,
    command: &str,
    error: HandleError,
) -> DomainError {
    match error {
        HandleError::Rejected { message } => DomainError::Rejected {
            aggregate_id: aggregate_id.to_string(),
            command: command.to_string(),
            message,
        },
        HandleError::UnknownCommand { command, known } => DomainError::UnknownCommand {
            aggregate_type: aggregate.rules.name().to_string(),
            command,
            known,
        },
        HandleError::Script(e) => e.into(),
    }
}
