//! A compiled scenario as the page shows it: names, help, rules, and what each aggregate
//! accepts, with the shapes of its commands and events in words.

use serde::Serialize;
use serde_json::Value;

use super::Domain;
use crate::scenario::{ProjectionSpec, SuggestedQuery, UpcasterSpec};
use crate::shape::Shape;

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
    /// The shape its payload must have, in words (`{ amount: integer }`), if one is declared.
    pub payload: Option<String>,
}

/// An event type with its current schema version.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventTypeInfo {
    /// Its name.
    pub name: String,
    /// The schema version commands write.
    pub schema_version: u32,
    /// The declared shape of its data at each schema version, in words.
    pub shapes: Vec<VersionShape>,
}

/// The shape of an event type's data at one schema version.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionShape {
    /// The schema version.
    pub schema_version: u32,
    /// The shape, in words.
    pub shape: String,
}

impl Domain {
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
                            payload: aggregate.shapes.command(name).map(Shape::describe),
                        }
                    })
                    .collect(),
                event_types: aggregate
                    .rules
                    .event_types()
                    .map(|name| EventTypeInfo {
                        name: name.to_string(),
                        schema_version: self.current_schema_version(name),
                        shapes: (1..=self.current_schema_version(name))
                            .filter_map(|version| {
                                let shape = aggregate.shapes.event(name, version)?;
                                Some(VersionShape {
                                    schema_version: version,
                                    shape: shape.describe(),
                                })
                            })
                            .collect(),
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
}
