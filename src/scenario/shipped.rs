//! The scenarios that ship with es-sandbox, built into the module so the page works offline.

use super::{ProjectionSpec, Scenario, ScenarioError};

/// Names of the shipped scenarios.
pub const SHIPPED: [&str; 3] = ["bank", "orders", "users"];

/// The JSON of a shipped scenario.
fn source(name: &str) -> Option<&'static str> {
    match name {
        "bank" => Some(include_str!("../../scenarios/bank.json")),
        "orders" => Some(include_str!("../../scenarios/orders.json")),
        "users" => Some(include_str!("../../scenarios/users.json")),
        _ => None,
    }
}

/// A shipped scenario by name.
pub fn shipped(name: &str) -> Result<Scenario, ScenarioError> {
    let text = source(name).ok_or_else(|| ScenarioError::UnknownShipped {
        name: name.to_string(),
    })?;
    Scenario::from_json(text)
}

/// Whether `projections` are the ones the shipped scenario `name` ships with: their setup is
/// known to run (tests open the read model of each shipped scenario).
pub fn ships_projections(name: &str, projections: &[ProjectionSpec]) -> bool {
    shipped(name).is_ok_and(|scenario| scenario.projections == projections)
}
