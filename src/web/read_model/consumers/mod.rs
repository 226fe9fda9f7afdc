//! The consumers lab in the browser: the lab itself runs on the page (`lab`: the store's side,
//! the links, the trace; `truth`: a reference read model that is the log's truth; `opening`: a
//! run from options or from a shared run's link data, `shared_run`), each consumer node in a
//! worker of its own with its read model in the origin-private file system (`node`). The page's
//! script only carries messages between them (`dto`) and paces simulated time.

mod dto;
pub mod lab;
pub mod node;
mod opening;
mod shared_run;
mod truth;

use serde::{Deserialize, Serialize};

use crate::consumers::{CommitMode, NackAction, NodeConfig, SubscriptionKind};
use crate::scenario::ProjectionSpec;

/// What a worker needs to open a consumer node.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeOptions {
    /// The scenario document (JSON text): its upcasters.
    pub scenario: String,
    /// The projections the node runs (as deployed now).
    pub projections: Vec<ProjectionSpec>,
    /// How it follows the log.
    pub kind: SubscriptionKind,
    /// When it commits.
    pub commit: CommitMode,
    /// Whether it keeps an inbox.
    pub inbox: bool,
    /// What it answers about an event it cannot handle.
    pub on_failure: NackAction,
    /// Whether an update or delete that changes no row fails.
    pub strict: bool,
    /// The directory of its files in the origin-private file system (one per node and run).
    pub directory: String,
    /// A new run: its files start empty (false: a restart, over the files it left).
    pub fresh: bool,
}

impl NodeOptions {
    /// The node's config.
    pub fn config(&self) -> NodeConfig {
        NodeConfig {
            kind: self.kind,
            commit: self.commit,
            inbox: self.inbox,
            on_failure: self.on_failure,
        }
    }
}
