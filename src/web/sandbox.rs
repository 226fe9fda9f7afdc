//! The `Sandbox` class JS uses: open a scenario over a store, then append, execute, replay,
//! snapshot, list and subscribe to events. Every method that touches the store returns a promise;
//! a batch crosses the boundary once, as one array.

use std::future::Future;
use std::rc::Rc;

use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::convert::{from_js, from_js_or_default, to_js};
use super::error::to_js_error;
use super::indexeddb::Durability;
use super::news::News;
use super::projecting::Projecting;
use super::store::{self, BrowserStore, Durable, StorageKind};
use crate::error::SandboxError;
use crate::event::{EventId, StoredEvent, Timestamp};
use crate::expected::ExpectedVersion;
use crate::projection::{Projected, ProjectionStatus, QueryLimits, QueryResult};
use crate::replay::ReplayOptions;
use crate::sandbox::{CommandRequest, Committed, NewEvent, Sandbox};
use crate::scenario::ProjectionSpec;
use crate::scenario::{SHIPPED, Scenario, shipped};
use crate::store::{EventStore, ReadAll};

/// Options of `subscribe`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SubscribeOptions {
    /// Hear every event from this position on (a catch-up subscription); default: only events
    /// appended from now on.
    #[serde(default)]
    from_position: Option<u64>,
}

/// Options of `exportStore`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExportRef {
    #[serde(default)]
    storage: StorageKind,
    name: String,
    /// Only the records after this position (what truncating to it drops).
    #[serde(default)]
    after: Option<u64>,
}

/// Options of `truncateStore`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TruncateRef {
    #[serde(default)]
    storage: StorageKind,
    name: String,
    /// The last position to keep: the end of a record of the intact log.
    keep: u64,
}

/// Options of `Sandbox.open`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OpenOptions {
    #[serde(default)]
    storage: StorageKind,
    /// Default: the scenario's name.
    #[serde(default)]
    name: Option<String>,
    /// A shipped scenario's name, or a scenario document (object or JSON text).
    scenario: serde_json::Value,
    #[serde(default)]
    durability: Durability,
    /// `"live"` (default): projections follow new events on their own; `"manual"`: only when
    /// `project()` is called.
    #[serde(default)]
    read_model: ReadModelMode,
}

/// When projections run.
#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum ReadModelMode {
    #[default]
    Live,
    Manual,
}

/// Which store, for the static methods that work without opening it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StoreRef {
    #[serde(default)]
    storage: StorageKind,
    name: String,
}

/// Options of `append`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AppendOptions {
    #[serde(default)]
    expected: ExpectedVersion,
}

/// Options of `execute`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExecuteOptions {
    #[serde(default)]
    expected: Option<ExpectedVersion>,
    #[serde(default)]
    timestamp: Option<Timestamp>,
    #[serde(default)]
    correlation_id: Option<String>,
    #[serde(default)]
    causation_id: Option<String>,
    #[serde(default)]
    event_ids: Vec<EventId>,
}

/// Options of `query`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct QueryOptions {
    #[serde(default)]
    max_rows: Option<usize>,
    #[serde(default)]
    time_limit_ms: Option<f64>,
    #[serde(default)]
    exclude: Vec<EventId>,
}

impl QueryOptions {
    fn limits(&self) -> QueryLimits {
        QueryLimits {
            max_rows: self.max_rows.unwrap_or(200),
            time_limit_ms: self.time_limit_ms.unwrap_or(2_000.0),
            clock: clock_ms,
        }
    }
}

/// What `query` resolves to.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct QueryAnswer {
    #[serde(flatten)]
    result: QueryResult,
    /// How long the query took.
    ms: f64,
    /// Whether it ran on a what-if read model.
    what_if: bool,
}

/// What `projections` resolves to.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ReadModelInfo {
    head: u64,
    delay_ms: f64,
    location: &'static str,
    projections: Vec<ProjectionStatus>,
}

