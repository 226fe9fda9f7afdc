//! The `Sandbox` class JS uses: open a scenario over a store, then append, execute, replay,
//! snapshot and list events. Every method that touches the store returns a promise.

use std::future::Future;
use std::rc::Rc;

use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::convert::{from_js, from_js_or_default, to_js};
use super::error::to_js_error;
use super::store::BrowserStore;
use crate::error::SandboxError;
use crate::event::{EventId, Timestamp};
use crate::expected::ExpectedVersion;
use crate::replay::ReplayOptions;
use crate::sandbox::{CommandRequest, NewEvent, Sandbox};
use crate::scenario::{SHIPPED, Scenario, shipped};
use crate::store::{EventStore, MemoryStore, ReadAll};

/// Options of `Sandbox.open`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OpenOptions {
    /// `memory` (default).
    #[serde(default)]
    storage: Option<String>,
    /// A shipped scenario's name, or a scenario document (object or JSON text).
    scenario: serde_json::Value,
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

/// An event-sourcing sandbox: a scenario's rules over an event store.
#[wasm_bindgen(js_name = Sandbox)]
pub struct JsSandbox {
    inner: Rc<Sandbox<BrowserStore>>,
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

impl JsSandbox {
    /// Runs an async operation on the sandbox and returns a promise of its JS result.
    fn run<F, T>(&self, operation: impl FnOnce(Rc<Sandbox<BrowserStore>>) -> F) -> js_sys::Promise
    where
        F: Future<Output = Result<T, SandboxError>> + 'static,
        T: serde::Serialize,
    {
        let future = operation(Rc::clone(&self.inner));
        future_to_promise(async move {
            let value = future.await.map_err(to_js_error)?;
            to_js(&value).map_err(to_js_error)
        })
    }
}

#[wasm_bindgen(js_class = Sandbox)]
impl JsSandbox {
    /// Opens a sandbox: `{ storage?: "memory", scenario: "bank" | Scenario }`.
    /// An empty store is seeded with the scenario's seed.
    pub async fn open(
        #[wasm_bindgen(unchecked_param_type = "OpenOptions")] options: JsValue,
    ) -> Result<JsSandbox, JsValue> {
        Self::open_inner(options).await.map_err(to_js_error)
    }

    async fn open_inner(options: JsValue) -> Result<JsSandbox, SandboxError> {
        let options: OpenOptions = from_js(options, "open options")?;
        let scenario = scenario_from(options.scenario)?;
        let store = match options.storage.as_deref().unwrap_or("memory") {
            "memory" => BrowserStore::Memory(MemoryStore::new()),
            other => {
                return Err(SandboxError::bad_input(
                    "storage",
                    format!("unknown storage {other:?}; use \"memory\""),
                ));
            }
        };
        let sandbox = Sandbox::open(store, scenario).await?;
        Ok(JsSandbox {
            inner: Rc::new(sandbox),
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
    #[wasm_bindgen(unchecked_return_type = "Promise<Committed>")]
    pub fn append(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
        #[wasm_bindgen(unchecked_param_type = "NewEvent[]")] events: JsValue,
        #[wasm_bindgen(unchecked_param_type = "AppendOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let parsed = from_js::<Vec<NewEvent>>(events, "events").and_then(|events| {
            Ok((
                events,
                from_js_or_default::<AppendOptions>(options, "append options")?,
            ))
        });
        self.run(move |sandbox| async move {
            let (events, options) = parsed?;
            sandbox
                .append(&aggregate_id, options.expected, events, now())
                .await
        })
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
        self.run(move |sandbox| async move { sandbox.execute(request?, now()).await })
    }

    /// Replays an aggregate: `{ version?, time?, exclude?: eventId[], trace?, useSnapshots? }`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Replay>")]
    pub fn replay(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
        #[wasm_bindgen(unchecked_param_type = "ReplayOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let options = from_js_or_default::<ReplayOptions>(options, "replay options");
        self.run(move |sandbox| async move { sandbox.replay(&aggregate_id, &options?).await })
    }

    /// Takes a snapshot of an aggregate at its last version.
    #[wasm_bindgen(unchecked_return_type = "Promise<Snapshot>")]
    pub fn snapshot(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
    ) -> js_sys::Promise {
        self.run(move |sandbox| async move { sandbox.snapshot(&aggregate_id).await })
    }

    /// An aggregate's snapshots, oldest first.
    #[wasm_bindgen(unchecked_return_type = "Promise<Snapshot[]>")]
    pub fn snapshots(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
    ) -> js_sys::Promise {
        self.run(move |sandbox| async move { sandbox.snapshots(&aggregate_id).await })
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
        self.run(move |sandbox| async move { sandbox.events(&query?).await })
    }

    /// Position of the last event in the log (0 when empty).
    #[wasm_bindgen(js_name = headPosition, unchecked_return_type = "Promise<number>")]
    pub fn head_position(&self) -> js_sys::Promise {
        self.run(|sandbox| async move { Ok(sandbox.store().head_position().await?) })
    }

    /// Every aggregate in the store with its version.
    #[wasm_bindgen(unchecked_return_type = "Promise<StreamInfo[]>")]
    pub fn streams(&self) -> js_sys::Promise {
        self.run(|sandbox| async move { sandbox.streams().await })
    }
}
