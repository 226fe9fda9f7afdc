//! The IndexedDB backend: a database per store name (laid out as `layout` says), with
//! segments, snapshots and the commit record.
//!
//!
//! One append (or a group of appends made while a write was in flight) is one readwrite
//! transaction that adds one record per append, with `add`, and puts the new commit record. The
//! `add` is the compare-and-swap: segments are contiguous, so the only key that can follow this
//! tab's head is head + 1, and it is free exactly when nobody appended since (`ConstraintError`
//! otherwise). Reading the record first would cost a round trip per append (measured: about a
//! fifth of an awaited append). Cutting a store back (recovery) is an upgrade to the next
//! version instead, which closes every other tab's connection first, so no tab can append to the
//! old log afterwards. Record count, not bytes, is what IndexedDB charges.

#[cfg(feature = "test-hooks")]
use std::cell::Cell;

use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{IdbKeyRange, IdbObjectStore, IdbTransaction};

use super::commit_record;
use super::failure::{BACKEND, backend_error, lock_failed};
use super::incarnation;
use super::layout::{INCARNATION, META, SCENARIO, SEGMENTS, SNAPSHOTS, STORES, database_name};
use super::log_read;
use super::requests::{self as idb, Database, IdbError};
#[cfg(feature = "test-hooks")]
pub use super::witness::WitnessGate;
use super::witness::{self, Witness, WitnessKeeper};
use crate::snapshot::Snapshot;
use crate::store::{
    CommitRecord, CommitStyle, Head, LogRead, LogReader, RawSegment, SegmentCodec, SegmentIo,
    StoreError, WriteError,
};

/// How hard a commit waits for the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Durability {
    /// Commit once the OS has the data (fast; Chromium's default): survives a browser crash,
    /// not always an OS crash or power loss.
    #[default]
    Relaxed,
    /// Commit once the data is on disk.
    Strict,
}

impl Durability {
    /// The transaction option's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Relaxed => "relaxed",
            Durability::Strict => "strict",
        }
    }
}

/// An open IndexedDB store.
pub struct IdbSegments {
    db: Database,
    durability: Durability,
    /// Keeps the witness of this database current.
    witness: WitnessKeeper,
    /// What every read reports when the database is not the one the witness names: the
    /// store's events are gone.
    gone: Option<CommitRecord>,
    /// A test hook: abort a segment write after this many more succeed.
    #[cfg(feature = "test-hooks")]
    abort_write: Cell<Option<u32>>,
}

impl IdbSegments {
    /// Opens (creating or upgrading if needed) the database of a store.
    pub async fn open(store: &str, durability: Durability) -> Result<Self, StoreError> {
        let database = database_name(store);
        let db = Database::open(&database, STORES)
            .await
            .map_err(|e| backend_error("open", e))?;
        let connection = db
            .connection()
            .map_err(|reason| StoreError::Closed { reason })?;
        let (incarnation, gone) =
            witness::locked(&database, incarnation::check(connection, database.clone()))
                .await
                .map_err(|message| lock_failed("open", message))?
                .map_err(|e| backend_error("open", e))?;
        Ok(IdbSegments {
            db,
            durability,
            witness: WitnessKeeper::new(&database, &incarnation),
            gone,
            #[cfg(feature = "test-hooks")]
            abort_write: Cell::new(None),
        })
    }

    /// Deletes a store's database (other tabs' connections close themselves), then its
    /// witness, under the witness's lock: after every witness update in flight has landed.
    pub async fn delete(store: &str) -> Result<(), StoreError> {
        let database = database_name(store);
        let name = database.clone();
        witness::locked(&database, async move {
            idb::delete_database(&name).await?;
            witness::delete(&name).await;
            Ok(())
        })
        .await
        .map_err(|message| lock_failed("delete", message))?
        .map_err(|e| backend_error("delete", e))
    }

    /// Closes the connection; later operations fail with "closed".
    pub fn close(&self, reason: &str) {
        self.db.close(reason);
    }

    /// Makes the next segment write abort its transaction after issuing its requests, to test
    /// that an aborted write leaves nothing behind.
    #[cfg(feature = "test-hooks")]
    pub fn abort_next_write(&self) {
        self.abort_write_after(0);
    }

    /// Makes the next witness update (after a commit) wait at a gate between finding the
    /// witness file and writing it, to test a delete that lands in between (a test hook).
    #[cfg(feature = "test-hooks")]
    pub fn hold_next_witness_update(&self) -> WitnessGate {
        self.witness.hold_next_update()
    }

