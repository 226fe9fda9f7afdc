//! Snapshots: an aggregate's state at a version, tagged with the rules that computed it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An aggregate's state after `version`, so that a replay can start there instead of at version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// The aggregate the state belongs to.
    pub aggregate_id: String,
    /// The last version folded into `state`.
    pub version: u64,
    /// The state as JSON.
    pub state: Value,
    /// Hash of the aggregate's rules and the upcasters in force when the state was computed; a
    /// snapshot whose hash differs from the current one is stale and is not used.
    pub rules_hash: String,
}
