//! The shapes an aggregate type declares for its events (per schema version) and its command
//! payloads, compiled from the scenario, and the checks every way in makes against them: raw
//! appends and command payloads (the caller's input), events a handler decided and data an
//! upcaster produced (the rules' output).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{AggregateType, Domain, DomainError};
use crate::event::EventData;
use crate::rules::AggregateRules;
use crate::scenario::{AggregateSpec, ScenarioError};
use crate::script::ScriptError;
use crate::shape::{Mismatch, Shape, check_safe_integers, describe_value};
use crate::upcast::Upcasters;

/// An aggregate type's declared shapes.
#[derive(Debug, Clone, Default)]
pub struct Shapes {
    /// By event type and schema version.
    events: BTreeMap<(String, u32), Shape>,
    /// By command.
    commands: BTreeMap<String, Shape>,
}

impl Shapes {
    /// Reads an aggregate's shapes: `events` keys are an event type (its current schema version)
    /// or `Type@N` (schema version N); command shapes are each command's `payload`.
    pub fn compile(
        index: usize,
        spec: &AggregateSpec,
        rules: &AggregateRules,
        upcasters: &Upcasters,
    ) -> Result<Self, ScenarioError> {
        let invalid = |field: String, reason: String| ScenarioError::Invalid { field, reason };
        let mut shapes = Shapes::default();
        for (key, declared) in &spec.events {
            let field = format!("aggregates[{index}].events.{key}");
            let (event_type, version) = match key.split_once('@') {
                Some((event_type, version)) => {
                    let version = version.parse::<u32>().map_err(|_| {
                        invalid(
                            field.clone(),
                            format!("{version:?} is not a schema version"),
                        )
                    })?;
                    (event_type, version)
                }
                None => (key.as_str(), upcasters.current_version(key)),
            };
            if !rules.applies(event_type) {
                return Err(invalid(
                    field,
                    format!("the rules have no `apply_{event_type}` function"),
                ));
            }
            let current = upcasters.current_version(event_type);
            if !(1..=current).contains(&version) {
                return Err(invalid(
                    field,
                    format!("{event_type} has schema versions 1 to {current}"),
                ));
            }
            let shape = Shape::parse(declared).map_err(|e| invalid(field, e))?;
            shapes
                .events
                .insert((event_type.to_string(), version), shape);
        }
        for (command, help) in &spec.commands {
            if let Some(declared) = &help.payload {
                let shape = Shape::parse(declared).map_err(|e| {
                    invalid(format!("aggregates[{index}].commands.{command}.payload"), e)
                })?;
                shapes.commands.insert(command.clone(), shape);
            }
        }
        Ok(shapes)
    }

    /// The declared shape of an event type's data at a schema version.
    pub fn event(&self, event_type: &str, version: u32) -> Option<&Shape> {
        self.events.get(&(event_type.to_string(), version))
    }

    /// The declared shape of a command's payload.
    pub fn command(&self, command: &str) -> Option<&Shape> {
        self.commands.get(command)
    }
}

/// A mismatch as the caller's error.
fn refused(what: String, mismatch: Mismatch) -> DomainError {
    DomainError::Shape {
        what,
        field: mismatch.field,
        expected: mismatch.expected,
        found: mismatch.found,
    }
}

impl Domain {
    /// Checks an event a caller offers (a raw append): its data has the shape declared for its
    /// type and schema version, and no integer JavaScript cannot hold.
    pub fn check_event_data(
        &self,
        aggregate: &AggregateType,
        event_type: &str,
        schema_version: u32,
        data: &EventData,
    ) -> Result<(), DomainError> {
        let value = data.to_value();
        let what = || format!("{event_type} (schema version {schema_version})");
        check_safe_integers(&value).map_err(|m| refused(what(), m))?;
        match aggregate.shapes.event(event_type, schema_version) {
            Some(shape) => shape.check(&value).map_err(|m| refused(what(), m)),
            None => Ok(()),
        }
    }

    /// Checks a command's payload before its handler runs: an object, of the declared shape.
    pub fn check_payload(
        &self,
        aggregate: &AggregateType,
        command: &str,
        payload: &Value,
    ) -> Result<(), DomainError> {
        let what = || format!("the payload of {command}");
        let shape = aggregate.shapes.command(command);
        if !payload.is_object() {
            return Err(DomainError::Shape {
                what: what(),
                field: String::new(),
                expected: shape.map_or_else(|| "an object".into(), Shape::describe),
                found: describe_value(payload),
            });
        }
        check_safe_integers(payload).map_err(|m| refused(what(), m))?;
        match shape {
            Some(shape) => shape.check(payload).map_err(|m| refused(what(), m)),
            None => Ok(()),
        }
    }

    /// Checks data the rules produced (a handler's event, an upcaster's output) against the
    /// current shape of its type: a mismatch is the script's fault, named as a contract error.
    pub fn check_output(
        &self,
        aggregate: &AggregateType,
        script: &str,
        event_type: &str,
        data: &Value,
    ) -> Result<(), ScriptError> {
        let version = self.current_schema_version(event_type);
        let Some(shape) = aggregate.shapes.event(event_type, version) else {
            return Ok(());
        };
        shape.check(data).map_err(|m| {
            let field = if m.field.is_empty() {
                "its data".to_string()
            } else {
                format!("`{}`", m.field)
            };
            ScriptError::contract(
                script,
                None,
                format!(
                    "produced {event_type} (schema version {version}) whose {field} is {}, but it must be {}",
                    m.found, m.expected
                ),
            )
        })
    }
}
