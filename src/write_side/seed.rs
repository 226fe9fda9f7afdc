//! A scenario's seed turned into event batches, computed without a store so that seeding is the
//! same everywhere and repeatable.

use std::collections::HashMap;

use rhai::Dynamic;

use crate::aggregate::{self, Placement};
use crate::domain::Domain;
use crate::event::{EventData, EventId, Metadata, ProposedEvent};
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
        let aggregate = domain.aggregate_type_of(aggregate_id).ok_or_else(|| {
            fail(format!(
                "no aggregate has ids like {aggregate_id:?}; ids start with {}",
                domain.id_prefixes().join(" or ")
            ))
        })?;
        let (version, state) = match heads.remove(aggregate_id) {
            Some(head) => head,
            None => (
                0,
                aggregate::initial_state(domain, aggregate).map_err(|e| fail(e.to_string()))?,
            ),
        };
        let at = Placement {
            aggregate_id,
            version,
            position,
            metadata: Metadata::at(step.timestamp),
        };
        let id = |n: usize| EventId::derived(&format!("{}/seed/{index}/{n}", scenario.name));
        let (events, state) = match (&step.command, &step.event) {
            (Some(command), _) => {
                let decision =
                    aggregate::decide(domain, aggregate, state, command, &step.data, &at, id)
                        .map_err(|e| fail(e.to_string()))?;
                (decision.events, decision.state)
            }
            (None, Some(event_type)) => {
                let schema_version = domain
                    .check_event_type(aggregate, event_type, step.schema_version)
                    .map_err(|e| fail(e.to_string()))?;
                let data =
                    EventData::from_value(step.data.clone()).map_err(|e| fail(e.to_string()))?;
                domain
                    .check_event_data(aggregate, event_type, schema_version, &data)
                    .map_err(|e| fail(e.to_string()))?;
                let events = vec![ProposedEvent {
                    event_id: id(0),
                    event_type: event_type.as_str().into(),
                    schema_version,
                    data,
                    metadata: at.metadata.clone(),
                }];
                let state = aggregate::fold_batch(domain, aggregate, state, &at, &events)
                    .map_err(|e| fail(e.to_string()))?;
                (events, state)
            }
            // The scenario check refuses a step with neither.
            (None, None) => (Vec::new(), state),
        };
        position += events.len() as u64;
        heads.insert(aggregate_id, (version + events.len() as u64, state));
        if !events.is_empty() {
            batches.push((aggregate_id.to_string(), events));
        }
    }
    Ok(batches)
}
