//! The localStorage backend: for small logs. One key per segment, never one ever-growing value
//! (rewriting a growing value costs the square of the log).
//!
//! Keys of store `<name>`:
//! - `es-sandbox/<name>/seg/<first position>`: a segment as JSON text behind a CRC-32, readable
//!   in DevTools;
//! - `es-sandbox/<name>/snap/<aggregate id>`: that aggregate's snapshots, a JSON array;
//! - `es-sandbox/<name>/scenario`: the scenario document its events are written under.
//!
//! The commit record lives in IndexedDB (database `es-sandbox/localstorage/<name>`), because
//! localStorage cannot be trusted across tabs: each tab reads a copy that other tabs' writes
//! reach a moment later (whatwg/html#403), so even under a Web Lock a tab may read a stale value.
//! Measured in Chromium with 4 tabs × 300 increments of one counter under `navigator.locks`:
//! 25–34 % of the increments were lost. An IndexedDB readwrite transaction is both the lock and a
//! value every tab reads alike: a write swaps the commit record in one, writing its segments
//! while it holds it, and a reader that sees a record its copy of localStorage does not reach yet
//! waits for the segments to arrive (`CommitStyle::RecordLast`).

use gloo_storage::errors::StorageError;
use gloo_storage::{LocalStorage, Storage};
use wasm_bindgen::JsValue;

use super::indexed_db::commit_record;
use super::indexed_db::requests::{Database, IdbError};
use crate::snapshot::Snapshot;
use crate::store::{
    CommitRecord, CommitStyle, Head, LogRead, RawSegment, SegmentCodec, SegmentIo, StoreError,
    WriteError,
};

const BACKEND: &str = "localStorage";
const COMMIT: &str = "commit";

/// The IndexedDB database holding a localStorage store's commit record.
pub fn commit_database_name(name: &str) -> String {
    format!("es-sandbox/localstorage/{name}")
}

/// A store kept in localStorage.
pub struct LocalSegments {
    prefix: String,
    storage: web_sys::Storage,
    commit: Database,
}

fn unavailable(reason: String) -> StoreError {
    StoreError::Backend {
        backend: BACKEND,
        operation: "open",
        message: reason,
    }
}

fn commit_error(operation: &'static str, error: IdbError) -> StoreError {
    StoreError::Backend {
        backend: BACKEND,
        operation,
        message: format!("its commit record in IndexedDB: {error}"),
    }
}

