//! Opening a sandbox: the scenario (a shipped name, a document, or a share link's), a store of
//! the chosen backend, an import before the sandbox opens over it, then the news and the read
//! model following the log.

use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::browser_segments::{Backend, BrowserStore};
use super::class::JsSandbox;
use super::convert::{required, scenario_from};
use super::crud_place::CrudPlace;
use super::dto::OpenOptions;
use super::indexed_db::Durability;
use super::news::Newsroom;
use super::pacing_host::PageHost;
use super::runtime::now;
use super::store;
use crate::domain::Domain;
use crate::interchange::{Exchange, import_into, read, read_share_link};
use crate::sandbox::{Sandbox, SandboxError};
use crate::scenario::SHIPPED;
use crate::store::EventStore;

impl JsSandbox {
    async fn open_inner(open: OpenOptions) -> Result<JsSandbox, SandboxError> {
        let (scenario, exchange) = match (&open.share, open.scenario) {
            (Some(link), _) => {
                let shared = read_share_link(link)?;
                (shared.scenario, Some((shared.exchange, false)))
            }
            (None, Some(scenario)) => (scenario_from(scenario)?, None),
            (None, None) => {
                return Err(SandboxError::bad_input(
                    "open options",
                    "give a `scenario` (or a `share` link)",
                ));
            }
        };
        let exchange = match (exchange, open.import) {
            (_, Some(file)) => Some((read(file.format, file.text.as_bytes())?, true)),
            (shared, None) => shared,
        };
        let name = open.name.unwrap_or_else(|| scenario.name.clone());
        let domain = Rc::new(Domain::compile(scenario)?);
        // Whatever the rules cost, the page stays responsive: the import and every replay
        // breathe between slices, and say which rule is slow.
        let host = PageHost::new(&open.on_slow, open.signal);
        host.pace(&domain);
        let store = store::open(open.storage, &name, open.durability).await?;
        #[cfg(feature = "test-hooks")]
        if let Some(writes) = open.abort_import_write_after {
            store.io().abort_write_after(writes);
        }
        if let Some((exchange, required)) = exchange {
            import_before_open(&store, (open.storage, &name), &domain, &exchange, required).await?;
        }
        let sandbox = Rc::new(Sandbox::open_compiled(store, domain, open.on_other_scenario).await?);
        // The store's own rules may have been compiled anew: they are paced too.
        host.pace(sandbox.domain());
        host.opened();
        let head = sandbox.store().head_position().await?;
        let channel = (open.storage != Backend::Memory)
            .then(|| format!("es-sandbox/{}/{name}", open.storage.as_str()));
        let news = Newsroom::new(Rc::clone(&sandbox), channel.as_deref(), head);
        Ok(JsSandbox {
            // The read model follows the log (only in the whole module).
            #[cfg(feature = "read-model")]
            projecting: super::read_model::projecting::Projecting::start(
                Rc::clone(&sandbox),
                Rc::clone(&news),
                open.read_model == super::dto::ReadModelMode::Live,
            ),
            inner: sandbox,
            news,
            crud: Rc::new(CrudPlace::for_store(open.storage, &name)),
            backend: open.storage,
            durability: open.durability,
            name,
            closed: std::cell::Cell::new(false),
        })
    }
}

/// Imports a file's (or link's) events into a store before a sandbox opens over it. A store
/// that already has events is refused when the import was asked for (`required`), and left as
/// it is for a share link opened again. If writing fails part-way, the store is deleted: an
/// import happens whole or not at all.
async fn import_before_open(
    store: &BrowserStore,
    (storage, name): (Backend, &str),
    domain: &Rc<Domain>,
    exchange: &Exchange,
    required: bool,
) -> Result<(), SandboxError> {
    let held = store.head_position().await?;
    if !required && held > 0 {
        return Ok(());
    }
    let domain = Rc::clone(domain);
    let was_empty = held == 0;
    // The scratch store is of the store's own type: one write side compiled, not two.
    let scratch = store::open(Backend::Memory, name, Durability::Relaxed).await?;
    if let Err(error) = import_into(store, scratch, domain, exchange, now()).await {
        if was_empty && store.head_position().await? > 0 {
            store.io().close("the import failed");
            store::destroy(storage, name).await?;
        }
        return Err(error.into());
    }
    Ok(())
}

#[wasm_bindgen(js_class = Sandbox)]
impl JsSandbox {
    /// Opens a sandbox: `{ storage?: "memory" | "localstorage" | "indexeddb", name?, scenario,
    /// durability?, readModel? }`. The store is read into memory; an empty store is seeded with
    /// the scenario's seed. Sandboxes with different `name`s never see each other's events.
    pub async fn open(
        #[wasm_bindgen(unchecked_param_type = "OpenOptions")] open: JsValue,
    ) -> Result<JsSandbox, JsValue> {
        let open: OpenOptions = required(open, "open options")?;
        Ok(Self::open_inner(open).await?)
    }

    /// Names of the scenarios built into the module.
    #[wasm_bindgen(js_name = shippedScenarios)]
    pub fn shipped_scenarios() -> Vec<String> {
        SHIPPED.iter().map(|s| s.to_string()).collect()
    }
}
