//! The `Sandbox` class JS uses: open a scenario over a store, then execute commands, append,
//! replay, snapshot, list and subscribe to events. Every method that touches the store returns a
//! promise; a batch crosses the boundary once, as one JSON text. The read side's methods are in
//! `read_model`.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::convert::{from_json, options, required, to_js};
use super::crud::CrudPlace;
use super::dto::{AppendOptions, AppendSummary, OpenOptions, StoreInfo, SubscribeOptions};
#[cfg(feature = "read-model")]
use super::dto::{QueryAnswer, QueryOptions, ReadModelMode};
use super::news::News;
#[cfg(feature = "read-model")]
use super::projecting::Projecting;
use super::store::{self, Backend, BrowserStore, Durable};
use crate::domain::Domain;
use crate::event::{StoredEvent, Timestamp};
use crate::interchange::{read, read_share_link};
use crate::replay::ReplayOptions;
use crate::sandbox::Sandbox;
use crate::sandbox::SandboxError;
use crate::scenario::{SHIPPED, Scenario, shipped};
use crate::store::{EventStore, ReadAll, StoreError};
use crate::write_side::{CommandOptions, CommandRequest, Committed, NewEvent};

/// An event-sourcing sandbox: a scenario's rules over an event store.
#[wasm_bindgen(js_name = Sandbox)]
pub struct JsSandbox {
    pub(super) inner: Rc<Sandbox<BrowserStore>>,
    pub(super) news: Rc<News>,
    #[cfg(feature = "read-model")]
    pub(super) projecting: Rc<Projecting>,
    pub(super) crud: Rc<CrudPlace>,
    backend: Backend,
    durability: super::indexed_db::Durability,
    name: String,
    /// Set by `close`: every method fails from then on.
    closed: Cell<bool>,
}

/// The time now, in ms since the Unix epoch, for events the caller did not stamp.
fn now() -> Timestamp {
    js_sys::Date::now() as Timestamp
}

/// Milliseconds from the page's clock (`performance.now()` where there is one).
#[cfg(feature = "read-model")]
pub(super) fn clock_ms() -> f64 {
    let global = js_sys::global();
    js_sys::Reflect::get(&global, &"performance".into())
        .ok()
        .filter(|p| !p.is_undefined())
        .and_then(|performance| {
            let now = js_sys::Reflect::get(&performance, &"now".into()).ok()?;
            now.dyn_into::<js_sys::Function>()
                .ok()?
                .call0(&performance)
                .ok()?
                .as_f64()
        })
        .unwrap_or_else(js_sys::Date::now)
}

/// Reads a scenario given as a shipped name, a JSON text or an object.
pub(super) fn scenario_from(value: serde_json::Value) -> Result<Scenario, SandboxError> {
    match value {
        serde_json::Value::String(text) if text.trim_start().starts_with('{') => {
            Ok(Scenario::from_json(&text)?)
        }
        serde_json::Value::String(name) => Ok(shipped(&name)?),
        document => Ok(Scenario::from_json(&document.to_string())?),
    }
}

/// Runs an async operation and returns a promise of its JS result.
pub(super) fn promise<F, T>(future: F) -> js_sys::Promise
where
    F: Future<Output = Result<T, SandboxError>> + 'static,
    T: serde::Serialize,
{
    future_to_promise(async move { Ok(to_js(&future.await?)?) })
}

/// Runs one read-only SQL statement on a copy of a read model (`Sandbox.readModelCopy`), wherever
/// the module is loaded, a worker included: `{ maxRows? (200), timeLimitMs? (2000) }`.
#[cfg(feature = "read-model")]
#[wasm_bindgen(js_name = queryCopy, unchecked_return_type = "QueryAnswer")]
pub fn query_copy(
    database: &[u8],
    sql: &str,
    #[wasm_bindgen(unchecked_param_type = "QueryOptions | undefined")] query_options: JsValue,
) -> Result<JsValue, JsValue> {
    let query_options: QueryOptions = options(query_options, "query options")?;
    let started = clock_ms();
    let result = crate::read_side::query_copy(database, sql, &query_options.limits(clock_ms))
        .map_err(SandboxError::from)?;
    let answer = QueryAnswer {
        ms: clock_ms() - started,
        what_if: false,
        as_of: None,
        // The copy knows its tables, not the log's head: `Sandbox.sources` says how far the
        // projections it read are behind.
        sources: Vec::new(),
        result,
    };
    Ok(to_js(&answer)?)
}

