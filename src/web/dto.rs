//! The shapes that cross the JS boundary: option objects the methods take, and the answers they
//! give that are not core types. (Their TypeScript declarations are in `typescript`.)

use serde::{Deserialize, Serialize};

use super::browser_segments::Backend;
use super::indexed_db::Durability;
use super::store::Durable;
use crate::event::EventId;
use crate::expected::ExpectedVersion;
use crate::sandbox::OnOtherScenario;
use crate::write_side::Committed;

/// Options of `Sandbox.open`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpenOptions {
    #[serde(default)]
    pub storage: Backend,
    /// Default: the scenario's name.
    #[serde(default)]
    pub name: Option<String>,
    /// A shipped scenario's name, or a scenario document (object or JSON text); may be left out
    /// when `share` gives one.
    #[serde(default)]
    pub scenario: Option<serde_json::Value>,
    #[serde(default)]
    pub durability: Durability,
    /// `"live"` (default): projections follow new events on their own (a shipped scenario's read
    /// model from its first use); `"manual"`: only when `project()` is called.
    #[serde(default)]
    #[cfg_attr(not(feature = "read-model"), allow(dead_code))]
    pub read_model: ReadModelMode,
    /// What to do when the store's events were written under another scenario.
    #[serde(default)]
    pub on_other_scenario: OnOtherScenario,
    /// A file's events to import into the store, which must be empty, before it opens.
    #[serde(default)]
    pub import: Option<ImportFile>,
    /// A share link (what follows `#share=`): its scenario, and its events imported into the
    /// store if the store is empty.
    #[serde(default)]
    pub share: Option<String>,
    /// Told while rules are slow (a function, or nothing).
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    pub on_slow: wasm_bindgen::JsValue,
    /// Stops work through slow rules while opening, when it aborts (an `AbortSignal`).
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    pub signal: wasm_bindgen::JsValue,
    /// A test hook: abort the import's IndexedDB write after this many succeed (only in a module
    /// built with the `test-hooks` feature; the shipped one refuses the field).
    #[cfg(feature = "test-hooks")]
    #[serde(default)]
    pub abort_import_write_after: Option<u32>,
}

/// A file to import: its format and text.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportFile {
    pub format: crate::interchange::Format,
    pub text: String,
}

/// When projections run.
#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ReadModelMode {
    /// They follow new events on their own.
    #[default]
    Live,
    /// Only when `project()` is called.
    Manual,
}

/// Which store, for the static methods that work without opening it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StoreRef {
    #[serde(default)]
    pub storage: Backend,
    pub name: String,
    /// `exportStore`: only the records after this position (what truncating to it drops).
    #[serde(default)]
    pub after: Option<u64>,
    /// `truncateStore`: the last position to keep, the end of a record of the intact log.
    #[serde(default)]
    pub keep: Option<u64>,
}

/// Options of `append`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppendOptions {
    #[serde(default)]
    pub expected: ExpectedVersion,
}

/// Options of `subscribe`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscribeOptions {
    /// Hear every event from this position on (a catch-up subscription); default: only events
    /// appended from now on.
    #[serde(default)]
    pub from_position: Option<u64>,
}

/// What the page shows about where events live and what they survive.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreInfo {
    pub storage: &'static str,
    pub name: String,
    pub location: String,
    pub durability: &'static str,
    pub durable: Durable,
}

/// What `append` resolves to: where the batch landed, not the events the caller already has
/// (a batch of thousands would otherwise cross back whole).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppendSummary {
    pub aggregate_id: String,
    pub already_stored: bool,
    /// Ids of the events, in order (generated ones included).
    pub event_ids: Vec<EventId>,
    pub first_version: u64,
    pub last_version: u64,
    pub first_position: u64,
    pub last_position: u64,
    /// The aggregate's version after the batch.
    pub version: u64,
    pub state: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_taken: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_error: Option<String>,
}

impl From<Committed> for AppendSummary {
    fn from(c: Committed) -> Self {
        let first = c.events.first();
        let last = c.events.last();
        AppendSummary {
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
