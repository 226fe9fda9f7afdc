//! The IndexedDB backend: a database per store name, with segments and snapshots.
//!
//! Layout of database `es-sandbox/<name>` (version 1):
//! - `segments`: key = position of the segment's first event (a number); value = the segment in
//!   the binary encoding (a `Uint8Array`). Written with `add`, so a segment whose key exists is a
//!   `ConstraintError`: another tab appended first (see `store::segmented`).
//! - `snapshots`: key = `[aggregateId, version]`; value = the snapshot as JSON text.
//!
//! One append (or a group of appends made while a write was in flight) is one readwrite
//! transaction adding one record per append: record count, not bytes, is what IndexedDB charges.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{IdbDatabase, IdbKeyRange, IdbOpenDbRequest, IdbVersionChangeEvent};

use super::idb::{self, IdbError};
use crate::snapshot::Snapshot;
use crate::store::{RawSegment, SegmentCodec, SegmentIo, StoreError, WriteError};

const BACKEND: &str = "IndexedDB";
const DB_VERSION: u32 = 1;
const SEGMENTS: &str = "segments";
const SNAPSHOTS: &str = "snapshots";

/// How hard a commit waits for the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Durability {
    /// Commit once the OS has the data (fast; Chromium's default).
    #[default]
    Relaxed,
    /// Commit once the data is on disk.
    Strict,
}

impl Durability {
    fn as_str(self) -> &'static str {
        match self {
            Durability::Relaxed => "relaxed",
            Durability::Strict => "strict",
        }
    }
}

/// The database name of a store.
pub fn database_name(store: &str) -> String {
    format!("es-sandbox/{store}")
}

/// An open IndexedDB store.
pub struct IdbSegments {
    database: String,
    db: Rc<RefCell<Option<IdbDatabase>>>,
    /// Why the connection was closed, once it is.
    closed: Rc<RefCell<Option<String>>>,
    durability: Durability,
    abort_next_write: Cell<bool>,
    _on_version_change: Closure<dyn FnMut(IdbVersionChangeEvent)>,
}

fn backend_error(operation: &'static str, error: IdbError) -> StoreError {
    if error.name == "QuotaExceededError" {
        StoreError::StorageFull {
            backend: BACKEND,
            detail: error.to_string(),
        }
    } else {
        StoreError::Backend {
            backend: BACKEND,
            operation,
            message: error.to_string(),
        }
    }
}

impl IdbSegments {
    /// Opens (creating if needed) the database of a store.
    pub async fn open(store: &str, durability: Durability) -> Result<Self, StoreError> {
        let database = database_name(store);
        let db = open_database(&database).await?;
        let shared = Rc::new(RefCell::new(Some(db.clone())));
        let closed = Rc::new(RefCell::new(None));
        // Another tab upgrading or deleting the database waits for every connection to close:
        // close at once so it never hangs, and say why on the next operation.
        let on_version_change = {
            let shared = Rc::clone(&shared);
            let closed = Rc::clone(&closed);
            Closure::<dyn FnMut(IdbVersionChangeEvent)>::new(move |_: IdbVersionChangeEvent| {
                if let Some(db) = shared.borrow_mut().take() {
                    db.close();
                }
                *closed.borrow_mut() =
                    Some("another tab is upgrading or deleting this store; reload the page".into());
            })
        };
        db.set_onversionchange(Some(on_version_change.as_ref().unchecked_ref()));
        Ok(IdbSegments {
            database,
            db: shared,
            closed,
            durability,
            abort_next_write: Cell::new(false),
            _on_version_change: on_version_change,
        })
    }

    /// Deletes a store's database (other tabs' connections close themselves).
    pub async fn delete(store: &str) -> Result<(), StoreError> {
        let factory = idb::factory().map_err(|e| backend_error("delete", e))?;
        let request = factory
            .delete_database(&database_name(store))
            .map_err(|e| backend_error("delete", IdbError::from_js(e)))?;
        idb::request(&request)
            .await
            .map(|_| ())
            .map_err(|e| backend_error("delete", e))
    }

    /// Closes the connection; later operations fail with "closed".
    pub fn close(&self, reason: &str) {
        if let Some(db) = self.db.borrow_mut().take() {
            db.close();
        }
        self.closed
            .borrow_mut()
            .get_or_insert_with(|| reason.to_string());
    }

    /// Makes the next segment write abort its transaction after issuing its requests, to test
    /// that an aborted write leaves nothing behind.
    pub fn abort_next_write(&self) {
        self.abort_next_write.set(true);
    }