/// Milliseconds from the page's clock (`performance.now()` where there is one).
fn clock_ms() -> f64 {
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

/// What the page shows about where events live and what they survive.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct StoreInfo {
    storage: &'static str,
    name: String,
    location: String,
    durability: &'static str,
    durable: Durable,
}

/// An event-sourcing sandbox: a scenario's rules over an event store.
#[wasm_bindgen(js_name = Sandbox)]
pub struct JsSandbox {
    inner: Rc<Sandbox<BrowserStore>>,
    news: Rc<News>,
    projecting: Rc<Projecting>,
    kind: StorageKind,
    durability: Durability,
    name: String,
}

/// The time now, in ms since the Unix epoch, for events the caller did not stamp.
fn now() -> Timestamp {
    js_sys::Date::now() as Timestamp
}

/// Reads a scenario given as a shipped name, a JSON text or an object.
fn scenario_from(value: serde_json::Value) -> Result<Scenario, SandboxError> {
    match value {
        serde_json::Value::String(text) if text.trim_start().starts_with('{') => {
            Ok(Scenario::from_json(&text)?)
        }
        serde_json::Value::String(name) => Ok(shipped(&name)?),
        document => Ok(Scenario::from_json(&document.to_string())?),
    }
}

/// Runs an async operation and returns a promise of its JS result.
/// Runs one read-only SQL statement on a copy of a read model (`Sandbox.readModelCopy`), wherever
/// the module is loaded, a worker included: `{ maxRows? (200), timeLimitMs? (2000) }`.
#[wasm_bindgen(js_name = queryCopy, unchecked_return_type = "QueryAnswer")]
pub fn query_copy(
    database: &[u8],
    sql: &str,
    #[wasm_bindgen(unchecked_param_type = "QueryOptions | undefined")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let answer = from_js_or_default::<QueryOptions>(options, "query options").and_then(|options| {
        let started = clock_ms();
        let result = crate::projection::query_copy(database, sql, &options.limits())?;
        Ok(QueryAnswer {
            ms: clock_ms() - started,
            what_if: false,
            result,
        })
    });
    answer
        .and_then(|answer| to_js(&answer))
        .map_err(to_js_error)
}

fn promise<F, T>(future: F) -> js_sys::Promise
where
    F: Future<Output = Result<T, SandboxError>> + 'static,
    T: serde::Serialize,
{
    future_to_promise(async move {
        let value = future.await.map_err(to_js_error)?;
        to_js(&value).map_err(to_js_error)
    })
}

impl JsSandbox {
    async fn open_inner(options: JsValue) -> Result<JsSandbox, SandboxError> {
        let options: OpenOptions = from_js(options, "open options")?;
        let scenario = scenario_from(options.scenario)?;
        let name = options.name.unwrap_or_else(|| scenario.name.clone());
        let store = BrowserStore::open(options.storage, &name, options.durability).await?;
        let sandbox = Rc::new(Sandbox::open(store, scenario).await?);
        let head = sandbox.store().head_position().await?;
        let channel = (options.storage != StorageKind::Memory)
            .then(|| format!("es-sandbox/{}/{name}", options.storage.as_str()));
        let news = News::new(Rc::clone(&sandbox), channel.as_deref(), head);
        let projecting = Projecting::new(
            Rc::clone(&sandbox),
            Rc::clone(&news),
            options.read_model == ReadModelMode::Live,
        );
        let follower = Rc::downgrade(&projecting);
        news.on_moved(move || {
            if let Some(projecting) = follower.upgrade() {
                projecting.schedule();
            }
        });
        // The read model is in memory: build it from the log now, in the background.
        projecting.schedule();
        Ok(JsSandbox {
            inner: sandbox,
            news,
            projecting,
            kind: options.storage,
            durability: options.durability,
            name,
        })
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
        promise(async move {
            let outcome = operation.await;
            news.pump();
            Ok(shape(outcome?))
        })
    }
}

