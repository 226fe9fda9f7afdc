//! A scenario compiled for use, as data: checked, its rules, upcasters and shapes compiled, each
//! aggregate type's rules hash computed, and the views of an event the rules read (upcast,
//! checked). Everything here is pure: no store, no clock. Calling the rules' handlers and
//! appliers is `aggregate`'s.
//!
//! - `error`: `DomainError`, what a command, an event or a shape can get wrong;
//! - `info`: the scenario as the page shows it;
//! - `shapes`: the declared shapes of events and payloads, and their checks.

mod error;
mod info;
mod shapes;

use std::collections::BTreeSet;

use rhai::Dynamic;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use error::DomainError;
pub use info::{AggregateInfo, CommandInfo, EventTypeInfo, ScenarioInfo, VersionShape};
pub use shapes::Shapes;

use crate::event::{EventData, StoredEvent, check_aggregate_id};
use crate::pacing::Pacer;
use crate::rules::AggregateRules;
use crate::scenario::{Scenario, ScenarioError};
use crate::script::{
    ScriptEngine, ScriptError, ScriptLimits, data_to_dynamic, dynamic_to_json, json_to_dynamic,
};
use crate::upcast::{UpcasterSource, Upcasters};

/// Largest automatic snapshot interval.
pub const MAX_SNAPSHOT_INTERVAL: u64 = 1_000_000;

/// One aggregate type (`account`) with the hash that tags its snapshots.
#[derive(Debug, Clone)]
pub struct AggregateType {
    /// Its compiled rules.
    pub rules: AggregateRules,
    /// Hash of its rules and of the upcasters of the event types it applies.
    pub rules_hash: String,
    /// The shapes it declares for its events and command payloads.
    pub shapes: Shapes,
}

/// A compiled scenario.
#[derive(Debug)]
pub struct Domain {
    scenario: Scenario,
    engine: ScriptEngine,
    aggregate_types: Vec<AggregateType>,
    upcasters: Upcasters,
}

impl Domain {
    /// Compiles a scenario with the default script limits.
    pub fn compile(scenario: Scenario) -> Result<Self, ScenarioError> {
        Self::compile_with_limits(scenario, ScriptLimits::default())
    }

    /// Compiles a scenario with the given script limits.
    pub fn compile_with_limits(
        scenario: Scenario,
        limits: ScriptLimits,
    ) -> Result<Self, ScenarioError> {
        check_declarations(&scenario)?;
        let engine = ScriptEngine::new(limits);
        let sources: Vec<String> = scenario
            .upcasters
            .iter()
            .map(|u| u.script.to_source())
            .collect();
        let upcasters = Upcasters::compile(
            &engine,
            scenario
                .upcasters
                .iter()
                .zip(&sources)
                .map(|(u, source)| UpcasterSource {
                    event_type: &u.event_type,
                    from_version: u.from_version,
                    source,
                }),
        )?;
        let mut aggregate_types = Vec::with_capacity(scenario.aggregates.len());
        for (index, spec) in scenario.aggregates.iter().enumerate() {
            let rules = AggregateRules::compile(
                &engine,
                &spec.name,
                &spec.id_prefix,
                &spec.rules.to_source(),
            )?;
            for command in spec.commands.keys() {
                if !rules.commands().any(|c| c == command) {
                    return Err(invalid(
                        format!("aggregates[{index}].commands.{command}"),
                        format!("the rules have no `handle_{command}` function"),
                    ));
                }
            }
            let rules_hash = rules_hash(&rules, &upcasters);
            let shapes = Shapes::compile(index, spec, &rules, &upcasters)?;
            aggregate_types.push(AggregateType {
                rules,
                rules_hash,
                shapes,
            });
        }
        for (index, projection) in scenario.projections.iter().enumerate() {
            let name_ok = projection
                .name
                .starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && projection
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !name_ok {
                return Err(invalid(
                    format!("projections[{index}].name"),
                    "must be a lower-case SQL name such as `balances`".into(),
                ));
            }
            for event_type in projection.on.keys() {
                if !aggregate_types.iter().any(|k| k.rules.applies(event_type)) {
                    return Err(invalid(
                        format!("projections[{index}].on.{event_type}"),
                        format!(
                            "no aggregate's rules apply {event_type:?}, so this would never run"
                        ),
                    ));
                }
            }
        }
        for (index, upcaster) in scenario.upcasters.iter().enumerate() {
            if !aggregate_types
                .iter()
                .any(|k| k.rules.applies(&upcaster.event_type))
            {
                return Err(invalid(
                    format!("upcasters[{index}].eventType"),
                    format!(
                        "no aggregate's rules apply {:?}, so its upcaster would never run",
                        upcaster.event_type
                    ),
                ));
            }
        }
        Ok(Domain {
            scenario,
            engine,
            aggregate_types,
            upcasters,
        })
    }