    fn connection(&self) -> Result<IdbDatabase, StoreError> {
        self.db.borrow().clone().ok_or_else(|| StoreError::Closed {
            reason: self
                .closed
                .borrow()
                .clone()
                .unwrap_or_else(|| "the connection was closed".into()),
        })
    }

    /// Every raw record, for export when something does not decode.
    pub async fn raw_segments(&self) -> Result<Vec<(JsValue, JsValue)>, StoreError> {
        let db = self.connection()?;
        let fail = |e| backend_error("read", e);
        let tx = idb::transaction(&db, &[SEGMENTS], false, "default").map_err(fail)?;
        let store = tx
            .object_store(SEGMENTS)
            .map_err(|e| fail(IdbError::from_js(e)))?;
        let keys = store
            .get_all_keys()
            .map_err(|e| fail(IdbError::from_js(e)))?;
        let values = store.get_all().map_err(|e| fail(IdbError::from_js(e)))?;
        let keys: Array = idb::request(&keys).await.map_err(fail)?.unchecked_into();
        let values: Array = idb::request(&values).await.map_err(fail)?.unchecked_into();
        Ok(keys.iter().zip(values.iter()).collect())
    }
}

/// Opens a database, creating the object stores on first use.
async fn open_database(database: &str) -> Result<IdbDatabase, StoreError> {
    let fail = |e| backend_error("open", e);
    let factory = idb::factory().map_err(fail)?;
    let request: IdbOpenDbRequest = factory
        .open_with_u32(database, DB_VERSION)
        .map_err(|e| fail(IdbError::from_js(e)))?;
    let on_upgrade = Closure::<dyn FnMut(IdbVersionChangeEvent)>::new({
        let request = request.clone();
        move |_: IdbVersionChangeEvent| {
            let Ok(db) = request.result().and_then(|r| r.dyn_into::<IdbDatabase>()) else {
                return;
            };
            let names = db.object_store_names();
            for store in [SEGMENTS, SNAPSHOTS] {
                if !names.contains(store) {
                    // A failure here aborts the upgrade, which fails the open request.
                    let _ = db.create_object_store(store);
                }
            }
        }
    });
    request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    // A tab holding an older version open that does not close would delay the open forever; ours
    // close on `versionchange`. Report `blocked` as an error instead of hanging.
    let fired = idb::first_event(&request, &["success", "error", "blocked"]).await;
    request.set_onupgradeneeded(None);
    let result = match fired {
        0 => request.result().map_err(IdbError::from_js),
        1 => Err(request
            .error()
            .ok()
            .flatten()
            .map(|e| IdbError::from_js(e.into()))
            .unwrap_or_else(|| IdbError::named("UnknownError", "the open request failed"))),
        _ => {
            // If the open completes later, close that connection: nobody is waiting for it.
            let late = request.clone();
            let close_late = Closure::once_into_js(move |_: web_sys::Event| {
                if let Ok(db) = late.result().and_then(|r| r.dyn_into::<IdbDatabase>()) {
                    db.close();
                }
            });
            request.set_onsuccess(Some(close_late.unchecked_ref()));
            Err(IdbError::named(
                "BlockedError",
                "another tab holds an older version of this store open; close it and try again",
            ))
        }
    };
    let db = result.map_err(|e| {
        if e.name == "VersionError" {
            StoreError::Backend {
                backend: BACKEND,
                operation: "open",
                message: format!("{database} was written by a newer version of es-sandbox ({e})"),
            }
        } else {
            fail(e)
        }
    })?;
    db.dyn_into::<IdbDatabase>()
        .map_err(|_| fail(IdbError::from_js("open did not return a database".into())))
}

impl Drop for IdbSegments {
    fn drop(&mut self) {
        // The version-change handler dies with this value, so the connection must close now or
        // a later delete or upgrade would wait for it forever.
        if let Some(db) = self.db.borrow_mut().take() {
            db.set_onversionchange(None);
            db.close();
        }
    }
}

impl SegmentIo for IdbSegments {
    fn codec(&self) -> SegmentCodec {
        SegmentCodec::Binary
    }

    fn describe(&self) -> String {
        format!("{BACKEND} {}/{SEGMENTS}", self.database)
    }

