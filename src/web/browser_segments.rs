//! The browser's storage for a segmented store, chosen when a sandbox opens: nowhere (memory),
//! localStorage or IndexedDB. The browser store is the segmented store over it, like any other.

use js_sys::Uint8Array;
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};

use super::indexed_db::{Durability, IdbSegments, database_name};
use super::local_storage::{self, LocalSegments, commit_database_name};
use crate::snapshot::Snapshot;
use crate::store::{
    CommitRecord, CommitStyle, Head, LogRead, LogReader, Nowhere, RawContent, RawRecord,
    RawSegment, RawStore, SegmentCodec, SegmentIo, SegmentedStore, StoreError, WriteError,
};

/// The store a page opens: a segmented store over the backend it chose.
pub type BrowserStore = SegmentedStore<BrowserSegments>;

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

/// One of the browser's backends.
pub enum BrowserSegments {
    /// In this tab's memory only.
    Memory(Nowhere),
    /// In localStorage.
    LocalStorage(LocalSegments),
    /// In IndexedDB.
    IndexedDb(IdbSegments),
}

impl BrowserSegments {
    /// Opens a backend's storage for a store (nothing is read yet).
    pub async fn open(
        kind: Backend,
        name: &str,
        durability: Durability,
    ) -> Result<Self, StoreError> {
        Ok(match kind {
            Backend::Memory => BrowserSegments::Memory(Nowhere),
            Backend::LocalStorage => {
                BrowserSegments::LocalStorage(LocalSegments::open(name).await?)
            }
            Backend::IndexedDb => {
                BrowserSegments::IndexedDb(IdbSegments::open(name, durability).await?)
            }
        })
    }

    /// Where the events live, for the page: `IndexedDB es-sandbox/bank`.
    pub fn location(&self, name: &str) -> String {
        match self {
            BrowserSegments::Memory(_) => "memory".into(),
            BrowserSegments::LocalStorage(_) => format!(
                "localStorage es-sandbox/{name}/ (commit record in IndexedDB {})",
                commit_database_name(name)
            ),
            BrowserSegments::IndexedDb(_) => format!("IndexedDB {}", database_name(name)),
        }
    }

    /// Closes the connection; later operations fail.
    pub fn close(&self, reason: &str) {
        match self {
            BrowserSegments::Memory(_) => {}
            BrowserSegments::LocalStorage(io) => io.close(reason),
            BrowserSegments::IndexedDb(io) => io.close(reason),
        }
    }

    /// Every record the backend holds for the store `name`, for a raw export.
    pub async fn raw_store(&self, name: &str) -> Result<RawStore, StoreError> {
        let (storage, codec) = (self.kind().as_str(), self.codec());
        let mut raw = RawStore {
            storage,
            name: name.to_string(),
            codec,
            commit_record: CommitRecord::Missing,
            scenario: None,
            records: Vec::new(),
        };
        match self {
            BrowserSegments::Memory(_) => {}
            BrowserSegments::LocalStorage(io) => {
                raw.commit_record = io.read_log(u64::MAX).await?.record;
                let mut keys = local_storage::keys_of(name)?;
                keys.sort();
                let segment_prefix = format!("es-sandbox/{name}/seg/");
                raw.records = keys
                    .into_iter()
                    .map(|key| RawRecord::Segment {
                        first: key
                            .strip_prefix(&segment_prefix)
                            .and_then(|f| f.parse().ok()),
                        content: RawContent::Text(local_storage::raw(&key).unwrap_or_default()),
                        key: key.into(),
                    })
                    .collect();
            }
            BrowserSegments::IndexedDb(io) => {
                for (store, key, value) in io.raw_records().await? {
                    match store {
                        "segments" => raw.records.push(RawRecord::Segment {
                            first: key.as_f64().map(|k| k as u64),
                            key: key.as_f64().map_or(serde_json::Value::Null, Into::into),
                            content: content(&value),
                        }),
                        "meta" if key.as_string().as_deref() == Some("head") => {
                            raw.commit_record = super::indexed_db::commit_record::parse(&value);
                        }
                        "meta" if key.as_string().as_deref() == Some("scenario") => {
                            raw.scenario = value.as_string();
                        }
                        "meta" => {}
                        _ => raw.records.push(RawRecord::Snapshot(content(&value))),
                    }
                }
            }
        }
        Ok(raw)
    }

    fn kind(&self) -> Backend {
        match self {
            BrowserSegments::Memory(_) => Backend::Memory,
            BrowserSegments::LocalStorage(_) => Backend::LocalStorage,
            BrowserSegments::IndexedDb(_) => Backend::IndexedDb,
        }
    }

    /// Makes the IndexedDB write after the next `writes` ones abort (a test hook); false for
    /// other backends.
    #[cfg(feature = "test-hooks")]
    pub fn abort_write_after(&self, writes: u32) -> bool {
        match self {
            BrowserSegments::IndexedDb(io) => {
                io.abort_write_after(writes);
                true
            }
            _ => false,
        }
    }
}

/// A stored JS value as raw content: bytes, text, or anything else as JSON.
fn content(value: &JsValue) -> RawContent {
    if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
        RawContent::Bytes(bytes.to_vec())
    } else if let Some(text) = value.as_string() {
        RawContent::Text(text)
    } else {
        RawContent::Json(
            js_sys::JSON::stringify(value)
                .ok()
                .and_then(|t| t.as_string())
                .unwrap_or_else(|| "null".into()),
        )
    }
}

/// Calls the same `SegmentIo` method on whichever backend is inside.
macro_rules! each {
    ($self:expr, $io:ident => $call:expr) => {
        match $self {
            BrowserSegments::Memory($io) => $call,
            BrowserSegments::LocalStorage($io) => $call,
            BrowserSegments::IndexedDb($io) => $call,
        }
    };
}

impl SegmentIo for BrowserSegments {
    fn codec(&self) -> SegmentCodec {
        each!(self, io => io.codec())
    }

    fn describe(&self) -> String {
        each!(self, io => io.describe())
    }

    fn commit_style(&self) -> CommitStyle {
        each!(self, io => io.commit_style())
    }

    async fn read_log(&self, from: u64) -> Result<LogRead, StoreError> {
        each!(self, io => io.read_log(from).await)
    }

    async fn read_log_into(
        &self,
        from: u64,
        reader: &mut impl LogReader,
    ) -> Result<(), StoreError> {
        each!(self, io => io.read_log_into(from, reader).await)
    }

    async fn write(
        &self,
        expected: Option<Head>,
        segments: Vec<RawSegment>,
        head: Head,
        snapshots: &[Snapshot],
    ) -> Result<(), WriteError> {
        each!(self, io => io.write(expected, segments, head, snapshots).await)
    }

    async fn truncate(
        &self,
        expected: &CommitRecord,
        keep: Option<Head>,
    ) -> Result<(), WriteError> {
        each!(self, io => io.truncate(expected, keep).await)
    }

    async fn pause(&self) {
        each!(self, io => io.pause().await)
    }

    async fn breathe(&self) {
        // Whatever holds the segments, decoding them runs on the page's thread.
        super::runtime::breathe_now_and_then().await;
    }

    async fn read_snapshots(&self) -> Result<Vec<Snapshot>, StoreError> {
        each!(self, io => io.read_snapshots().await)
    }

    async fn write_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        each!(self, io => io.write_snapshot(snapshot).await)
    }

    async fn read_scenario(&self) -> Result<Option<String>, StoreError> {
        each!(self, io => io.read_scenario().await)
    }

    async fn write_scenario(&self, document: &str) -> Result<(), StoreError> {
        each!(self, io => io.write_scenario(document).await)
    }
}
