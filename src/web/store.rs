//! The store a page chooses at open time (memory, localStorage or IndexedDB), behind the one
//! storage trait, plus what the page needs around it: close, destroy, and a raw export for when
//! stored data does not decode.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use wasm_bindgen::{JsCast, JsValue};

use super::indexed_db::commit_record;
use super::indexed_db::{Durability, IdbSegments, database_name};
use super::local_storage::{self, LocalSegments, commit_database_name};
use crate::event::{EventId, ProposedEvent, StoredEvent};
use crate::expected::ExpectedVersion;
use crate::snapshot::Snapshot;
use crate::store::{
    AppendOutcome, CommitRecord, EventStore, Inspection, MemoryStore, News, ReadAll, SegmentCodec,
    SegmentIo, SegmentedStore, StoreError, StreamInfo, VersionRange,
};

/// Which backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Nothing survives a reload.
    #[default]
    Memory,
    /// Small logs; text only.
    LocalStorage,
    /// The default on the page: large logs, fast.
    IndexedDb,
}

impl Backend {
    /// The name JS uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Memory => "memory",
            Backend::LocalStorage => "localstorage",
            Backend::IndexedDb => "indexeddb",
        }
    }
}

/// Checks a store name: 1 to 64 ASCII letters, digits, `.`, `_` or `-`.
pub fn check_store_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadName {
            name: name.chars().take(80).collect(),
        })
    }
}

/// One of the browser's backends.
pub enum BrowserStore {
    /// In memory.
    Memory(MemoryStore),
    /// In localStorage.
    LocalStorage(SegmentedStore<LocalSegments>),
    /// In IndexedDB.
    IndexedDb(SegmentedStore<IdbSegments>),
}

/// What a store survives, measured by killing the browser mid-write (see the README).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Durable {
    /// A reload, or closing the tab.
    pub tab_close: bool,
    /// The browser process being killed (a crash).
    pub browser_kill: bool,
    /// The operating system crashing or the power failing.
    pub os_crash: bool,
    /// The same in a sentence, for people.
    pub summary: &'static str,
}

impl Durable {
    /// What a backend survives with a durability setting.
    pub fn of(kind: Backend, durability: Durability) -> Self {
        let (tab_close, browser_kill, os_crash, summary) = match (kind, durability) {
            (Backend::Memory, _) => (
                false,
                false,
                false,
                "nothing survives a reload: the events live in this tab's memory",
            ),
            (Backend::LocalStorage, _) => (
                true,
                false,
                false,
                "survives reloads and closed tabs; if the browser is killed, appends of its last seconds may be lost (Chromium writes localStorage to disk late) and the store then says which",
            ),
            (Backend::IndexedDb, Durability::Relaxed) => (
                true,
                true,
                false,
                "survives reloads, closed tabs and a killed browser; an OS crash or power loss may lose the last moments (relaxed durability). Now and then Chromium finds its IndexedDB data corrupt after a crash and deletes it all: the store then says so instead of opening empty",
            ),
            (Backend::IndexedDb, Durability::Strict) => (
                true,
                true,
                true,
                "survives reloads, closed tabs, a killed browser and an OS crash: every append waits for the disk (strict durability). Now and then Chromium finds its IndexedDB data corrupt after a crash and deletes it all: the store then says so instead of opening empty",
            ),
        };
        Durable {
            tab_close,
            browser_kill,
            os_crash,
            summary,
        }
    }
}

impl BrowserStore {
    /// Opens a store and reads its log.
    pub async fn open(
        kind: Backend,
        name: &str,
        durability: Durability,
    ) -> Result<Self, StoreError> {
        check_store_name(name)?;
        Ok(match kind {
            Backend::Memory => BrowserStore::Memory(MemoryStore::new()),
            Backend::LocalStorage => BrowserStore::LocalStorage(
                SegmentedStore::open(LocalSegments::open(name).await?).await?,
            ),
            Backend::IndexedDb => BrowserStore::IndexedDb(
                SegmentedStore::open(IdbSegments::open(name, durability).await?).await?,
            ),
        })
    }

    /// Where the events live, for the page: `IndexedDB es-sandbox/bank`.
    pub fn location(&self, name: &str) -> String {
        match self {
            BrowserStore::Memory(_) => "memory".into(),
            BrowserStore::LocalStorage(_) => format!(
                "localStorage es-sandbox/{name}/ (commit record in IndexedDB {})",
                commit_database_name(name)
            ),
            BrowserStore::IndexedDb(_) => format!("IndexedDB {}", database_name(name)),
        }
    }

