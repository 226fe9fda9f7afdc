//! The commit record in IndexedDB (see `store::segmented`): the last acknowledged position and
//! its event id, as JSON text under the key `head`. A localStorage store swaps it in one
//! readwrite transaction with the writes it commits: readwrite transactions over the same object
//! store run one at a time across tabs, so a swap is a real compare-and-swap, and exactly one of
//! two tabs expecting the same record wins. (An IndexedDB store writes its record with its
//! segments, whose `add` is the compare-and-swap.)

use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbObjectStore, IdbTransaction};

use super::requests::{self as idb, IdbError};
use crate::store::{CommitRecord, Head, StoreError, WriteError};

/// The record's key in its object store.
const KEY: &str = "head";

/// The record's value for a head.
pub fn value(head: &Head) -> JsValue {
    serde_json::to_string(head).unwrap_or_default().into()
}

/// Reads a stored record value.
pub fn parse(value: &JsValue) -> CommitRecord {
    if value.is_undefined() || value.is_null() {
        return CommitRecord::Missing;
    }
    match value.as_string() {
        Some(text) => serde_json::from_str::<Head>(&text)
            .map(CommitRecord::At)
            .unwrap_or_else(|e| CommitRecord::Unreadable(e.to_string())),
        None => CommitRecord::Unreadable("the record is not text".into()),
    }
}

/// Stores a record (or deletes it, for `None`) in a transaction's object store.
pub fn put(store: &IdbObjectStore, head: Option<Head>) -> Result<web_sys::IdbRequest, IdbError> {
    match head {
        Some(head) => store.put_with_key(&value(&head), &KEY.into()),
        None => store.delete(&KEY.into()),
    }
    .map_err(IdbError::from_js)
}

/// Starts reading the record of an object store (the request runs with its transaction).
pub fn request_record(store: &IdbObjectStore) -> Result<web_sys::IdbRequest, IdbError> {
    store.get(&KEY.into()).map_err(IdbError::from_js)
}

/// Reads the record in a transaction of its own.
pub async fn read(db: &IdbDatabase, record_store: &str) -> Result<CommitRecord, IdbError> {
    let tx = idb::transaction(db, &[record_store], false, "default")?;
    let store = tx.object_store(record_store).map_err(IdbError::from_js)?;
    let value = idb::request(&request_record(&store)?).await?;
    Ok(parse(&value))
}

/// What a swap writes besides the record, given its transaction; it may fail, which aborts the
/// swap.
pub type Writes<'a> = Box<dyn FnOnce(&IdbTransaction) -> Result<(), WriteError> + 'a>;

/// Where a backend keeps its commit record, and how it swaps it.
pub struct Swap<'a> {
    /// Every object store the transaction writes.
    pub stores: &'a [&'a str],
    /// The object store holding the record.
    pub record_store: &'a str,
    /// `relaxed` or `strict`.
    pub durability: &'a str,
}

/// What one swap changes: from which record to which, with which other writes.
pub struct Change<'a> {
    /// The record the writer last saw (`Missing`: none).
    pub expected: &'a CommitRecord,
    /// The new record (`None` deletes it).
    pub new: Option<Head>,
    /// The writes it commits.
    pub writes: Writes<'a>,
}

/// In one readwrite transaction: reads the record; if it is not the one `change` expects, writes
/// nothing ([`WriteError::Taken`]); otherwise makes `change`'s writes, stores its new record and
/// commits. `fail` names the operation in errors.
pub async fn swap(
    db: &IdbDatabase,
    how: &Swap<'_>,
    change: Change<'_>,
    fail: impl Fn(IdbError) -> StoreError,
) -> Result<(), WriteError> {
    let Swap {
        stores,
        record_store,
        durability,
    } = *how;
    let Change {
        expected,
        new,
        writes,
    } = change;
    let failed = |e: IdbError| WriteError::Failed(fail(e));
    let tx = idb::transaction(db, stores, true, durability).map_err(failed)?;
    let store = tx
        .object_store(record_store)
        .map_err(|e| failed(IdbError::from_js(e)))?;
    let stored = idb::request(&request_record(&store).map_err(failed)?)
        .await
        .map_err(failed);
    // The writes wait for the record to match: some (localStorage's) an abort cannot undo.
    let outcome = stored.and_then(|stored| {
        if parse(&stored) != *expected {
            return Err(WriteError::Taken);
        }
        writes(&tx)?;
        put(&store, new).map(|_| ()).map_err(failed)
    });
    if let Err(error) = outcome {
        let _ = tx.abort();
        let _ = idb::committed(&tx).await;
        return Err(error);
    }
    idb::commit_soon(&tx);
    match idb::committed(&tx).await {
        Ok(()) => Ok(()),
        Err(e) if e.name == "ConstraintError" => Err(WriteError::Taken),
        Err(e) => Err(failed(e)),
    }
}
