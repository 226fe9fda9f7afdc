//! The commit record in IndexedDB (see `store::segmented`): the last acknowledged position and
//! its event id, swapped in one readwrite transaction with the writes it commits. Readwrite
//! transactions over the same object store run one at a time across tabs, so a swap is a real
//! compare-and-swap: exactly one of two tabs expecting the same record wins.

use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbObjectStore, IdbTransaction};

use super::idb::{self, IdbError};
use crate::store::{CommitRecord, Head, StoreError, WriteError};

/// The record's key in its object store.
const KEY: &str = "head";

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

/// In one readwrite transaction over `stores`: reads the record of `record_store`; if it is not
/// `expected`, writes nothing ([`WriteError::Taken`]); otherwise runs `writes`, stores `new` as
/// the record (`None` deletes it) and commits. `abort` aborts the transaction after everything
/// was issued, for tests of failed writes. `fail` names the operation in errors.
#[allow(clippy::too_many_arguments)] // Each is one plain part of the swap.
pub async fn swap(
    db: &IdbDatabase,
    stores: &[&str],
    record_store: &str,
    durability: &str,
    expected: &CommitRecord,
    new: Option<Head>,
    writes: Writes<'_>,
    abort: bool,
    fail: impl Fn(IdbError) -> StoreError,
) -> Result<(), WriteError> {
    let failed = |e: IdbError| WriteError::Failed(fail(e));
    let tx = idb::transaction(db, stores, true, durability).map_err(failed)?;
    let store = tx
        .object_store(record_store)
        .map_err(|e| failed(IdbError::from_js(e)))?;
    let stored = idb::request(&request_record(&store).map_err(failed)?)
        .await
        .map_err(failed)?;
    if parse(&stored) != *expected {
        let _ = tx.abort();
        let _ = idb::committed(&tx).await;
        return Err(WriteError::Taken);
    }
    if let Err(error) = writes(&tx) {
        let _ = tx.abort();
        let _ = idb::committed(&tx).await;
        return Err(error);
    }
    let recorded = match new {
        Some(head) => {
            let text = serde_json::to_string(&head).unwrap_or_default();
            store.put_with_key(&text.into(), &KEY.into())
        }
        None => store.delete(&KEY.into()),
    };
    recorded.map_err(|e| failed(IdbError::from_js(e)))?;
    if abort {
        let _ = tx.abort();
    } else {
        idb::commit_soon(&tx);
    }
    match idb::committed(&tx).await {
        Ok(()) => Ok(()),
        Err(e) if e.name == "ConstraintError" => Err(WriteError::Taken),
        Err(e) => Err(failed(e)),
    }
}