/// What `append` resolves to: where the batch landed, not the events the caller already has
/// (a batch of thousands would otherwise cross back whole).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Appended {
    aggregate_id: String,
    already_stored: bool,
    /// Ids of the events, in order (generated ones included).
    event_ids: Vec<EventId>,
    first_version: u64,
    last_version: u64,
    first_position: u64,
    last_position: u64,
    /// The aggregate's version after the batch.
    version: u64,
    state: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    snapshot_taken: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    snapshot_error: Option<String>,
}

impl From<Committed> for Appended {
    fn from(c: Committed) -> Self {
        let first = c.events.first();
        let last = c.events.last();
        Appended {
            first_version: first.map_or(0, |e| e.version),
            first_position: first.map_or(0, |e| e.position),
            last_version: last.map_or(0, |e| e.version),
            last_position: last.map_or(0, |e| e.position),
            event_ids: c.events.iter().map(|e| e.event_id).collect(),
            aggregate_id: c.aggregate_id,
            already_stored: c.already_stored,
            version: c.version,
            state: c.state,
            snapshot_taken: c.snapshot_taken,
            snapshot_error: c.snapshot_error,
        }
    }
}

#[wasm_bindgen(js_class = Sandbox)]
impl JsSandbox {
    /// Opens a sandbox:
    /// `{ storage?: "memory" | "localstorage" | "indexeddb", name?, scenario, durability? }`.
    /// The store is read into memory; an empty store is seeded with the scenario's seed.
    /// Sandboxes with different `name`s never see each other's events.
    pub async fn open(
        #[wasm_bindgen(unchecked_param_type = "OpenOptions")] options: JsValue,
    ) -> Result<JsSandbox, JsValue> {
        Self::open_inner(options).await.map_err(to_js_error)
    }

    /// Deletes a store's data without opening it (for a store whose records do not decode).
    #[wasm_bindgen(js_name = destroyStore, unchecked_return_type = "Promise<void>")]
    pub fn destroy_store(
        #[wasm_bindgen(unchecked_param_type = "StoreRef")] store: JsValue,
    ) -> js_sys::Promise {
        promise(async move {
            let store: StoreRef = from_js(store, "store")?;
            Ok(store::destroy(store.storage, &store.name).await?)
        })
    }

    /// Every stored record of a store as JSON text: events where a record decodes, the raw
    /// content (text, base64 or JSON) and the reason where it does not, the commit record and
    /// the snapshots. `after`: only the records after that position. Works on stores that fail
    /// to open.
    #[wasm_bindgen(js_name = exportStore, unchecked_return_type = "Promise<string>")]
    pub fn export_store(
        #[wasm_bindgen(unchecked_param_type = "StoreRef & { after?: number }")] store: JsValue,
    ) -> js_sys::Promise {
        promise(async move {
            let store: ExportRef = from_js(store, "store")?;
            Ok(store::export_raw(store.storage, &store.name, store.after).await?)
        })
    }

    /// How far a store's log is intact, without opening it: `{ committed, intactUpTo, problem,
    /// records, recordsAfter }`.
    #[wasm_bindgen(js_name = inspectStore, unchecked_return_type = "Promise<Inspection>")]
    pub fn inspect_store(
        #[wasm_bindgen(unchecked_param_type = "StoreRef")] store: JsValue,
    ) -> js_sys::Promise {
        promise(async move {
            let store: StoreRef = from_js(store, "store")?;
            Ok(store::inspect(store.storage, &store.name).await?)
        })
    }

    /// Keeps a store's log up to `keep` (the end of a record of its intact log) and deletes the
    /// records after it: the way out of a store that does not open without losing what is good.
    /// Resolves to the store's new inspection.
    #[wasm_bindgen(js_name = truncateStore, unchecked_return_type = "Promise<Inspection>")]
    pub fn truncate_store(
        #[wasm_bindgen(unchecked_param_type = "StoreRef & { keep: number }")] store: JsValue,
    ) -> js_sys::Promise {
        promise(async move {
            let store: TruncateRef = from_js(store, "store")?;
            Ok(store::truncate(store.storage, &store.name, store.keep).await?)
        })
    }

