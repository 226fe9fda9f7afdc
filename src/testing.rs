//! Given/when/then checks of a scenario's rules, pure (no store, no clock): given these past
//! events, when this command arrives, then expect these events, this rejection or this state.
//!
//! ```
//! use es_sandbox::{domain::Domain, scenario::shipped};
//! use serde_json::json;
//!
//! let bank = Domain::compile(shipped("bank").unwrap()).unwrap();
//! let outcome = bank
//!     .given("acc-001", &[("Created", json!({"balance": 20}))])
//!     .when("Deduct", json!({"amount": 30}));
//! assert_eq!(outcome.then_expect_rejection("insufficient funds: balance 20, asked 30"), Ok(()));
//! ```

use serde_json::Value;

use crate::domain::Domain;
use crate::error::SandboxError;
use crate::event::{EventData, EventId, Metadata, ProposedEvent};
use crate::replay::state_to_json;
use crate::rules::CommandContext;
use crate::sandbox::{decide_error, fold_batch, provisional_events};

/// A given event: type, schema version (None = current) and data.
pub type GivenEvent<'a> = (&'a str, Option<u32>, Value);

/// The "given" part: past events of one aggregate.
pub struct Given<'d> {
    domain: &'d Domain,
    aggregate_id: String,
    events: Vec<(String, Option<u32>, Value)>,
}

/// What a command decided: its events (type and data) and the state after them.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The events, in order.
    pub events: Vec<(String, Value)>,
    /// The state after folding them.
    pub state: Value,
}

/// The outcome of "when": the decision or the error.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    result: Result<Decision, SandboxError>,
}

impl Domain {
    /// Starts a given/when/then check with past events (type and data, at the current schema).
    pub fn given(&self, aggregate_id: &str, events: &[(&str, Value)]) -> Given<'_> {
        Given {
            domain: self,
            aggregate_id: aggregate_id.to_string(),
            events: events
                .iter()
                .map(|(t, data)| (t.to_string(), None, data.clone()))
                .collect(),
        }
    }
}

impl Given<'_> {
    /// Adds a past event stored at an older schema version (it is upcast on the way in).
    pub fn and_stored(mut self, event: GivenEvent<'_>) -> Self {
        self.events.push((event.0.to_string(), event.1, event.2));
        self
    }

    /// The state after the given events.
    pub fn state(&self) -> Result<Value, SandboxError> {
        let (kind, state, _) = self.fold_given()?;
        Ok(state_to_json(kind, &state)?)
    }

    /// Runs a command against the state after the given events.
    pub fn when(self, command: &str, payload: Value) -> Outcome {
        Outcome {
            result: self.run(command, payload),
        }
    }

    fn fold_given(
        &self,
    ) -> Result<(&crate::domain::AggregateKind, rhai::Dynamic, u64), SandboxError> {
        let kind = self.domain.kind_of(&self.aggregate_id).ok_or_else(|| {
            SandboxError::UnknownAggregate {
                aggregate_id: self.aggregate_id.clone(),
                prefixes: self.domain.id_prefixes(),
            }
        })?;
        let mut proposed = Vec::new();
        for (index, (event_type, schema, data)) in self.events.iter().enumerate() {
            let schema_version = self.domain.check_event_type(kind, event_type, *schema)?;
            let data = EventData::from_value(data.clone())
                .map_err(|source| SandboxError::InvalidEvent { index, source })?;
            proposed.push(ProposedEvent {
                event_id: EventId::derived(&format!("given/{index}")),
                event_type: event_type.as_str().into(),
                schema_version,
                data,
                metadata: Metadata::at(0),
            });
        }
        let given = provisional_events(&self.aggregate_id, 0, 0, &proposed);
        let state = fold_batch(self.domain, kind, self.domain.initial_state(kind)?, &given)?;
        Ok((kind, state, given.len() as u64))
    }

    fn run(&self, command: &str, payload: Value) -> Result<Decision, SandboxError> {
        let (kind, state, version) = self.fold_given()?;
        let context = CommandContext {
            aggregate_id: &self.aggregate_id,
            version,
            timestamp: 0,
        };
        let decided = self
            .domain
            .decide(kind, state.clone(), command, &payload, context)
            .map_err(|e| decide_error(kind, &self.aggregate_id, command, e))?;
        let proposed: Vec<ProposedEvent> = decided
            .iter()
            .enumerate()
            .map(|(index, d)| ProposedEvent {
                event_id: EventId::derived(&format!("when/{index}")),
                event_type: d.event_type.as_str().into(),
                schema_version: self.domain.current_schema_version(&d.event_type),
                data: d.data.clone(),
                metadata: Metadata::at(0),
            })
            .collect();
        let after = provisional_events(&self.aggregate_id, version, version, &proposed);
        let state = fold_batch(self.domain, kind, state, &after)?;
        let events = decided
            .into_iter()
            .map(|d| (d.event_type, d.data.to_value()))
            .collect();
        Ok(Decision {
            events,
            state: state_to_json(kind, &state)?,
        })
    }
}

impl Outcome {
    /// Passes when the command decided exactly these events (type and data, in order).
    pub fn then_expect_events(&self, expected: &[(&str, Value)]) -> Result<(), String> {
        let Decision { events, .. } = self
            .result
            .as_ref()
            .map_err(|e| format!("expected events, got error: {e}"))?;
        let expected: Vec<(String, Value)> = expected
            .iter()
            .map(|(t, d)| (t.to_string(), d.clone()))
            .collect();
        if *events == expected {
            Ok(())
        } else {
            Err(format!("expected events {expected:?}, got {events:?}"))
        }
    }

    /// Passes when the command was rejected by a business rule with exactly this message.
    pub fn then_expect_rejection(&self, message: &str) -> Result<(), String> {
        match &self.result {
            Err(SandboxError::Rejected { message: got, .. }) if got == message => Ok(()),
            Err(SandboxError::Rejected { message: got, .. }) => Err(format!(
                "expected rejection {message:?}, got rejection {got:?}"
            )),
            Err(other) => Err(format!(
                "expected rejection {message:?}, got error: {other}"
            )),
            Ok(Decision { events, .. }) => Err(format!(
                "expected rejection {message:?}, got events {events:?}"
            )),
        }
    }

    /// Passes when the state after the decided events is exactly this.
    pub fn then_expect_state(&self, expected: Value) -> Result<(), String> {
        let Decision { state, .. } = self
            .result
            .as_ref()
            .map_err(|e| format!("expected a state, got error: {e}"))?;
        if *state == expected {
            Ok(())
        } else {
            Err(format!("expected state {expected}, got {state}"))
        }
    }

    /// The raw result, for checks the helpers do not cover.
    pub fn result(&self) -> &Result<Decision, SandboxError> {
        &self.result
    }
}
