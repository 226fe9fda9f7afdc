//! A scenario's seed turned into event batches, computed without a store so that seeding is the
//! same everywhere and repeatable.

use std::collections::HashMap;

use rhai::Dynamic;

use super::{decide_error, fold_batch, provisional_events};
use crate::domain::Domain;
use crate::event::{EventData, EventId, Metadata, ProposedEvent};
use crate::rules::CommandContext;
use crate::scenario::ScenarioError;

/// The seed's events as (aggregate id, batch) in order, with ids derived from the scenario name
/// and step, and each batch already checked against the rules.
pub fn plan_seed(domain: &Domain) -> Result<Vec<(String, Vec<ProposedEvent>)>, ScenarioError> {
    let scenario = domain.scenario();
    let mut heads: HashMap<&str, (u64, Dynamic)> = HashMap::new();
    let mut position = 0;
    let mut batches = Vec::new();
    for (index, step) in scenario.seed.iter().enumerate() {
        let fail = |reason: String| ScenarioError::Seed { index, reason };
        let aggregate_id = step.aggregate_id.as_str();
        let kind = domain.kind_of(aggregate_id).ok_or_else(|| {
            fail(format!(
                "no aggregate has ids like {aggregate_id:?}; ids start with {}",
                domain.id_prefixes().join(" or ")
            ))
        })?;
        let (version, state) = match heads.remove(aggregate_id) {
            Some(head) => head,
            None => (
                0,
                domain
                    .initial_state(kind)
                    .map_err(|e| fail(e.to_string()))?,
            ),
        };
        let mut decided = Vec::new();
        if let Some(command) = &step.command {
            let context = CommandContext {
                aggregate_id,
                version,
                timestamp: step.timestamp,
            };
            for d in domain
                .decide(kind, state.clone(), command, &step.data, context)
                .map_err(|e| fail(decide_error(kind, aggregate_id, command, e).to_string()))?
            {
                let schema_version = domain.current_schema_version(&d.event_type);
                decided.push((d.event_type, schema_version, d.data));
            }
        }
        if let Some(event_type) = &step.event {
            let schema_version = domain
                .check_event_type(kind, event_type, step.schema_version)
                .map_err(|e| fail(e.to_string()))?;
            let data = EventData::from_value(step.data.clone()).map_err(|e| fail(e.to_string()))?;
            decided.push((event_type.clone(), schema_version, data));
        }
        let events: Vec<ProposedEvent> = decided
            .into_iter()
            .enumerate()
            .map(|(n, (event_type, schema_version, data))| ProposedEvent {
                event_id: EventId::derived(&format!("{}/seed/{index}/{n}", scenario.name)),
                event_type: event_type.into(),
                schema_version,
                data,
                metadata: Metadata::at(step.timestamp),
            })
            .collect();
        let provisional = provisional_events(aggregate_id, version, position, &events);
        let state =
            fold_batch(domain, kind, state, &provisional).map_err(|e| fail(e.to_string()))?;
        position += events.len() as u64;
        heads.insert(aggregate_id, (version + events.len() as u64, state));
        if !events.is_empty() {
            batches.push((aggregate_id.to_string(), events));
        }
    }
    Ok(batches)
}