    /// Names of the scenarios built into the module.
    #[wasm_bindgen(js_name = shippedScenarios)]
    pub fn shipped_scenarios() -> Vec<String> {
        SHIPPED.iter().map(|s| s.to_string()).collect()
    }

    /// The scenario: names, help, rules, commands, event types, upcasters, queries.
    #[wasm_bindgen(unchecked_return_type = "ScenarioInfo")]
    pub fn scenario(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.domain().describe()).map_err(to_js_error)
    }

    /// Where the events live: storage kind, store name and a description for people.
    #[wasm_bindgen(js_name = storeInfo, unchecked_return_type = "StoreInfo")]
    pub fn store_info(&self) -> Result<JsValue, JsValue> {
        let info = StoreInfo {
            storage: self.kind.as_str(),
            name: self.name.clone(),
            location: self.inner.store().location(&self.name),
            durability: self.durability.as_str(),
            durable: Durable::of(self.kind, self.durability),
        };
        to_js(&info).map_err(to_js_error)
    }

    /// The aggregate kind an id belongs to (by id prefix), or `undefined` if none.
    #[wasm_bindgen(js_name = aggregateKind, unchecked_return_type = "AggregateInfo | undefined")]
    pub fn aggregate_kind(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: &str,
    ) -> Result<JsValue, JsValue> {
        let domain = self.inner.domain();
        let Some(kind) = domain.kind_of(aggregate_id) else {
            return Ok(JsValue::UNDEFINED);
        };
        let info = domain.describe();
        let found = info.aggregates.iter().find(|a| a.name == kind.rules.name());
        to_js(&found).map_err(to_js_error)
    }

    /// The scenario document as JSON text, to edit or export.
    #[wasm_bindgen(js_name = scenarioJson)]
    pub fn scenario_json(&self) -> String {
        self.inner.domain().scenario().to_json()
    }

    /// Appends events as they are (bypassing command handlers), all or none.
    /// `options.expected`: `"any"` (default), `"noStream"`, `"exists"` or a version number.
    /// Resolves to where the batch landed (ids, versions, positions) and the state after it.
    #[wasm_bindgen(unchecked_return_type = "Promise<Appended>")]
    pub fn append(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
        #[wasm_bindgen(unchecked_param_type = "NewEvent[]")] events: JsValue,
        #[wasm_bindgen(unchecked_param_type = "AppendOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let parsed = from_js::<Vec<NewEvent>>(events, "events").and_then(|events| {
            let options = from_js_or_default::<AppendOptions>(options, "append options")?;
            Ok((events, options.expected))
        });
        let sandbox = Rc::clone(&self.inner);
        self.committing(
            async move {
                let (events, expected) = parsed?;
                sandbox.append(&aggregate_id, expected, events, now()).await
            },
            Appended::from,
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
        #[wasm_bindgen(unchecked_param_type = "ExecuteOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let request =
            from_js_or_default::<serde_json::Value>(payload, "payload").and_then(|payload| {
                let options: ExecuteOptions = from_js_or_default(options, "execute options")?;
                let payload = if payload.is_null() {
                    serde_json::Value::Object(Default::default())
                } else {
                    payload
                };
                Ok(CommandRequest {
                    expected: options.expected,
                    timestamp: options.timestamp,
                    correlation_id: options.correlation_id,
                    causation_id: options.causation_id,
                    event_ids: options.event_ids,
                    ..CommandRequest::new(&aggregate_id, &command, payload)
                })
            });
        let sandbox = Rc::clone(&self.inner);
        self.committing(
            async move { sandbox.execute(request?, now()).await },
            |committed| committed,
        )
    }

    /// Replays an aggregate: `{ version?, time?, exclude?: eventId[], trace?, useSnapshots? }`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Replay>")]
    pub fn replay(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
        #[wasm_bindgen(unchecked_param_type = "ReplayOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let options = from_js_or_default::<ReplayOptions>(options, "replay options");
        let sandbox = Rc::clone(&self.inner);
        promise(async move { sandbox.replay(&aggregate_id, &options?).await })
    }

    /// Takes a snapshot of an aggregate at its last version.
    #[wasm_bindgen(unchecked_return_type = "Promise<Snapshot>")]
    pub fn snapshot(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
    ) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        promise(async move { sandbox.snapshot(&aggregate_id).await })
    }

    /// An aggregate's snapshots, oldest first.
    #[wasm_bindgen(unchecked_return_type = "Promise<Snapshot[]>")]
    pub fn snapshots(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
    ) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        promise(async move { sandbox.snapshots(&aggregate_id).await })
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
            from_js::<ReadAll>(query, "event query")
        };
        let sandbox = Rc::clone(&self.inner);
        promise(async move { sandbox.events(&query?).await })
    }

    /// Position of the last event in the log (0 when empty).
    #[wasm_bindgen(js_name = headPosition, unchecked_return_type = "Promise<number>")]
    pub fn head_position(&self) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        promise(async move { Ok(sandbox.store().head_position().await?) })
    }

    /// Every aggregate in the store with its version.
    #[wasm_bindgen(unchecked_return_type = "Promise<StreamInfo[]>")]
    pub fn streams(&self) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        promise(async move { sandbox.streams().await })
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
        options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let options: SubscribeOptions =
            from_js_or_default(options, "subscribe options").map_err(to_js_error)?;
        let after = options.from_position.map(|from| from.saturating_sub(1));
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
        promise(async move {
            let events: Vec<StoredEvent> = sandbox.refresh().await?;
            news.pump();
            Ok(events)
        })
    }

    /// The read model's projections with their checkpoints and states, the log's head position
    /// (a projection behind it is stale), and the delay before projections follow new events.
    #[wasm_bindgen(unchecked_return_type = "Promise<ReadModelInfo>")]
    pub fn projections(&self) -> js_sys::Promise {
        let (sandbox, projecting) = (Rc::clone(&self.inner), Rc::clone(&self.projecting));
        promise(async move {
            Ok(ReadModelInfo {
                head: sandbox.store().head_position().await?,
                delay_ms: projecting.delay_ms(),
                location: "in memory, rebuilt from the log when the sandbox opens",
                projections: sandbox.projections(),
            })
        })
    }

    /// Brings every running projection up to the head of the log now; resolves to what it did.
    #[wasm_bindgen(unchecked_return_type = "Promise<Projected>")]
    pub fn project(&self) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        promise(async move {
            let mut total = Projected::default();
            loop {
                let round = sandbox.project(usize::MAX).await?;
                if round.applied == 0 {
                    total.stopped.extend(round.stopped);
                    return Ok(total);
                }
                total.applied += round.applied;
                total.stopped.extend(round.stopped);
            }
        })
    }

    /// Sets how long projections wait before following new events (ms; 0 = at once), so that
    /// the read model's lag can be seen.
    #[wasm_bindgen(js_name = setProjectionDelay)]
    pub fn set_projection_delay(&self, ms: f64) {
        self.projecting.set_delay_ms(ms);
    }

    /// Pauses a projection: queries see its tables as they are while the log moves on.
    #[wasm_bindgen(js_name = pauseProjection)]
    pub fn pause_projection(&self, name: &str) -> Result<(), JsValue> {
        self.inner.pause_projection(name).map_err(to_js_error)
    }

    /// Restarts a paused, crashed or failed projection from its checkpoint.
    #[wasm_bindgen(js_name = resumeProjection)]
    pub fn resume_projection(&self, name: &str) -> Result<(), JsValue> {
        self.inner.resume_projection(name).map_err(to_js_error)?;
        self.projecting.schedule();
        Ok(())
    }

    /// Makes a projection crash in its next round, after applying `after` events of it (or all of
    /// a shorter round) and before committing: that round's work is lost with its transaction,
    /// and a restart resumes from the checkpoint.
    #[wasm_bindgen(js_name = crashProjection)]
    pub fn crash_projection(&self, name: &str, after: usize) -> Result<(), JsValue> {
        self.inner
            .crash_projection(name, after)
            .map_err(to_js_error)
    }

    /// Drops a projection's tables and replays it from position 0.
    #[wasm_bindgen(js_name = rebuildProjection)]
    pub fn rebuild_projection(&self, name: &str) -> Result<(), JsValue> {
        self.inner.rebuild_projection(name).map_err(to_js_error)?;
        self.projecting.schedule();
        Ok(())
    }

    /// Replaces the projection definitions; a changed one is paused and marked stale until it
    /// is rebuilt.
    #[wasm_bindgen(js_name = redefineProjections)]
    pub fn redefine_projections(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ProjectionSpec[]")] specs: JsValue,
    ) -> Result<(), JsValue> {
        let specs: Vec<ProjectionSpec> = from_js(specs, "projections").map_err(to_js_error)?;
        self.inner
            .redefine_projections(&specs)
            .map_err(to_js_error)?;
        self.projecting.schedule();
        Ok(())
    }

    /// Runs one read-only SQL statement against the read model:
    /// `{ maxRows? (200), timeLimitMs? (2000), exclude?: eventId[] }`. With `exclude`, the
    /// projections are recomputed without those events in a separate database.
    #[wasm_bindgen(unchecked_return_type = "Promise<QueryAnswer>")]
    pub fn query(
        &self,
        sql: String,
        #[wasm_bindgen(unchecked_param_type = "QueryOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let options = from_js_or_default::<QueryOptions>(options, "query options");
        let sandbox = Rc::clone(&self.inner);
        promise(async move {
            let options = options?;
            let limits = options.limits();
            let started = clock_ms();
            let result = if options.exclude.is_empty() {
                sandbox.query(&sql, &limits)?
            } else {
                sandbox
                    .query_what_if(&sql, &options.exclude, &limits)
                    .await?
            };
            Ok(QueryAnswer {
                ms: clock_ms() - started,
                what_if: !options.exclude.is_empty(),
                result,
            })
        })
    }

    /// A copy of the read model in SQLite's file format, for `queryCopy` in a worker, so that a
    /// long query never blocks the page. `{ exclude?: eventId[] }` copies the what-if read model
    /// instead.
    #[wasm_bindgen(js_name = readModelCopy, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn read_model_copy(
        &self,
        #[wasm_bindgen(unchecked_param_type = "{ exclude?: string[] } | undefined")]
        options: JsValue,
    ) -> js_sys::Promise {
        let options = from_js_or_default::<QueryOptions>(options, "copy options");
        let sandbox = Rc::clone(&self.inner);
        future_to_promise(async move {
            let exclude = options.map_err(to_js_error)?.exclude;
            let bytes = sandbox
                .read_model_bytes(&exclude)
                .await
                .map_err(to_js_error)?;
            Ok(js_sys::Uint8Array::from(&bytes[..]).into())
        })
    }

    /// Closes the store and stops notifications; later calls fail.
    pub fn close(&self) {
        self.news.close();
        self.inner.store().close();
    }

    /// Closes the store and deletes its data.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn destroy(&self) -> js_sys::Promise {
        self.close();
        let (kind, name) = (self.kind, self.name.clone());
        promise(async move { Ok(store::destroy(kind, &name).await?) })
    }

    /// Makes the next IndexedDB write abort its transaction: for tests of failed writes.
    #[wasm_bindgen(js_name = abortNextWrite, skip_typescript)]
    pub fn abort_next_write(&self) -> bool {
        self.inner.store().abort_next_write()
    }
}
