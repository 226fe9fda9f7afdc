//! A consumer node in a worker (`ConsumerNode` to JS): the core's node over its read model, kept
//! in the origin-private file system (SQLite's sync-access-handle pool), so that when the page
//! terminates the worker (a crash) and starts another, the new node opens the files the old one
//! left and goes on from its checkpoint. Where that file system is missing (a page opened from a
//! file), the read model lives in the worker's memory, and says so.

use std::rc::Rc;

use serde::{Deserialize, Serialize};
use sqlite_wasm_vfs::sahpool::{OpfsSAHError, OpfsSAHPoolCfgBuilder, install};
use wasm_bindgen::prelude::*;

use super::NodeOptions;
use crate::consumers::{ConsumerNode, CrashPoint, Delivery, Outcome, Reply};
use crate::domain::Domain;
use crate::read_side::ConsumerModel;
use crate::sandbox::SandboxError;
use crate::scenario::Scenario;
use crate::web::convert::{from_json, options, required, to_js};
use crate::web::read_model::dto::{QueryAnswer, QueryOptions};
use crate::web::runtime::clock_ms;
use crate::web::runtime::sleep;

/// The VFS a node's read model lives on.
const VFS: &str = "es-sandbox-consumer";
/// The node's database file in its pool.
const DATABASE: &str = "/read-model.db";

/// Installs the node's pool of files. A worker terminated a moment ago may still hold them: the
/// new one tries again for a while. `false`: there is no such file system here.
async fn open_pool(pool: &sqlite_wasm_vfs::sahpool::OpfsSAHPoolCfg) -> bool {
    for _ in 0..40 {
        match install::<sqlite_wasm_rs::WasmOsCallback>(pool, false).await {
            Ok(_) => return true,
            Err(OpfsSAHError::NotSupported) => return false,
            Err(_) => sleep(50.0).await,
        }
    }
    false
}

/// One delivery of a batch.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    arrow: u64,
    delivery: Delivery,
}

/// What the node did with one delivery of a batch (`None`: it had crashed before it).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Done {
    arrow: u64,
    handled: Option<HandledJs>,
}

/// A delivery's outcome and replies, as they cross back to the page.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandledJs {
    /// What the node did.
    pub outcome: Outcome,
    /// What it says to the store.
    pub replies: Vec<Reply>,
}

/// A consumer node in a worker.
#[wasm_bindgen(js_name = ConsumerNode)]
pub struct JsConsumer {
    node: ConsumerNode<ConsumerModel>,
    storage: &'static str,
    /// Set when it crashed: it handles nothing more (the page terminates its worker).
    crashed: bool,
}

#[wasm_bindgen(js_class = ConsumerNode)]
impl JsConsumer {
    /// Opens a node from what the lab says it needs (`ConsumersLab.nodeOptions`).
    pub async fn open(
        #[wasm_bindgen(unchecked_param_type = "object")] node_options: JsValue,
    ) -> Result<JsConsumer, JsValue> {
        let node_options: NodeOptions = required(node_options, "node options")?;
        let scenario = Scenario::from_json(&node_options.scenario).map_err(SandboxError::from)?;
        let domain = Rc::new(Domain::compile(scenario).map_err(SandboxError::from)?);
        let pool = OpfsSAHPoolCfgBuilder::new()
            .vfs_name(VFS)
            .directory(&node_options.directory)
            .clear_on_init(node_options.fresh)
            .initial_capacity(3)
            .build();
        let on_disk = open_pool(&pool).await;
        let (path, vfs, storage) = if on_disk {
            (DATABASE, Some(VFS), "the origin-private file system")
        } else {
            (
                ":memory:",
                None,
                "the worker's memory (no origin-private file system here)",
            )
        };
        let model = ConsumerModel::open(
            domain,
            &node_options.projections,
            path,
            vfs,
            node_options.strict,
        )
        .map_err(SandboxError::from)?;
        Ok(JsConsumer {
            node: ConsumerNode::new(node_options.config(), model),
            storage,
            crashed: false,
        })
    }

    /// What the node says when it starts (a catch-up node subscribes after its checkpoint).
    #[wasm_bindgen(unchecked_return_type = "object[]")]
    pub fn start(&self) -> Result<JsValue, JsValue> {
        Ok(to_js(&self.node.start())?)
    }

    /// Where its read model lives.
    pub fn storage(&self) -> String {
        self.storage.to_string()
    }

    /// Its checkpoint, as its read model keeps it.
    pub fn checkpoint(&self) -> f64 {
        use crate::consumers::Handler;
        self.node.handler().checkpoint() as f64
    }

    /// Makes it crash at a point of its next delivery: `"beforeHandling"`, `"afterWrite"` or
    /// `"afterAck"`.
    pub fn arm(&mut self, point: JsValue) -> Result<(), JsValue> {
        let point: CrashPoint = required(point, "crash point")?;
        self.node.arm(point);
        Ok(())
    }

    /// Handles a batch of deliveries `[{ arrow, delivery }]`, in order; after a crash, the rest
    /// are not handled (`handled: null`).
    #[wasm_bindgen(unchecked_return_type = "object[]")]
    pub fn receive(&mut self, batch: JsValue) -> Result<JsValue, JsValue> {
        let batch: Vec<Item> = from_json(batch, "deliveries")?;
        // The batch commits together, before the node answers for any of it (a crash point
        // stops the batch there: what was written before it is committed too).
        self.node
            .handler_mut()
            .begin_batch()
            .map_err(SandboxError::from)?;
        let done: Vec<Done> = batch
            .into_iter()
            .map(|item| {
                if self.crashed {
                    return Done {
                        arrow: item.arrow,
                        handled: None,
                    };
                }
                let handled = self.node.receive(&item.delivery);
                self.crashed = handled.crashed();
                Done {
                    arrow: item.arrow,
                    handled: Some(HandledJs {
                        outcome: handled.outcome,
                        replies: handled.replies,
                    }),
                }
            })
            .collect();
        self.node
            .handler_mut()
            .commit_batch()
            .map_err(SandboxError::from)?;
        Ok(to_js(&done)?)
    }

    /// Runs one read-only statement on its read model, as the query box does.
    #[wasm_bindgen(unchecked_return_type = "QueryAnswer")]
    pub fn query(
        &mut self,
        sql: &str,
        #[wasm_bindgen(unchecked_param_type = "QueryOptions | undefined")] query_options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let query_options: QueryOptions = options(query_options, "query options")?;
        let started = clock_ms();
        let result = self
            .node
            .handler_mut()
            .query(sql, &query_options.limits(clock_ms))
            .map_err(SandboxError::from)?;
        Ok(to_js(&QueryAnswer {
            ms: clock_ms() - started,
            what_if: false,
            as_of: None,
            sources: Vec::new(),
            result,
        })?)
    }
}
