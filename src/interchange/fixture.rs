//! Given/when/then fixtures cut from a log: given an aggregate's events before a range, when the
//! range's events happen, then its state is this. A learner turns what they clicked into a test
//! of the rules, which [`Fixture::run`] (and the core's test helpers) replay.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::problems::{ImportError, text};
use crate::domain::Domain;
use crate::domain::DomainError;
use crate::event::StoredEvent;

/// The `fixture` value that marks the format.
const FORMAT: &str = "es-sandbox/given-when-then";

/// An event of a fixture: type, schema version and data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixtureEvent {
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The schema version it is stored in.
    pub schema_version: u32,
    /// Its data.
    pub data: Value,
}

/// What the fixture expects after "when".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixtureThen {
    /// The aggregate's version.
    pub version: u64,
    /// Its state.
    pub state: Value,
}

/// A given/when/then fixture for one aggregate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fixture {
    /// Always `es-sandbox/given-when-then`.
    pub fixture: String,
    /// The scenario whose rules it tests.
    pub scenario: String,
    /// The aggregate.
    pub aggregate_id: String,
    /// Its events before the range.
    pub given: Vec<FixtureEvent>,
    /// The range's events.
    pub when: Vec<FixtureEvent>,
    /// The version and state after them.
    pub then: FixtureThen,
}

/// A fixture's replay: the state it expected and the state the rules gave.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FixtureRun {
    /// What the fixture says.
    pub expected: Value,
    /// What the rules folded.
    pub actual: Value,
    /// Whether they are the same.
    pub passed: bool,
}

fn fixture_event(event: &StoredEvent) -> FixtureEvent {
    FixtureEvent {
        event_type: event.event_type.to_string(),
        schema_version: event.schema_version,
        data: event.data.to_value(),
    }
}

/// The fixture of an aggregate's events `from..=to` (versions), its stream given in version
/// order from version 1.
pub fn fixture_of(
    domain: &Domain,
    stream: &[StoredEvent],
    from: u64,
    to: u64,
) -> Result<Fixture, DomainError> {
    let Some(first) = stream.first() else {
        return Err(DomainError::bad_input(
            "fixture",
            "the aggregate has no events",
        ));
    };
    let head = stream.len() as u64;
    if from < 1 || from > to || to > head {
        return Err(DomainError::bad_input(
            "fixture",
            format!("the range {from} to {to} is not within versions 1 to {head}"),
        ));
    }
    let before = (from - 1) as usize;
    let through = to as usize;
    let given: Vec<FixtureEvent> = stream[..before].iter().map(fixture_event).collect();
    let when: Vec<FixtureEvent> = stream[before..through].iter().map(fixture_event).collect();
    let aggregate_id = first.aggregate_id.to_string();
    let state = fold(domain, &aggregate_id, given.iter().chain(&when))?;
    Ok(Fixture {
        fixture: FORMAT.to_string(),
        scenario: domain.scenario().name.clone(),
        aggregate_id,
        given,
        when,
        then: FixtureThen { version: to, state },
    })
}

fn fold<'a>(
    domain: &Domain,
    aggregate_id: &str,
    events: impl Iterator<Item = &'a FixtureEvent>,
) -> Result<Value, DomainError> {
    let mut given = domain.given(aggregate_id, &[]);
    for event in events {
        given = given.and_stored((
            &event.event_type,
            Some(event.schema_version),
            event.data.clone(),
        ));
    }
    given.state()
}

impl Fixture {
    /// Reads a fixture from untrusted bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ImportError> {
        let text = text(bytes)?;
        let fixture: Fixture = serde_json::from_str(text)
            .map_err(|e| ImportError::at(format!("line {}", e.line()), e.to_string()))?;
        if fixture.fixture != FORMAT {
            return Err(ImportError::at(
                "$.fixture",
                format!("must be \"{FORMAT}\""),
            ));
        }
        Ok(fixture)
    }

    /// The fixture as pretty JSON.
    pub fn to_json(&self) -> String {
        // Strings, numbers and JSON values only: serialising cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Replays given and when under a domain's rules and compares the state with then.
    pub fn run(&self, domain: &Domain) -> Result<FixtureRun, DomainError> {
        if self.scenario != domain.scenario().name {
            return Err(DomainError::bad_input(
                "fixture",
                format!(
                    "it tests scenario {:?}, not {}",
                    self.scenario,
                    domain.scenario().name
                ),
            ));
        }
        let count = (self.given.len() + self.when.len()) as u64;
        if count != self.then.version {
            return Err(DomainError::bad_input(
                "fixture",
                format!(
                    "then.version is {} but given and when hold {count} events",
                    self.then.version
                ),
            ));
        }
        let actual = fold(
            domain,
            &self.aggregate_id,
            self.given.iter().chain(&self.when),
        )?;
        Ok(FixtureRun {
            passed: actual == self.then.state,
            expected: self.then.state.clone(),
            actual,
        })
    }

    /// Checks that the rules fold given and when into then's state, failing like `assert_eq!`.
    #[track_caller]
    pub fn assert_passes(&self, domain: &Domain) {
        let run = self.run(domain).map(|run| (run.actual, run.expected));
        let (actual, expected) = match run {
            Ok(pair) => pair,
            Err(e) => (
                Value::String(format!("error: {e}")),
                self.then.state.clone(),
            ),
        };
        assert_eq!(actual, expected, "the state after given and when");
    }
}