/// Starts the read model following the log (on its own, or only when asked: `mode`), and
/// builds it from the log now, in the background: it lives in memory.
#[cfg(feature = "read-model")]
fn follow_with_read_model(
    sandbox: &Rc<Sandbox<BrowserStore>>,
    news: &Rc<News>,
    mode: ReadModelMode,
) -> Rc<Projecting> {
    let projecting = Projecting::new(
        Rc::clone(sandbox),
        Rc::clone(news),
        mode == ReadModelMode::Live,
    );
    let follower = Rc::downgrade(&projecting);
    news.on_moved(move || {
        if let Some(projecting) = follower.upgrade() {
            projecting.schedule();
        }
    });
    projecting.schedule();
    projecting
}

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
        let store = BrowserStore::open(open.storage, &name, open.durability).await?;
        #[cfg(feature = "test-hooks")]
        if let Some(writes) = open.abort_import_write_after {
            store.abort_write_after(writes);
        }
        if let Some((exchange, required)) = exchange {
            super::interchange::import_before_open(
                &store,
                (open.storage, &name),
                &domain,
                &exchange,
                required,
            )
            .await?;
        }
        let sandbox = Rc::new(Sandbox::open_compiled(store, domain, open.on_other_scenario).await?);
        let head = sandbox.store().head_position().await?;
        let channel = (open.storage != Backend::Memory)
            .then(|| format!("es-sandbox/{}/{name}", open.storage.as_str()));
        let news = News::new(Rc::clone(&sandbox), channel.as_deref(), head);
        #[cfg(feature = "read-model")]
        let projecting = follow_with_read_model(&sandbox, &news, open.read_model);
        Ok(JsSandbox {
            inner: sandbox,
            news,
            #[cfg(feature = "read-model")]
            projecting,
            crud: Rc::new(CrudPlace::for_store(open.storage, &name)),
            backend: open.storage,
            durability: open.durability,
            name,
            closed: Cell::new(false),
        })
    }

    /// Fails once the sandbox was closed.
    pub(super) fn guard(&self) -> Result<(), SandboxError> {
        if self.closed.get() {
            return Err(StoreError::Closed {
                reason: "the sandbox was closed; open it again".into(),
            }
            .into());
        }
        Ok(())
    }

    /// An operation that fails at once if the sandbox was closed.
    pub(super) fn guarded<F, T>(
        &self,
        operation: F,
    ) -> impl Future<Output = Result<T, SandboxError>> + 'static
    where
        F: Future<Output = Result<T, SandboxError>> + 'static,
    {
        let closed = self.guard();
        async move {
            closed?;
            operation.await
        }
    }

    /// Runs an operation that stores events, then pumps the news (to subscribers, the read model
    /// and other tabs: even a failed append may have read other tabs' events on the way), and
    /// turns the outcome into its JS shape.
    fn committing<F, T>(&self, operation: F, shape: fn(Committed) -> T) -> js_sys::Promise
    where
        F: Future<Output = Result<Committed, SandboxError>> + 'static,
        T: serde::Serialize + 'static,
    {
        let news = Rc::clone(&self.news);
        promise(self.guarded(async move {
            let outcome = operation.await;
            news.pump();
            Ok(shape(outcome?))
        }))
    }
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

    /// The scenario: names, help, rules, commands, event types, upcasters, queries.
    #[wasm_bindgen(unchecked_return_type = "ScenarioInfo")]
    pub fn scenario(&self) -> Result<JsValue, JsValue> {
        self.guard()?;
        Ok(to_js(&self.inner.domain().describe())?)
    }

    /// Where the events live, and what they survive.
    #[wasm_bindgen(js_name = storeInfo, unchecked_return_type = "StoreInfo")]
    pub fn store_info(&self) -> Result<JsValue, JsValue> {
        self.guard()?;
        let info = StoreInfo {
            storage: self.backend.as_str(),
            name: self.name.clone(),
            location: self.inner.store().location(&self.name),
            durability: self.durability.as_str(),
            durable: Durable::of(self.backend, self.durability),
        };
        Ok(to_js(&info)?)
    }

    /// The aggregate type an id belongs to (by id prefix), or `undefined` if none.
    #[wasm_bindgen(js_name = aggregateType, unchecked_return_type = "AggregateInfo | undefined")]
    pub fn aggregate_type(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: &str,
    ) -> Result<JsValue, JsValue> {
        self.guard()?;
        let domain = self.inner.domain();
        let Some(aggregate) = domain.aggregate_type_of(aggregate_id) else {
            return Ok(JsValue::UNDEFINED);
        };
        let info = domain.describe();
        let found = info
            .aggregates
            .iter()
            .find(|a| a.name == aggregate.rules.name());
        Ok(to_js(&found)?)
    }

    /// The scenario document as JSON text, to edit or export.
    #[wasm_bindgen(js_name = scenarioJson)]
    pub fn scenario_json(&self) -> Result<String, JsValue> {
        self.guard()?;
        Ok(self.inner.domain().scenario().to_json())
    }

    /// Appends events as they are (bypassing command handlers), all or none.
    /// `options.expected`: `"any"` (default), `"noStream"`, `"exists"` or a version number.
    /// Resolves to where the batch landed (ids, versions, positions) and the state after it.
    #[wasm_bindgen(unchecked_return_type = "Promise<AppendSummary>")]
    pub fn append(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
        #[wasm_bindgen(unchecked_param_type = "NewEvent[]")] events: JsValue,
        #[wasm_bindgen(unchecked_param_type = "AppendOptions | undefined")] append: JsValue,
    ) -> js_sys::Promise {
        let events = from_json::<Vec<NewEvent>>(events, "events");
        let append: Result<AppendOptions, _> = options(append, "append options");
        let sandbox = Rc::clone(&self.inner);
        self.committing(
            async move {
                let expected = append?.expected;
                Ok(sandbox
                    .write()
                    .append(&aggregate_id, expected, events?, now())
                    .await?)
            },
            AppendSummary::from,
        )
    }

    /// Executes a command: the aggregate's handler decides, the events are appended.
    /// A business rule's refusal rejects with `kind: "businessRule"`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Committed>")]
    pub fn execute(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
        command: String,
        #[wasm_bindgen(unchecked_param_type = "object | undefined")] payload: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ExecuteOptions | undefined")] execute: JsValue,
    ) -> js_sys::Promise {
        let payload = if payload.is_undefined() || payload.is_null() {
            Ok(serde_json::Value::Object(Default::default()))
        } else {
            from_json::<serde_json::Value>(payload, "payload")
        };
        let execute: Result<CommandOptions, _> = options(execute, "execute options");
        let (sandbox, crud) = (Rc::clone(&self.inner), Rc::clone(&self.crud));
        self.committing(
            async move {
                let payload = payload?;
                let request = CommandRequest {
                    options: execute?,
                    ..CommandRequest::new(&aggregate_id, &command, payload.clone())
                };
                let committed = sandbox.write().execute(request, now()).await?;
                if !committed.already_stored && !committed.events.is_empty() {
                    crud.mirror(&sandbox, &aggregate_id, &command, &payload, now());
                }
                Ok(committed)
            },
            |committed| committed,
        )
    }

    /// Replays an aggregate: `{ version?, time?, exclude?: eventId[], trace?, useSnapshots? }`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Replay>")]
    pub fn replay(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
        #[wasm_bindgen(unchecked_param_type = "ReplayOptions | undefined")] replay: JsValue,
    ) -> js_sys::Promise {
        let replay: Result<ReplayOptions, _> = options(replay, "replay options");
        let sandbox = Rc::clone(&self.inner);
        promise(
            self.guarded(async move { Ok(sandbox.write().replay(&aggregate_id, &replay?).await?) }),
        )
    }

    /// Takes a snapshot of an aggregate at its last version.
    #[wasm_bindgen(unchecked_return_type = "Promise<Snapshot>")]
    pub fn snapshot(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
    ) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        promise(self.guarded(async move { Ok(sandbox.write().snapshot(&aggregate_id).await?) }))
    }

    /// An aggregate's snapshots, oldest first.
    #[wasm_bindgen(unchecked_return_type = "Promise<Snapshot[]>")]
    pub fn snapshots(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
    ) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        promise(self.guarded(async move { Ok(sandbox.write().snapshots(&aggregate_id).await?) }))
    }

    /// Events in position order: `{ fromPosition?, limit? (1000), eventTypes?, aggregateId? }`.
    #[wasm_bindgen(unchecked_return_type = "Promise<StoredEvent[]>")]
    pub fn events(
        &self,
        #[wasm_bindgen(unchecked_param_type = "EventQuery | undefined")] query: JsValue,
    ) -> js_sys::Promise {
        let query = if query.is_undefined() || query.is_null() {
            Ok(ReadAll::from_position(1, 1_000))
        } else {
            required::<ReadAll>(query, "event query")
        };
        let sandbox = Rc::clone(&self.inner);
        promise(self.guarded(async move { Ok(sandbox.write().events(&query?).await?) }))
    }

    /// Position of the last event in the log (0 when empty).
    #[wasm_bindgen(js_name = headPosition, unchecked_return_type = "Promise<number>")]
    pub fn head_position(&self) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        promise(self.guarded(async move { Ok(sandbox.store().head_position().await?) }))
    }

    /// Every aggregate in the store with its version.
    #[wasm_bindgen(unchecked_return_type = "Promise<StreamInfo[]>")]
    pub fn streams(&self) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        promise(self.guarded(async move { Ok(sandbox.write().streams().await?) }))
    }

    /// Calls `callback({ events, source })` with new events, in position order, each exactly
    /// once: appended here (`"local"`) or in another tab (`"remote"`). `{ fromPosition }` first
    /// hands over the log from that position (a catch-up subscription). Returns a function that
    /// unsubscribes.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn subscribe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(notice: EventNotice) => void")]
        callback: js_sys::Function,
        #[wasm_bindgen(unchecked_param_type = "{ fromPosition?: number } | undefined")]
        subscribe: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.guard()?;
        let subscribe: SubscribeOptions = options(subscribe, "subscribe options")?;
        let after = subscribe.from_position.map(|from| from.saturating_sub(1));
        let id = self.news.subscribe(callback, after);
        let news = self.news.downgrade();
        Ok(Closure::<dyn FnMut()>::new(move || {
            if let Some(news) = news.upgrade() {
                news.unsubscribe(id);
            }
        })
        .into_js_value())
    }

    /// Reads what other tabs appended since this tab last looked, tells subscribers, and returns
    /// the new events. Tabs also do this on their own when another tab announces an append.
    #[wasm_bindgen(unchecked_return_type = "Promise<StoredEvent[]>")]
    pub fn refresh(&self) -> js_sys::Promise {
        let (sandbox, news) = (Rc::clone(&self.inner), Rc::clone(&self.news));
        promise(self.guarded(async move {
            let events: Vec<StoredEvent> = sandbox.write().refresh().await?;
            news.pump();
            Ok(events)
        }))
    }

    /// Closes the store and stops notifications; every later call fails, saying so.
    pub fn close(&self) {
        self.closed.set(true);
        self.news.close();
        self.inner.store().close();
    }

    /// Closes the store and deletes its data.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn destroy(&self) -> js_sys::Promise {
        self.close();
        self.crud.clear();
        let (backend, name) = (self.backend, self.name.clone());
        promise(async move { Ok(store::destroy(backend, &name).await?) })
    }

    /// Makes the next IndexedDB write abort its transaction: for tests of failed writes (only in
    /// a module built with the `test-hooks` feature).
    #[cfg(feature = "test-hooks")]
    #[wasm_bindgen(js_name = abortNextWrite, skip_typescript)]
    pub fn abort_next_write(&self) -> bool {
        self.inner.store().abort_write_after(0)
    }
}