    /// Closes the connection; later operations fail.
    pub fn close(&self) {
        match self {
            BrowserStore::Memory(_) => {}
            BrowserStore::LocalStorage(store) => store.io().close("the sandbox was closed"),
            BrowserStore::IndexedDb(store) => store.io().close("the sandbox was closed"),
        }
    }

    /// Makes the IndexedDB write after the next `writes` ones abort (a test hook); false for
    /// other backends.
    #[cfg(feature = "test-hooks")]
    pub fn abort_write_after(&self, writes: u32) -> bool {
        match self {
            BrowserStore::IndexedDb(store) => {
                store.io().abort_write_after(writes);
                true
            }
            _ => false,
        }
    }
}

/// Deletes a store's data without opening it (it may not decode).
pub async fn destroy(kind: Backend, name: &str) -> Result<(), StoreError> {
    check_store_name(name)?;
    match kind {
        Backend::Memory => Ok(()),
        Backend::LocalStorage => local_storage::delete(name).await,
        Backend::IndexedDb => IdbSegments::delete(name).await,
    }
}

/// How far a store's log is intact and what follows, without opening it.
pub async fn inspect(kind: Backend, name: &str) -> Result<Inspection, StoreError> {
    check_store_name(name)?;
    match kind {
        Backend::Memory => Ok(Inspection {
            committed: None,
            intact_up_to: 0,
            problem: None,
            records: 0,
            records_after: 0,
        }),
        Backend::LocalStorage => {
            let io = LocalSegments::open(name).await?;
            let inspection = crate::store::inspect(&io).await;
            io.close("inspected");
            inspection
        }
        Backend::IndexedDb => {
            let io = IdbSegments::open(name, Durability::Strict).await?;
            let inspection = crate::store::inspect(&io).await;
            io.close("inspected");
            inspection
        }
    }
}

/// Keeps a store's log up to `keep` (the end of a record of its intact log) and drops the rest.
pub async fn truncate(kind: Backend, name: &str, keep: u64) -> Result<Inspection, StoreError> {
    check_store_name(name)?;
    match kind {
        Backend::Memory => inspect(kind, name).await,
        Backend::LocalStorage => {
            let io = LocalSegments::open(name).await?;
            let kept = crate::store::truncate(&io, keep).await;
            io.close("truncated");
            kept
        }
        Backend::IndexedDb => {
            let io = IdbSegments::open(name, Durability::Strict).await?;
            let kept = crate::store::truncate(&io, keep).await;
            io.close("truncated");
            kept
        }
    }
}

/// One stored record as exported: its key, and its events where it decodes; otherwise why not
/// and its raw content (text as text, bytes as base64, anything else as JSON).
fn exported(codec: SegmentCodec, key: Value, value: &JsValue) -> Value {
    let bytes = value
        .dyn_ref::<js_sys::Uint8Array>()
        .map(|b| b.to_vec())
        .or_else(|| value.as_string().map(String::into_bytes));
    let decoded = match &bytes {
        Some(bytes) => codec.decode(bytes),
        None => Err("the value is neither bytes nor text".to_string()),
    };
    match decoded {
        Ok(events) => json!({ "key": key, "events": events }),
        Err(error) => {
            let mut record = json!({ "key": key, "error": error });
            if let Some(text) = value.as_string() {
                record["text"] = Value::String(text);
            } else if let Some(bytes) = &bytes {
                record["base64"] =
                    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes));
            } else {
                record["json"] = js_sys::JSON::stringify(value)
                    .ok()
                    .and_then(|t| t.as_string())
                    .map_or(Value::Null, Value::String);
            }
            record
        }
    }
}

