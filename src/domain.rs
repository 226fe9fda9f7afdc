//! A scenario compiled for use: checked, its rules and upcasters compiled, each aggregate type's
//! rules hash computed. Everything here is pure: no store, no clock.

use std::collections::BTreeSet;

use rhai::Dynamic;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::SandboxError;
use crate::event::{EventData, StoredEvent, check_aggregate_id};
use crate::rules::{AggregateRules, CommandContext, DecideError, Decided};
use crate::scenario::{ProjectionSpec, Scenario, ScenarioError, SuggestedQuery, UpcasterSpec};
use crate::script::{
    ScriptEngine, ScriptError, ScriptLimits, data_to_dynamic, dynamic_to_json, json_to_dynamic,
};
use crate::upcast::{UpcasterSource, Upcasters};

/// Largest automatic snapshot interval.
pub const MAX_SNAPSHOT_INTERVAL: u64 = 1_000_000;

/// A scenario as the page shows it: names, help, rules, and what each aggregate accepts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioInfo {
    /// Machine name.
    pub name: String,
    /// Human title.
    pub title: String,
    /// What it shows.
    pub description: String,
    /// Automatic snapshot interval.
    pub snapshot_interval: u64,
    /// The aggregate types.
    pub aggregates: Vec<AggregateInfo>,
    /// The upcasters.
    pub upcasters: Vec<UpcasterSpec>,
    /// The read model's projections.
    pub projections: Vec<ProjectionSpec>,
    /// Suggested queries.
    pub queries: Vec<SuggestedQuery>,
}

/// One aggregate type as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregateInfo {
    /// Its name.
    pub name: String,
    /// Its id prefix.
    pub id_prefix: String,
    /// What it models.
    pub description: String,
    /// Its rules' source.
    pub rules: String,
    /// The hash its snapshots carry.
    pub rules_hash: String,
    /// Its commands with help and an example payload.
    pub commands: Vec<CommandInfo>,
    /// The event types it applies, with their current schema versions.
    pub event_types: Vec<EventTypeInfo>,
}

/// A command as the page offers it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandInfo {
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// A payload to start from.
    pub example: Value,
}

/// An event type with its current schema version.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventTypeInfo {
    /// Its name.
    pub name: String,
    /// The schema version commands write.
    pub schema_version: u32,
}

/// One aggregate type (`account`) with the hash that tags its snapshots.
#[derive(Debug, Clone)]
pub struct AggregateType {
    /// Its compiled rules.
    pub rules: AggregateRules,
    /// Hash of its rules and of the upcasters of the event types it applies.
    pub rules_hash: String,
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
        check_scenario(&scenario)?;
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
            aggregate_types.push(AggregateType { rules, rules_hash });
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

    /// What the page shows of the scenario.
    pub fn describe(&self) -> ScenarioInfo {
        let scenario = &self.scenario;
        let aggregates = self
            .aggregate_types
            .iter()
            .zip(&scenario.aggregates)
            .map(|(aggregate, spec)| AggregateInfo {
                name: spec.name.clone(),
                id_prefix: spec.id_prefix.clone(),
                description: spec.description.clone(),
                rules: aggregate.rules.source().to_string(),
                rules_hash: aggregate.rules_hash.clone(),
                commands: aggregate
                    .rules
                    .commands()
                    .map(|name| {
                        let help = spec.commands.get(name);
                        CommandInfo {
                            name: name.to_string(),
                            description: help.map(|h| h.description.clone()).unwrap_or_default(),
                            example: help
                                .map(|h| h.example.clone())
                                .filter(|e| !e.is_null())
                                .unwrap_or_else(|| Value::Object(Default::default())),
                        }
                    })
                    .collect(),
                event_types: aggregate
                    .rules
                    .event_types()
                    .map(|name| EventTypeInfo {
                        name: name.to_string(),
                        schema_version: self.current_schema_version(name),
                    })
                    .collect(),
            })
            .collect();
        ScenarioInfo {
            name: scenario.name.clone(),
            title: scenario.title.clone(),
            description: scenario.description.clone(),
            snapshot_interval: scenario.snapshot_interval,
            aggregates,
            upcasters: scenario.upcasters.clone(),
            projections: scenario.projections.clone(),
            queries: scenario.queries.clone(),
        }
    }

    /// The scenario it was compiled from.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The script engine.
    pub fn engine(&self) -> &ScriptEngine {
        &self.engine
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
    ) -> Result<u32, SandboxError> {
        if !aggregate.rules.applies(event_type) {
            return Err(SandboxError::UnknownEventType {
                aggregate_type: aggregate.rules.name().to_string(),
                event_type: event_type.to_string(),
                known: aggregate.rules.event_types().map(str::to_string).collect(),
            });
        }
        let current = self.current_schema_version(event_type);
        match schema_version {
            None => Ok(current),
            Some(given) if (1..=current).contains(&given) => Ok(given),
            Some(given) => Err(SandboxError::UnknownSchemaVersion {
                event_type: event_type.to_string(),
                given,
                current,
            }),
        }
    }

    /// The starting state of an aggregate type.
    pub fn initial_state(&self, aggregate: &AggregateType) -> Result<Dynamic, ScriptError> {
        aggregate.rules.initial_state(&self.engine)
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
        let data = self.upcast_data(event)?;
        let data = dynamic_to_json(&data)
            .ok()
            .and_then(|value| EventData::from_value(value).ok())
            .ok_or_else(|| {
                ScriptError::contract(
                    &format!("upcasters of {}", event.event_type),
                    None,
                    "the upcast data is not a JSON object within the size limit",
                )
            })?;
        Ok(StoredEvent {
            schema_version: current,
            data,
            ..event.clone()
        })
    }

    /// Folds one stored event into a state: upcast, then apply.
    pub fn fold(
        &self,
        aggregate: &AggregateType,
        state: Dynamic,
        event: &StoredEvent,
    ) -> Result<Dynamic, ScriptError> {
        let data = self.upcast_data(event)?;
        aggregate.rules.apply(&self.engine, state, data, event)
    }

    /// Runs a command handler: the events it decides on, or why not. Pure: the caller supplies
    /// the state.
    pub fn decide(
        &self,
        aggregate: &AggregateType,
        state: Dynamic,
        command: &str,
        payload: &Value,
        context: CommandContext<'_>,
    ) -> Result<Vec<Decided>, DecideError> {
        let payload = json_to_dynamic(payload).map_err(|e| {
            DecideError::Script(ScriptError::contract(
                aggregate.rules.name(),
                None,
                format!("the command payload cannot be given to the rules: {e}"),
            ))
        })?;
        aggregate
            .rules
            .decide(&self.engine, state, command, payload, context)
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
fn check_scenario(scenario: &Scenario) -> Result<(), ScenarioError> {
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