    /// The scenario it was compiled from.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The script engine.
    pub fn engine(&self) -> &ScriptEngine {
        &self.engine
    }

    /// The pacer the rules' calls are counted by (the engine's).
    pub fn pacer(&self) -> &Pacer {
        self.engine.pacer()
    }

    /// The aggregate types.
    pub fn aggregate_types(&self) -> &[AggregateType] {
        &self.aggregate_types
    }

    /// The upcasters.
    pub fn upcasters(&self) -> &Upcasters {
        &self.upcasters
    }

    /// The aggregate type an id belongs to: the one with the longest matching id prefix.
    pub fn aggregate_type_of(&self, aggregate_id: &str) -> Option<&AggregateType> {
        self.aggregate_types
            .iter()
            .filter(|k| aggregate_id.starts_with(k.rules.id_prefix()))
            .max_by_key(|k| k.rules.id_prefix().len())
    }

    /// The aggregate type an id belongs to, or the error naming the prefixes there are.
    pub fn aggregate_type_for(&self, aggregate_id: &str) -> Result<&AggregateType, DomainError> {
        self.aggregate_type_of(aggregate_id)
            .ok_or_else(|| DomainError::UnknownAggregate {
                aggregate_id: aggregate_id.to_string(),
                prefixes: self.id_prefixes(),
            })
    }

    /// The id prefixes of all aggregate types, for messages.
    pub fn id_prefixes(&self) -> Vec<String> {
        self.aggregate_types
            .iter()
            .map(|k| k.rules.id_prefix().to_string())
            .collect()
    }

    /// The schema version rules read (and commands write) for an event type.
    pub fn current_schema_version(&self, event_type: &str) -> u32 {
        self.upcasters.current_version(event_type)
    }

    /// Whether an event is stored in the schema version rules read: no upcaster applies to it.
    pub fn is_current(&self, event: &StoredEvent) -> bool {
        event.schema_version == self.current_schema_version(&event.event_type)
    }

    /// Checks that an aggregate type's rules apply an event type and that a schema version is one the
    /// upcasters know; returns the schema version to store (default: the current one).
    pub fn check_event_type(
        &self,
        aggregate: &AggregateType,
        event_type: &str,
        schema_version: Option<u32>,
    ) -> Result<u32, DomainError> {
        if !aggregate.rules.applies(event_type) {
            return Err(DomainError::UnknownEventType {
                aggregate_type: aggregate.rules.name().to_string(),
                event_type: event_type.to_string(),
                known: aggregate.rules.event_types().map(str::to_string).collect(),
            });
        }
        let current = self.current_schema_version(event_type);
        match schema_version {
            None => Ok(current),
            Some(given) if (1..=current).contains(&given) => Ok(given),
            Some(given) => Err(DomainError::UnknownSchemaVersion {
                event_type: event_type.to_string(),
                given,
                current,
            }),
        }
    }

    /// An event's data, upcast to the current schema version, as a Rhai value.
    pub fn upcast_data(&self, event: &StoredEvent) -> Result<Dynamic, ScriptError> {
        let data = data_to_dynamic(&event.data).map_err(|e| {
            ScriptError::contract(
                "event data",
                None,
                format!("event {} cannot be read: {e}", event.event_id),
            )
        })?;
        self.upcasters.upcast(&self.engine, event, data)
    }