    async fn read_segments(&self, from: u64) -> Result<Vec<RawSegment>, StoreError> {
        let db = self.connection()?;
        let fail = |e| backend_error("read", e);
        let js = |e: JsValue| fail(IdbError::from_js(e));
        let tx = idb::transaction(&db, &[SEGMENTS], false, "default").map_err(fail)?;
        let store = tx.object_store(SEGMENTS).map_err(js)?;
        let range = IdbKeyRange::lower_bound(&JsValue::from_f64(from as f64)).map_err(js)?;
        // Both requests are issued before either is awaited: they run in one go.
        let keys = store.get_all_keys_with_key(&range).map_err(js)?;
        let values = store.get_all_with_key(&range).map_err(js)?;
        let keys: Array = idb::request(&keys).await.map_err(fail)?.unchecked_into();
        let values: Array = idb::request(&values).await.map_err(fail)?.unchecked_into();
        let mut segments = Vec::with_capacity(keys.length() as usize);
        for (key, value) in keys.iter().zip(values.iter()) {
            let corrupt = |reason: &str| StoreError::Corrupt {
                store: self.describe(),
                key: js_sys::JSON::stringify(&key)
                    .map(String::from)
                    .unwrap_or_else(|_| "?".into()),
                reason: reason.into(),
            };
            let position = key
                .as_f64()
                .filter(|k| k.fract() == 0.0 && *k >= 1.0)
                .ok_or_else(|| corrupt("the key is not a position"))?;
            let bytes = value
                .dyn_into::<Uint8Array>()
                .map_err(|_| corrupt("the value is not a Uint8Array segment"))?;
            segments.push((position as u64, bytes.to_vec()));
        }
        Ok(segments)
    }

    async fn write_segments(&self, segments: Vec<RawSegment>) -> Result<(), WriteError> {
        let db = self.connection().map_err(WriteError::Failed)?;
        let fail = |e| WriteError::Failed(backend_error("append", e));
        let js = |e: JsValue| fail(IdbError::from_js(e));
        let tx =
            idb::transaction(&db, &[SEGMENTS], true, self.durability.as_str()).map_err(fail)?;
        let store = tx.object_store(SEGMENTS).map_err(js)?;
        for (key, bytes) in &segments {
            let value = Uint8Array::from(bytes.as_slice());
            store
                .add_with_key(&value, &JsValue::from_f64(*key as f64))
                .map_err(js)?;
        }
        if self.abort_next_write.replace(false) {
            let _ = tx.abort();
        } else {
            idb::commit_soon(&tx);
        }
        match idb::committed(&tx).await {
            Ok(()) => Ok(()),
            Err(e) if e.name == "ConstraintError" => Err(WriteError::Taken),
            Err(e) => Err(fail(e)),
        }
    }

    async fn read_snapshots(&self) -> Result<Vec<Snapshot>, StoreError> {
        let db = self.connection()?;
        let fail = |e| backend_error("read snapshots", e);
        let js = |e: JsValue| fail(IdbError::from_js(e));
        let tx = idb::transaction(&db, &[SNAPSHOTS], false, "default").map_err(fail)?;
        let store = tx.object_store(SNAPSHOTS).map_err(js)?;
        let values = store.get_all().map_err(js)?;
        let values: Array = idb::request(&values).await.map_err(fail)?.unchecked_into();
        let mut snapshots = Vec::with_capacity(values.length() as usize);
        for value in values.iter() {
            let text = value.as_string().unwrap_or_default();
            // A snapshot is only a shortcut: one that does not read is skipped, not fatal.
            if let Ok(snapshot) = serde_json::from_str::<Snapshot>(&text) {
                snapshots.push(snapshot);
            }
        }
        Ok(snapshots)
    }

    async fn write_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let db = self.connection()?;
        let fail = |e| backend_error("write a snapshot", e);
        let js = |e: JsValue| fail(IdbError::from_js(e));
        let tx =
            idb::transaction(&db, &[SNAPSHOTS], true, self.durability.as_str()).map_err(fail)?;
        let store = tx.object_store(SNAPSHOTS).map_err(js)?;
        let key = Array::of2(
            &snapshot.aggregate_id.as_str().into(),
            &JsValue::from_f64(snapshot.version as f64),
        );
        let text = serde_json::to_string(snapshot).map_err(|e| StoreError::Backend {
            backend: BACKEND,
            operation: "write a snapshot",
            message: e.to_string(),
        })?;
        store.put_with_key(&text.into(), &key).map_err(js)?;
        idb::commit_soon(&tx);
        idb::committed(&tx).await.map_err(fail)
    }
}