    /// Makes the segment write after the next `writes` ones abort its transaction (a test hook).
    #[cfg(feature = "test-hooks")]
    pub fn abort_write_after(&self, writes: u32) {
        self.abort_write.set(Some(writes));
    }

    fn connection(&self) -> Result<web_sys::IdbDatabase, StoreError> {
        self.db
            .connection()
            .map_err(|reason| StoreError::Closed { reason })
    }

    /// Every raw record (segments, the commit record and snapshots, under their store's name),
    /// for export when something does not decode.
    pub async fn raw_records(&self) -> Result<Vec<(&'static str, JsValue, JsValue)>, StoreError> {
        let db = self.connection()?;
        let fail = |e| backend_error("read", e);
        let js = |e: JsValue| fail(IdbError::from_js(e));
        let stores = [SEGMENTS, META, SNAPSHOTS];
        let tx = idb::transaction(&db, &stores, false, "default").map_err(fail)?;
        let mut requests = Vec::new();
        for name in stores {
            let store = tx.object_store(name).map_err(js)?;
            // Every request is issued before any is awaited: they run in one go.
            requests.push((
                name,
                store.get_all_keys().map_err(js)?,
                store.get_all().map_err(js)?,
            ));
        }
        let mut records = Vec::new();
        for (name, keys, values) in requests {
            let keys: Array = idb::request(&keys).await.map_err(fail)?.unchecked_into();
            let values: Array = idb::request(&values).await.map_err(fail)?.unchecked_into();
            records.extend(keys.iter().zip(values.iter()).map(|(k, v)| (name, k, v)));
        }
        Ok(records)
    }
}

impl SegmentIo for IdbSegments {
    fn codec(&self) -> SegmentCodec {
        SegmentCodec::Binary
    }

    fn describe(&self) -> String {
        format!("{BACKEND} {}/{SEGMENTS}", self.db.name())
    }

    fn commit_style(&self) -> CommitStyle {
        CommitStyle::Atomic
    }

    async fn read_log(&self, from: u64) -> Result<LogRead, StoreError> {
        let mut read = LogRead::default();
        self.read_log_into(from, &mut read).await?;
        Ok(read)
    }

    async fn read_log_into(
        &self,
        from: u64,
        reader: &mut impl LogReader,
    ) -> Result<(), StoreError> {
        let db = self.connection()?;
        log_read::read_log_into(&db, &self.describe(), self.gone.as_ref(), from, reader).await
    }

    async fn write(
        &self,
        _expected: Option<Head>,
        segments: Vec<RawSegment>,
        head: Head,
        snapshots: &[Snapshot],
    ) -> Result<(), WriteError> {
        let db = self.connection().map_err(WriteError::Failed)?;
        let fail = |e| WriteError::Failed(backend_error("append", e));
        let js = |e: JsValue| fail(IdbError::from_js(e));
        // The snapshots' store joins the transaction only when there are snapshots, so that
        // plain appends do not wait on snapshot writes.
        let scope: &[&str] = if snapshots.is_empty() {
            &[SEGMENTS, META]
        } else {
            &[SEGMENTS, META, SNAPSHOTS]
        };
        let tx = idb::transaction(&db, scope, true, self.durability.as_str()).map_err(fail)?;
        let requests = || -> Result<(), WriteError> {
            let store = tx.object_store(SEGMENTS).map_err(js)?;
            for (key, bytes) in &segments {
                let value = Uint8Array::from(bytes.as_slice());
                store
                    .add_with_key(&value, &JsValue::from_f64(*key as f64))
                    .map_err(js)?;
            }
            if !snapshots.is_empty() {
                let store = tx.object_store(SNAPSHOTS).map_err(js)?;
                for snapshot in snapshots {
                    put_snapshot(&store, snapshot).map_err(WriteError::Failed)?;
                }
            }
            let meta = tx.object_store(META).map_err(js)?;
            commit_record::put(&meta, Some(head)).map_err(fail)?;
            Ok(())
        };
        if let Err(e) = requests() {
            // A request refused before it started: the ones issued before it must not commit.
            let _ = tx.abort();
            return Err(e);
        }
        #[cfg(feature = "test-hooks")]
        match self.abort_write.get() {
            Some(0) => {
                self.abort_write.set(None);
                let _ = tx.abort();
            }
            Some(writes) => self.abort_write.set(Some(writes - 1)),
            None => {}
        }
        idb::commit_soon(&tx);
        match idb::committed(&tx).await {
            Ok(()) => {
                self.witness.committed(head);
                Ok(())
            }
            Err(e) if e.name == "ConstraintError" => Err(WriteError::Taken),
            Err(e) => Err(fail(e)),
        }
    }