/// Whether a thrown value is the quota error.
fn is_quota(error: &JsValue) -> bool {
    js_sys::Reflect::get(error, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .is_some_and(|n| n == "QuotaExceededError")
}

fn write_error(error: JsValue, operation: &'static str) -> StoreError {
    let detail = js_sys::Reflect::get(&error, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| "the write failed".into());
    if is_quota(&error) {
        StoreError::StorageFull {
            backend: BACKEND,
            detail,
        }
    } else {
        StoreError::Backend {
            backend: BACKEND,
            operation,
            message: detail,
        }
    }
}

/// The window's localStorage.
fn local_storage() -> Result<web_sys::Storage, StoreError> {
    web_sys::window()
        .ok_or_else(|| unavailable("localStorage needs a window".into()))?
        .local_storage()
        .map_err(|_| unavailable("localStorage is blocked here".into()))?
        .ok_or_else(|| unavailable("localStorage is not available here".into()))
}

/// The keys of a store: every key under `es-sandbox/<name>/`.
pub fn keys_of(name: &str) -> Result<Vec<String>, StoreError> {
    let storage = local_storage()?;
    let prefix = format!("es-sandbox/{name}/");
    Ok(keys(&storage, &prefix))
}

fn keys(storage: &web_sys::Storage, prefix: &str) -> Vec<String> {
    let length = storage.length().unwrap_or(0);
    (0..length)
        .filter_map(|i| storage.key(i).ok().flatten())
        .filter(|k| k.starts_with(prefix))
        .collect()
}

/// The raw text under a key.
pub fn raw(key: &str) -> Option<String> {
    local_storage().ok()?.get_item(key).ok().flatten()
}

/// Removes every key of a store and its commit record.
pub async fn delete(name: &str) -> Result<(), StoreError> {
    let storage = local_storage()?;
    for key in keys(&storage, &format!("es-sandbox/{name}/")) {
        let _ = storage.remove_item(&key);
    }
    super::indexed_db::requests::delete_database(&commit_database_name(name))
        .await
        .map_err(|e| commit_error("delete", e))
}

impl LocalSegments {
    /// Opens the store named `name` and its commit record (nothing is read yet).
    pub async fn open(name: &str) -> Result<Self, StoreError> {
        let storage = local_storage()?;
        let commit = Database::open(&commit_database_name(name), &[COMMIT])
            .await
            .map_err(|e| commit_error("open", e))?;
        Ok(LocalSegments {
            prefix: format!("es-sandbox/{name}/"),
            storage,
            commit,
        })
    }

    /// Closes the commit record's connection.
    pub fn close(&self, reason: &str) {
        self.commit.close(reason);
    }

    fn segment_prefix(&self) -> String {
        format!("{}seg/", self.prefix)
    }

    fn segment_key(&self, first: u64) -> String {
        format!("{}seg/{first}", self.prefix)
    }

    fn scenario_key(&self) -> String {
        format!("{}scenario", self.prefix)
    }

    fn snapshot_key(&self, aggregate_id: &str) -> String {
        format!("{}snap/{aggregate_id}", self.prefix)
    }

    /// Segment keys by first position, in order.
    fn segment_firsts(&self) -> Vec<u64> {
        let prefix = self.segment_prefix();
        let mut firsts: Vec<u64> = keys(&self.storage, &self.prefix)
            .iter()
            .filter_map(|k| k.strip_prefix(&prefix)?.parse().ok())
            .collect();
        firsts.sort_unstable();
        firsts
    }

    /// Swaps the commit record while `writes` changes localStorage.
    async fn swap(
        &self,
        expected: &CommitRecord,
        new: Option<Head>,
        writes: commit_record::Writes<'_>,
        operation: &'static str,
    ) -> Result<(), WriteError> {
        let db = self.connection().map_err(WriteError::Failed)?;
        let how = commit_record::Swap {
            stores: &[COMMIT],
            record_store: COMMIT,
            durability: "relaxed",
        };
        let change = commit_record::Change {
            expected,
            new,
            writes,
        };
        commit_record::swap(&db, &how, change, |e| commit_error(operation, e)).await
    }

    fn connection(&self) -> Result<web_sys::IdbDatabase, StoreError> {
        self.commit
            .connection()
            .map_err(|reason| StoreError::Closed { reason })
    }
}

impl SegmentIo for LocalSegments {
    fn codec(&self) -> SegmentCodec {
        SegmentCodec::Json
    }

    fn describe(&self) -> String {
        format!("{BACKEND} {}", self.segment_prefix())
    }

    fn commit_style(&self) -> CommitStyle {
        CommitStyle::RecordLast
    }

    async fn read_log(&self, from: u64) -> Result<LogRead, StoreError> {
        // The record first: every segment it commits was written before it.
        let record = commit_record::read(&self.connection()?, COMMIT)
            .await
            .map_err(|e| commit_error("read", e))?;
        let segments = self
            .segment_firsts()
            .into_iter()
            .filter(|first| *first >= from)
            .filter_map(|first| {
                let text = self.storage.get_item(&self.segment_key(first)).ok()??;
                Some((first, Ok(text.into_bytes())))
            })
            .collect();
        Ok(LogRead { record, segments })
    }

    async fn write(
        &self,
        expected: Option<Head>,
        segments: Vec<RawSegment>,
        head: Head,
        // Never handed any (CommitStyle::RecordLast): snapshots go through write_snapshot.
        _snapshots: &[Snapshot],
    ) -> Result<(), WriteError> {
        let expected = expected.map_or(CommitRecord::Missing, CommitRecord::At);
        let write_segments = |_: &web_sys::IdbTransaction| {
            let keys: Vec<String> = segments
                .iter()
                .map(|(first, _)| self.segment_key(*first))
                .collect();
            for (index, (key, (_, bytes))) in keys.iter().zip(&segments).enumerate() {
                let text = String::from_utf8_lossy(bytes);
                if let Err(error) = self.storage.set_item(key, &text) {
                    // Undo this write's earlier segments while the record is still ours.
                    for written in &keys[..index] {
                        let _ = self.storage.remove_item(written);
                    }
                    return Err(WriteError::Failed(write_error(error, "append")));
                }
            }
            Ok(())
        };
        // If the commit fails after the segments were written, they stay as segments beyond the
        // commit record: never acknowledged, ignored by readers, overwritten by the next append.
        self.swap(&expected, Some(head), Box::new(write_segments), "append")
            .await
    }

    async fn truncate(
        &self,
        expected: &CommitRecord,
        keep: Option<Head>,
    ) -> Result<(), WriteError> {
        let after = keep.map_or(0, |h| h.position);
        let drop_rest = |_: &web_sys::IdbTransaction| {
            for first in self.segment_firsts().into_iter().filter(|f| *f > after) {
                let _ = self.storage.remove_item(&self.segment_key(first));
            }
            Ok(())
        };
        self.swap(expected, keep, Box::new(drop_rest), "truncate")
            .await
    }

    async fn pause(&self) {
        super::runtime::sleep(20.0).await;
    }

    async fn read_scenario(&self) -> Result<Option<String>, StoreError> {
        Ok(self.storage.get_item(&self.scenario_key()).ok().flatten())
    }

    async fn write_scenario(&self, document: &str) -> Result<(), StoreError> {
        self.storage
            .set_item(&self.scenario_key(), document)
            .map_err(|e| write_error(e, "record the scenario"))
    }

    async fn read_snapshots(&self) -> Result<Vec<Snapshot>, StoreError> {
        let prefix = self.snapshot_key("");
        // A snapshot is only a shortcut: unreadable snapshots are dropped, not fatal.
        Ok(keys(&self.storage, &prefix)
            .iter()
            .flat_map(|k| LocalStorage::get::<Vec<Snapshot>>(k).unwrap_or_default())
            .collect())
    }

    async fn write_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let key = self.snapshot_key(&snapshot.aggregate_id);
        let mut list = LocalStorage::get::<Vec<Snapshot>>(&key).unwrap_or_default();
        list.retain(|s| s.version != snapshot.version);
        list.push(snapshot.clone());
        LocalStorage::set(&key, &list).map_err(|e| match e {
            StorageError::JsError(js) if js.name == "QuotaExceededError" => {
                StoreError::StorageFull {
                    backend: BACKEND,
                    detail: js.message,
                }
            }
            other => StoreError::Backend {
                backend: BACKEND,
                operation: "write a snapshot",
                message: other.to_string(),
            },
        })
    }
}
