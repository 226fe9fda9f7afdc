//! The store a page chooses at open time (memory, localStorage or IndexedDB), behind the one
//! storage trait, plus what the page needs around it: close, destroy, and a raw export for when
//! stored data does not decode.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};
use wasm_bindgen::JsCast;

use super::indexeddb::{Durability, IdbSegments, database_name};
use super::local_storage::LocalSegments;
use crate::event::{ProposedEvent, StoredEvent};
use crate::expected::ExpectedVersion;
use crate::snapshot::Snapshot;
use crate::store::{
    AppendOutcome, EventStore, MemoryStore, ReadAll, SegmentCodec, SegmentedStore, StoreError,
    StreamInfo, VersionRange,
};

/// Which backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageKind {
    /// Nothing survives a reload.
    #[default]
    Memory,
    /// Small logs; text only.
    LocalStorage,
    /// The default on the page: large logs, fast.
    IndexedDb,
}

impl StorageKind {
    /// The name JS uses.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageKind::Memory => "memory",
            StorageKind::LocalStorage => "localstorage",
            StorageKind::IndexedDb => "indexeddb",
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
        Err(StoreError::Backend {
            backend: "sandbox",
            operation: "open",
            message: format!(
                "store name {name:?} must be 1 to 64 ASCII letters, digits, '.', '_' or '-'"
            ),
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

impl BrowserStore {
    /// Opens a store and reads its log.
    pub async fn open(
        kind: StorageKind,
        name: &str,
        durability: Durability,
    ) -> Result<Self, StoreError> {
        check_store_name(name)?;
        Ok(match kind {
            StorageKind::Memory => BrowserStore::Memory(MemoryStore::new()),
            StorageKind::LocalStorage => {
                BrowserStore::LocalStorage(SegmentedStore::open(LocalSegments::open(name)?).await?)
            }
            StorageKind::IndexedDb => BrowserStore::IndexedDb(
                SegmentedStore::open(IdbSegments::open(name, durability).await?).await?,
            ),
        })
    }

    /// Where the events live, for the page: `IndexedDB es-sandbox/bank`.
    pub fn location(&self, name: &str) -> String {
        match self {
            BrowserStore::Memory(_) => "memory (a reload starts over)".into(),
            BrowserStore::LocalStorage(_) => format!("localStorage es-sandbox/{name}/"),
            BrowserStore::IndexedDb(_) => format!("IndexedDB {}", database_name(name)),
        }
    }

    /// Closes the connection; later operations fail.
    pub fn close(&self) {
        if let BrowserStore::IndexedDb(store) = self {
            store.io().close("the sandbox was closed");
        }
    }

    /// Makes the next IndexedDB write abort (a test hook); false for other backends.
    pub fn abort_next_write(&self) -> bool {
        match self {
            BrowserStore::IndexedDb(store) => {
                store.io().abort_next_write();
                true
            }
            _ => false,
        }
    }
}

/// Deletes a store's data without opening it (it may not decode).
pub async fn destroy(kind: StorageKind, name: &str) -> Result<(), StoreError> {
    check_store_name(name)?;
    match kind {
        StorageKind::Memory => Ok(()),
        StorageKind::LocalStorage => {
            LocalSegments::open(name)?.delete();
            Ok(())
        }
        StorageKind::IndexedDb => IdbSegments::delete(name).await,
    }
}

/// Every stored record of a store as JSON text, decoded where possible and raw (base64 or text)
/// where not, without needing the store to open.
pub async fn export_raw(kind: StorageKind, name: &str) -> Result<String, StoreError> {
    check_store_name(name)?;
    let records: Vec<Value> = match kind {
        StorageKind::Memory => Vec::new(),
        StorageKind::LocalStorage => {
            let store = LocalSegments::open(name)?;
            let mut keys = store.keys();
            keys.sort();
            keys.into_iter()
                .map(|key| {
                    let text = store.raw(&key).unwrap_or_default();
                    match serde_json::from_str::<Value>(&text) {
                        Ok(value) => json!({ "key": key, "value": value }),
                        Err(e) => json!({ "key": key, "error": e.to_string(), "text": text }),
                    }
                })
                .collect()
        }
        StorageKind::IndexedDb => {
            let store = IdbSegments::open(name, Durability::Relaxed).await?;
            let raw = store.raw_segments().await;
            store.close("exported");
            raw?.into_iter()
                .map(|(key, value)| {
                    let key = key.as_f64().map_or(Value::Null, Value::from);
                    let bytes = value
                        .dyn_into::<js_sys::Uint8Array>()
                        .map(|b| b.to_vec())
                        .unwrap_or_default();
                    match SegmentCodec::Binary.decode(&bytes) {
                        Ok(events) => json!({ "key": key, "events": events }),
                        Err(error) => json!({
                            "key": key,
                            "error": error,
                            "base64": base64::engine::general_purpose::STANDARD.encode(&bytes),
                        }),
                    }
                })
                .collect()
        }
    };
    let export = json!({ "storage": kind.as_str(), "name": name, "records": records });
    Ok(serde_json::to_string_pretty(&export).unwrap_or_default())
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
}
