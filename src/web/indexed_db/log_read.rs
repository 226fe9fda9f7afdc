//! Reading an IndexedDB store's log: the commit record, then the segments from a position in
//! ranges of records, each handed to the reader as it arrives.

use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{IdbDatabase, IdbKeyRange};

use super::commit_record;
use super::failure::backend_error;
use super::layout::{META, SEGMENTS};
use super::requests::{self as idb, IdbError};
use crate::store::{CommitRecord, LogReader, StoreError};

/// How many positions one request of a whole log's read covers (see [`read_starts`]).
const READ_RANGE: u64 = 8_192;

/// Reads the commit record and every segment whose key is at least `from`, in one snapshot,
/// handing them to `reader` in key order as they arrive. `store` names the segments in errors;
/// `gone` stands for the record when the database is not the one the witness names.
pub(super) async fn read_log_into(
    db: &IdbDatabase,
    store: &str,
    gone: Option<&CommitRecord>,
    from: u64,
    reader: &mut impl LogReader,
) -> Result<(), StoreError> {
    let fail = |e| backend_error("read", e);
    let js = |e: JsValue| fail(IdbError::from_js(e));
    let starts = if from == 1 {
        read_starts(db, from).await.map_err(fail)?
    } else {
        vec![from]
    };
    let tx = idb::transaction(db, &[SEGMENTS, META], false, "default").map_err(fail)?;
    let segments = tx.object_store(SEGMENTS).map_err(js)?;
    // Every request is issued, and listened to, before any is awaited: they run in one go, in
    // one snapshot, and a range that answers while an earlier one is decoded (the reader gives
    // the thread back now and then) is not missed.
    let record = idb::listen(
        &commit_record::request_record(&tx.object_store(META).map_err(js)?).map_err(fail)?,
    );
    let mut ranges = Vec::with_capacity(starts.len());
    for (index, &start) in starts.iter().enumerate() {
        let lower = JsValue::from_f64(start as f64);
        let range = match starts.get(index + 1) {
            Some(&end) => IdbKeyRange::bound_with_lower_open_and_upper_open(
                &lower,
                &JsValue::from_f64(end as f64),
                false,
                true,
            ),
            None => IdbKeyRange::lower_bound(&lower),
        }
        .map_err(js)?;
        ranges.push((
            idb::listen(&segments.get_all_keys_with_key(&range).map_err(js)?),
            idb::listen(&segments.get_all_with_key(&range).map_err(js)?),
        ));
    }
    let record = commit_record::parse(&record.await.map_err(fail)?);
    reader.record(gone.cloned().unwrap_or(record));
    let mut last_key = None;
    for (keys, values) in ranges {
        let keys: Array = keys.await.map_err(fail)?.unchecked_into();
        let values: Array = values.await.map_err(fail)?.unchecked_into();
        for (key, value) in keys.iter().zip(values.iter()) {
            let position = position(&key).ok_or_else(|| StoreError::Corrupt {
                store: store.to_string(),
                key: js_sys::JSON::stringify(&key)
                    .map(String::from)
                    .unwrap_or_else(|_| "?".into()),
                reason: "the key is not a position".into(),
                intact_up_to: last_key.map_or(from.saturating_sub(1), |k: u64| k.saturating_sub(1)),
            })?;
            // A value that is not bytes is reported by the chain, with how far the log is
            // intact before it.
            let bytes = value
                .dyn_into::<Uint8Array>()
                .map(|bytes| bytes.to_vec())
                .map_err(|_| "the value is not a Uint8Array segment".to_string());
            last_key = Some(position);
            reader.segment(position, bytes).await;
        }
    }
    Ok(())
}

/// Positions a log read from `from` is split at, so that it is read in ranges of about
/// [`READ_RANGE`] positions: one `getAll` of a whole large log took three times as long as the
/// same records read in ranges of one large segment each (100,000 events, 103 records: 35 ms
/// against 11), and each range can be decoded as soon as it arrives. Planned from the keys
/// alone, in a transaction of their own: the read itself covers every key from `from` whatever
/// was written in between, its last range having no end.
async fn read_starts(db: &IdbDatabase, from: u64) -> Result<Vec<u64>, IdbError> {
    let tx = idb::transaction(db, &[SEGMENTS], false, "default")?;
    let store = tx.object_store(SEGMENTS).map_err(IdbError::from_js)?;
    let range =
        IdbKeyRange::lower_bound(&JsValue::from_f64(from as f64)).map_err(IdbError::from_js)?;
    let keys: Array = idb::request(
        &store
            .get_all_keys_with_key(&range)
            .map_err(IdbError::from_js)?,
    )
    .await?
    .unchecked_into();
    let mut starts = vec![from];
    for key in keys.iter() {
        let Some(key) = position(&key) else {
            // The read itself reports a key that is not a position.
            continue;
        };
        if starts
            .last()
            .is_some_and(|&start| key >= start + READ_RANGE)
        {
            starts.push(key);
        }
    }
    Ok(starts)
}

/// A segment's key as the position of its first event, if it is one.
fn position(key: &JsValue) -> Option<u64> {
    key.as_f64()
        .filter(|k| k.fract() == 0.0 && *k >= 1.0)
        .map(|k| k as u64)
}