/// Every stored record of a store as JSON text, decoded where possible and raw (text, base64 or
/// JSON) where not, without needing the store to open. With `after`, only the segments after
/// that position (what truncating to it would drop), and no snapshots.
pub async fn export_raw(
    kind: Backend,
    name: &str,
    after: Option<u64>,
) -> Result<String, StoreError> {
    check_store_name(name)?;
    let keep = |first: Option<u64>| after.is_none_or(|after| first.is_some_and(|f| f > after));
    let mut export = json!({ "storage": kind.as_str(), "name": name });
    let records: Vec<Value> = match kind {
        Backend::Memory => Vec::new(),
        Backend::LocalStorage => {
            let io = LocalSegments::open(name).await?;
            let record = commit_record_json(&SegmentIo::read_log(&io, u64::MAX).await?.record);
            io.close("exported");
            export["commitRecord"] = record;
            let mut keys = local_storage::keys_of(name)?;
            keys.sort();
            let segment_prefix = format!("es-sandbox/{name}/seg/");
            keys.into_iter()
                .filter(|key| {
                    let first = key
                        .strip_prefix(&segment_prefix)
                        .and_then(|f| f.parse().ok());
                    keep(first) && (after.is_none() || first.is_some())
                })
                .map(|key| {
                    let text = local_storage::raw(&key).unwrap_or_default();
                    exported(SegmentCodec::Json, Value::String(key), &text.into())
                })
                .collect()
        }
        Backend::IndexedDb => {
            let io = IdbSegments::open(name, Durability::Relaxed).await?;
            let raw = io.raw_records().await;
            io.close("exported");
            raw?.into_iter()
                .filter_map(|(store, key, value)| match store {
                    "segments" => {
                        let first = key.as_f64().map(|k| k as u64);
                        keep(first).then(|| {
                            let key = key.as_f64().map_or(Value::Null, Value::from);
                            exported(SegmentCodec::Binary, key, &value)
                        })
                    }
                    "meta" if key.as_string().as_deref() == Some("head") => {
                        export["commitRecord"] = commit_record_json(&commit_record::parse(&value));
                        None
                    }
                    "meta" => {
                        let text = value.as_string().unwrap_or_default();
                        export["scenario"] =
                            serde_json::from_str(&text).unwrap_or(Value::String(text));
                        None
                    }
                    _ => after.is_none().then(|| {
                        let text = value.as_string().unwrap_or_default();
                        json!({
                            "snapshot": serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text)),
                        })
                    }),
                })
                .collect()
        }
    };
    export["records"] = Value::Array(records);
    Ok(serde_json::to_string_pretty(&export).unwrap_or_default())
}

fn commit_record_json(record: &CommitRecord) -> Value {
    match record {
        CommitRecord::Missing => Value::Null,
        CommitRecord::At(head) => json!(head),
        CommitRecord::Unreadable(reason) => json!({ "unreadable": reason }),
        CommitRecord::Gone {
            acknowledged,
            reason,
        } => json!({ "gone": reason, "acknowledged": acknowledged }),
    }
}

/// Calls the same method on whichever backend is inside.
macro_rules! each_backend {
    ($self:expr, $store:ident => $call:expr) => {
        match $self {
            BrowserStore::Memory($store) => $call,
            BrowserStore::LocalStorage($store) => $call,
            BrowserStore::IndexedDb($store) => $call,
        }
    };
}

impl EventStore for BrowserStore {
    async fn append(
        &self,
        aggregate_id: &str,
        expected: ExpectedVersion,
        events: Vec<ProposedEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        each_backend!(self, s => s.append(aggregate_id, expected, events).await)
    }

    async fn read_stream(
        &self,
        aggregate_id: &str,
        range: VersionRange,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        each_backend!(self, s => s.read_stream(aggregate_id, range).await)
    }

    async fn read_all(&self, query: &ReadAll) -> Result<Vec<StoredEvent>, StoreError> {
        each_backend!(self, s => s.read_all(query).await)
    }

    async fn count(&self, query: &ReadAll) -> Result<usize, StoreError> {
        each_backend!(self, s => s.count(query).await)
    }

    async fn stream_version(&self, aggregate_id: &str) -> Result<u64, StoreError> {
        each_backend!(self, s => s.stream_version(aggregate_id).await)
    }

    async fn streams(&self) -> Result<Vec<StreamInfo>, StoreError> {
        each_backend!(self, s => s.streams().await)
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        each_backend!(self, s => s.head_position().await)
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        each_backend!(self, s => s.save_snapshot(snapshot).await)
    }

    async fn snapshots(&self, aggregate_id: &str) -> Result<Vec<Snapshot>, StoreError> {
        each_backend!(self, s => s.snapshots(aggregate_id).await)
    }

    async fn refresh(&self) -> Result<Vec<StoredEvent>, StoreError> {
        each_backend!(self, s => s.refresh().await)
    }

    async fn read_news(&self, after: u64, limit: usize) -> Result<Vec<News>, StoreError> {
        each_backend!(self, s => s.read_news(after, limit).await)
    }

    async fn read_event(&self, event_id: EventId) -> Result<Option<StoredEvent>, StoreError> {
        each_backend!(self, s => s.read_event(event_id).await)
    }

    async fn scenario(&self) -> Result<Option<String>, StoreError> {
        each_backend!(self, s => s.scenario().await)
    }

    async fn record_scenario(&self, document: &str) -> Result<(), StoreError> {
        each_backend!(self, s => s.record_scenario(document).await)
    }
}

/// Resolves after `ms` milliseconds (a macrotask: the page renders in between).
pub async fn sleep(ms: f64) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let set_timeout = js_sys::Reflect::get(&js_sys::global(), &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        match set_timeout {
            Some(set_timeout) => {
                let _ = set_timeout.call2(&js_sys::global(), &resolve, &ms.into());
            }
            None => {
                let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
            }
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