    /// An event as the rules see it: data upcast, schema version current. The stored event is
    /// unchanged; this is a view for reading.
    pub fn upcast_event(&self, event: &StoredEvent) -> Result<StoredEvent, ScriptError> {
        if self.is_current(event) {
            return Ok(event.clone());
        }
        let current = self.current_schema_version(&event.event_type);
        let value = self.upcast_value(self.aggregate_type_of(&event.aggregate_id), event)?;
        let data = EventData::from_value(value).map_err(|e| {
            ScriptError::contract(
                &format!("upcasters of {}", event.event_type),
                None,
                format!("the upcast data cannot be stored: {e}"),
            )
        })?;
        Ok(StoredEvent {
            schema_version: current,
            data,
            ..event.clone()
        })
    }

    /// An old event's data brought to the current schema version, as JSON, checked against the
    /// current shape of its type: an upcaster that produces the wrong shape is named.
    fn upcast_value(
        &self,
        aggregate: Option<&AggregateType>,
        event: &StoredEvent,
    ) -> Result<Value, ScriptError> {
        let script = format!("upcasters of {}", event.event_type);
        let value = dynamic_to_json(&self.upcast_data(event)?).map_err(|e| {
            ScriptError::contract(&script, None, format!("the upcast data is not JSON: {e}"))
        })?;
        if let Some(aggregate) = aggregate {
            self.check_output(aggregate, &script, &event.event_type, &value)?;
        }
        Ok(value)
    }

    /// An event's data as the rules read it, as a Rhai value: upcast to the current schema
    /// version (checked against the current shape of its type) where it is older.
    pub fn rules_data(
        &self,
        aggregate: &AggregateType,
        event: &StoredEvent,
    ) -> Result<Dynamic, ScriptError> {
        if self.is_current(event) {
            return self.upcast_data(event);
        }
        let value = self.upcast_value(Some(aggregate), event)?;
        json_to_dynamic(&value).map_err(|e| {
            ScriptError::contract(&format!("upcasters of {}", event.event_type), None, e)
        })
    }
}

/// The hash that tags snapshots: the rules' source and the upcasters of the event types they
/// apply. Changing either makes older snapshots stale.
fn rules_hash(rules: &AggregateRules, upcasters: &Upcasters) -> String {
    let mut hasher = Sha256::new();
    hasher.update(rules.source().as_bytes());
    for event_type in rules.event_types() {
        for (version, source) in upcasters.sources(event_type).enumerate() {
            hasher.update(format!("\0upcaster {event_type} {}\0", version + 1).as_bytes());
            hasher.update(source.as_bytes());
        }
    }
    hasher
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn invalid(field: String, reason: String) -> ScenarioError {
    ScenarioError::Invalid { field, reason }
}

/// Checks the parts of a scenario that are not scripts.
fn check_declarations(scenario: &Scenario) -> Result<(), ScenarioError> {
    let name_ok = !scenario.name.is_empty()
        && scenario.name.len() <= 64
        && scenario
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !name_ok {
        return Err(invalid(
            "name".into(),
            "must be 1 to 64 ASCII letters, digits, - or _".into(),
        ));
    }
    if scenario.snapshot_interval > MAX_SNAPSHOT_INTERVAL {
        return Err(invalid(
            "snapshotInterval".into(),
            format!("must be at most {MAX_SNAPSHOT_INTERVAL} (0 turns automatic snapshots off)"),
        ));
    }
    if scenario.aggregates.is_empty() {
        return Err(invalid(
            "aggregates".into(),
            "a scenario needs at least one aggregate".into(),
        ));
    }
    let mut names = BTreeSet::new();
    let mut prefixes = BTreeSet::new();
    for (index, aggregate) in scenario.aggregates.iter().enumerate() {
        if aggregate.name.is_empty() || !names.insert(aggregate.name.as_str()) {
            return Err(invalid(
                format!("aggregates[{index}].name"),
                "must be present and unique".into(),
            ));
        }
        if let Err(e) = check_aggregate_id(&aggregate.id_prefix) {
            return Err(invalid(
                format!("aggregates[{index}].idPrefix"),
                e.to_string(),
            ));
        }
        if !prefixes.insert(aggregate.id_prefix.as_str()) {
            return Err(invalid(
                format!("aggregates[{index}].idPrefix"),
                "two aggregates have the same id prefix".into(),
            ));
        }
    }
    for (index, step) in scenario.seed.iter().enumerate() {
        if step.command.is_some() == step.event.is_some() {
            return Err(invalid(
                format!("seed[{index}]"),
                "give exactly one of `command` and `event`".into(),
            ));
        }
    }
    Ok(())
}
