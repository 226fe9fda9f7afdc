//! Given/when/then checks of a scenario's rules, pure (no store, no clock): given these past
//! events, when this command arrives, then expect these events, this rejection or this state.
//! The `then_expect_*` checks fail like `assert_eq!`, showing what was expected and what came.
//!
//! ```
//! use es_sandbox::{Domain, shipped};
//! use serde_json::json;
//!
//! # fn main() -> Result<(), es_sandbox::ScenarioError> {
//! let bank = Domain::compile(shipped("bank")?)?;
//! bank.given("acc-001", &[("Created", json!({"balance": 20}))])
//!     .when("Deduct", json!({"amount": 30}))
//!     .then_expect_rejection("insufficient funds: balance 20, asked 30");
//! # Ok(())
//! # }
//! ```

use serde_json::Value;

use crate::aggregate::{self, Placement, state_to_json};
use crate::domain::{AggregateType, Domain, DomainError};
use crate::event::{EventData, EventId, Metadata, ProposedEvent};

/// A given event: type, schema version (None = current) and data.
pub type GivenEvent<'a> = (&'a str, Option<u32>, Value);

/// The "given" part: past events of one aggregate.
pub struct Given<'d> {
    domain: &'d Domain,
    aggregate_id: String,
    events: Vec<(String, Option<u32>, Value)>,
}

/// What a command decided, as JSON: its events (type and data) and the state after them.
#[derive(Debug, Clone, PartialEq)]
pub struct Then {
    /// The events, in order.
    pub events: Vec<(String, Value)>,
    /// The state after folding them.
    pub state: Value,
}

/// The outcome of "when": the decision or the error.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    result: Result<Then, DomainError>,
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
    pub fn state(&self) -> Result<Value, DomainError> {
        let (aggregate, state, _) = self.fold_given()?;
        Ok(state_to_json(aggregate, &state)?)
    }

    /// Runs a command against the state after the given events.
    pub fn when(self, command: &str, payload: Value) -> Outcome {
        Outcome {
            result: self.run(command, payload),
        }
    }

    fn placement(&self, version: u64) -> Placement<'_> {
        Placement {
            aggregate_id: &self.aggregate_id,
            version,
            position: version,
            metadata: Metadata::at(0),
        }
    }

    fn fold_given(&self) -> Result<(&AggregateType, rhai::Dynamic, u64), DomainError> {
        let aggregate = self
            .domain
            .aggregate_type_of(&self.aggregate_id)
            .ok_or_else(|| DomainError::UnknownAggregate {
                aggregate_id: self.aggregate_id.clone(),
                prefixes: self.domain.id_prefixes(),
            })?;
        let mut proposed = Vec::new();
        for (index, (event_type, schema, data)) in self.events.iter().enumerate() {
            let schema_version = self
                .domain
                .check_event_type(aggregate, event_type, *schema)?;
            let data = EventData::from_value(data.clone())
                .map_err(|source| DomainError::InvalidEvent { index, source })?;
            proposed.push(ProposedEvent {
                event_id: EventId::derived(&format!("given/{index}")),
                event_type: event_type.as_str().into(),
                schema_version,
                data,
                metadata: Metadata::at(0),
            });
        }
        let initial = aggregate::initial_state(self.domain, aggregate)?;
        let state = aggregate::fold_batch(
            self.domain,
            aggregate,
            initial,
            &self.placement(0),
            &proposed,
        )?;
        Ok((aggregate, state, proposed.len() as u64))
    }

    fn run(&self, command: &str, payload: Value) -> Result<Then, DomainError> {
        let (aggregate, state, version) = self.fold_given()?;
        let ids = |index: usize| EventId::derived(&format!("when/{index}"));
        let decision = aggregate::decide(
            self.domain,
            aggregate,
            state,
            command,
            &payload,
            &self.placement(version),
            ids,
        )?;
        let events = decision
            .events
            .into_iter()
            .map(|e| (e.event_type.to_string(), e.data.to_value()))
            .collect();
        Ok(Then {
            events,
            state: state_to_json(aggregate, &decision.state)?,
        })
    }
}

impl Outcome {
    /// Checks that the command decided exactly these events (type and data, in order).
    #[track_caller]
    pub fn then_expect_events(&self, expected: &[(&str, Value)]) -> &Self {
        let expected: Vec<(String, Value)> = expected
            .iter()
            .map(|(t, d)| (t.to_string(), d.clone()))
            .collect();
        let got = self.result.as_ref().map(|d| &d.events);
        assert_eq!(got, Ok(&expected), "the events the command decided");
        self
    }

    /// Checks that a business rule rejected the command with exactly this message.
    #[track_caller]
    pub fn then_expect_rejection(&self, message: &str) -> &Self {
        let got = match &self.result {
            Err(DomainError::Rejected { message, .. }) => Ok(message.as_str()),
            Err(other) => Err(format!("error: {other}")),
            Ok(decision) => Err(format!("events: {:?}", decision.events)),
        };
        assert_eq!(got, Ok(message), "the command's rejection");
        self
    }

    /// Checks that the state after the decided events is exactly this.
    #[track_caller]
    pub fn then_expect_state(&self, expected: Value) -> &Self {
        let got = self.result.as_ref().map(|d| &d.state);
        assert_eq!(got, Ok(&expected), "the state after the command");
        self
    }

    /// The raw result, for checks the helpers do not cover.
    pub fn result(&self) -> &Result<Then, DomainError> {
        &self.result
    }
}
