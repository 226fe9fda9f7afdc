//! The localStorage backend: for small logs. One key per segment, never one ever-growing value
//! (rewriting a growing value costs the square of the log).
//!
//! Keys of store `<name>`:
//! - `es-sandbox/<name>/seg/<first position>`: a segment as JSON text, readable in DevTools;
//! - `es-sandbox/<name>/snap/<aggregate id>`: that aggregate's snapshots, a JSON array.
//!
//! localStorage is synchronous and has no transactions: a segment is written only if its key is
//! free, and if any write of a group fails (quota) the ones already made are removed, so the
//! store and the in-memory log always agree. Two tabs writing at the very same moment are not
//! excluded as strictly as with IndexedDB.

use gloo_storage::errors::StorageError;
use gloo_storage::{LocalStorage, Storage};

use crate::snapshot::Snapshot;
use crate::store::{RawSegment, SegmentCodec, SegmentIo, StoreError, WriteError};

const BACKEND: &str = "localStorage";

/// A store kept in localStorage.
pub struct LocalSegments {
    prefix: String,
    storage: web_sys::Storage,
}

fn unavailable(reason: String) -> StoreError {
    StoreError::Backend {
        backend: BACKEND,
        operation: "open",
        message: reason,
    }
}

/// Whether a thrown value is the quota error.
fn is_quota(error: &wasm_bindgen::JsValue) -> bool {
    js_sys::Reflect::get(error, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .is_some_and(|n| n == "QuotaExceededError")
}

fn write_error(error: wasm_bindgen::JsValue, operation: &'static str) -> StoreError {
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

impl LocalSegments {
    /// Opens the store named `name` (nothing is read yet).
    pub fn open(name: &str) -> Result<Self, StoreError> {
        let storage = web_sys::window()
            .ok_or_else(|| unavailable("localStorage needs a window".into()))?
            .local_storage()
            .map_err(|_| unavailable("localStorage is blocked here".into()))?
            .ok_or_else(|| unavailable("localStorage is not available here".into()))?;
        Ok(LocalSegments {
            prefix: format!("es-sandbox/{name}/"),
            storage,
        })
    }

    fn segment_prefix(&self) -> String {
        format!("{}seg/", self.prefix)
    }

    fn segment_key(&self, first: u64) -> String {
        format!("{}{first}", self.segment_prefix())
    }

    fn snapshot_key(&self, aggregate_id: &str) -> String {
        format!("{}snap/{aggregate_id}", self.prefix)
    }

    /// Every key of this store.
    pub fn keys(&self) -> Vec<String> {
        let length = self.storage.length().unwrap_or(0);
        (0..length)
            .filter_map(|i| self.storage.key(i).ok().flatten())
            .filter(|k| k.starts_with(&self.prefix))
            .collect()
    }

    /// The raw text under a key.
    pub fn raw(&self, key: &str) -> Option<String> {
        self.storage.get_item(key).ok().flatten()
    }

    /// Removes every key of this store.
    pub fn delete(&self) {
        for key in self.keys() {
            let _ = self.storage.remove_item(&key);
        }
    }
}

impl SegmentIo for LocalSegments {
    fn codec(&self) -> SegmentCodec {
        SegmentCodec::Json
    }

    fn describe(&self) -> String {
        format!("{BACKEND} {}", self.segment_prefix())
    }

    async fn read_segments(&self, from: u64) -> Result<Vec<RawSegment>, StoreError> {
        let segment_prefix = self.segment_prefix();
        let mut firsts: Vec<u64> = self
            .keys()
            .iter()
            .filter_map(|k| k.strip_prefix(&segment_prefix)?.parse().ok())
            .filter(|first| *first >= from)
            .collect();
        firsts.sort_unstable();
        Ok(firsts
            .into_iter()
            .filter_map(|first| Some((first, self.raw(&self.segment_key(first))?.into_bytes())))
            .collect())
    }

    async fn write_segments(&self, segments: Vec<RawSegment>) -> Result<(), WriteError> {
        let keys: Vec<String> = segments
            .iter()
            .map(|(first, _)| self.segment_key(*first))
            .collect();
        if keys.iter().any(|k| self.raw(k).is_some()) {
            return Err(WriteError::Taken);
        }
        for (index, (key, (_, bytes))) in keys.iter().zip(&segments).enumerate() {
            let text = String::from_utf8_lossy(bytes);
            if let Err(error) = self.storage.set_item(key, &text) {
                // Undo this group's earlier writes: nothing half-written stays behind.
                for written in &keys[..index] {
                    let _ = self.storage.remove_item(written);
                }
                return Err(WriteError::Failed(write_error(error, "append")));
            }
        }
        Ok(())
    }

    async fn read_snapshots(&self) -> Result<Vec<Snapshot>, StoreError> {
        let prefix = self.snapshot_key("");
        // A snapshot is only a shortcut: unreadable snapshots are dropped, not fatal.
        Ok(self
            .keys()
            .iter()
            .filter(|k| k.starts_with(&prefix))
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