    async fn truncate(
        &self,
        _expected: &CommitRecord,
        keep: Option<Head>,
    ) -> Result<(), WriteError> {
        // The upgrade waits for every connection to close: this one first.
        self.db.close("the store is being cut back");
        let after = keep.map_or(0, |h| h.position);
        // What is kept becomes the store: a database that replaced a lost one gets an id of
        // its own, and the witness names it.
        let incarnation = match &self.gone {
            Some(_) => uuid::Uuid::new_v4().to_string(),
            None => self.witness.incarnation().to_string(),
        };
        let id = incarnation.clone();
        let cut = Box::new(move |tx: &IdbTransaction| {
            // A failed request aborts the upgrade, which fails the open: nothing is cut then.
            let range = IdbKeyRange::lower_bound_with_open(&JsValue::from_f64(after as f64), true);
            if let (Ok(range), Ok(segments)) = (range, tx.object_store(SEGMENTS)) {
                let _ = segments.delete(&range);
            }
            if let Ok(meta) = tx.object_store(META) {
                let _ = commit_record::put(&meta, keep);
                let _ = meta.put_with_key(&id.as_str().into(), &INCARNATION.into());
            }
        });
        let kept = Witness {
            incarnation,
            head: keep,
        };
        // Under the witness's lock: no tab checks the database against its witness between
        // the cut and the new witness.
        let name = self.db.name().to_string();
        witness::locked(self.db.name(), async move {
            Database::upgrade(&name, STORES, cut).await?;
            witness::create(&name, &kept).await;
            Ok(())
        })
        .await
        .map_err(|message| WriteError::Failed(lock_failed("truncate", message)))?
        .map_err(|e| WriteError::Failed(backend_error("truncate", e)))
    }

    async fn pause(&self) {
        crate::web::runtime::sleep(20.0).await;
    }

    async fn read_scenario(&self) -> Result<Option<String>, StoreError> {
        let db = self.connection()?;
        let fail = |e| backend_error("read the scenario", e);
        let tx = idb::transaction(&db, &[META], false, "default").map_err(fail)?;
        let store = tx
            .object_store(META)
            .map_err(|e| fail(IdbError::from_js(e)))?;
        let request = store
            .get(&SCENARIO.into())
            .map_err(|e| fail(IdbError::from_js(e)))?;
        Ok(idb::request(&request).await.map_err(fail)?.as_string())
    }

    async fn write_scenario(&self, document: &str) -> Result<(), StoreError> {
        let db = self.connection()?;
        let fail = |e| backend_error("record the scenario", e);
        let tx = idb::transaction(&db, &[META], true, self.durability.as_str()).map_err(fail)?;
        let store = tx
            .object_store(META)
            .map_err(|e| fail(IdbError::from_js(e)))?;
        store
            .put_with_key(&document.into(), &SCENARIO.into())
            .map_err(|e| fail(IdbError::from_js(e)))?;
        idb::commit_soon(&tx);
        idb::committed(&tx).await.map_err(fail)
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
        put_snapshot(&store, snapshot)?;
        idb::commit_soon(&tx);
        idb::committed(&tx).await.map_err(fail)
    }
}

/// Issues the request that stores a snapshot (keyed by aggregate and version, as JSON text) in
/// a transaction's snapshots store.
fn put_snapshot(store: &IdbObjectStore, snapshot: &Snapshot) -> Result<(), StoreError> {
    const OPERATION: &str = "write a snapshot";
    let key = Array::of2(
        &snapshot.aggregate_id.as_str().into(),
        &JsValue::from_f64(snapshot.version as f64),
    );
    let text = serde_json::to_string(snapshot).map_err(|e| StoreError::Backend {
        backend: BACKEND,
        operation: OPERATION,
        message: e.to_string(),
    })?;
    store
        .put_with_key(&text.into(), &key)
        .map(|_| ())
        .map_err(|e| backend_error(OPERATION, IdbError::from_js(e)))
}
