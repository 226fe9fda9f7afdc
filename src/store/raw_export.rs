//! A raw export of a store that may not open: every stored record, decoded where it decodes,
//! and as it is (text, base64 or JSON) with the reason where it does not. Backends list their
//! records ([`RawStore`]); the export itself is the same for all of them.

use base64::Engine as _;
use serde_json::{Value, json};

use super::{CommitRecord, SegmentCodec};

/// A stored value as its backend holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawContent {
    /// Bytes (an IndexedDB `Uint8Array`).
    Bytes(Vec<u8>),
    /// Text (every localStorage value; an IndexedDB string).
    Text(String),
    /// Anything else, as JSON (an IndexedDB number or object put there by hand).
    Json(String),
}

/// One stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawRecord {
    /// A record under the store's log keys: a segment, if it decodes. `first`: the position its
    /// key names, when the key reads as one.
    Segment {
        /// The key as the backend has it (a number, or a localStorage key).
        key: Value,
        /// The position of its first event, from the key.
        first: Option<u64>,
        /// Its value.
        content: RawContent,
    },
    /// A snapshot.
    Snapshot(RawContent),
}

/// Everything a store holds, as its backend lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawStore {
    /// The backend's name, as JS names it (`indexeddb`).
    pub storage: &'static str,
    /// The store's name.
    pub name: String,
    /// The encoding of its segments.
    pub codec: SegmentCodec,
    /// Its commit record.
    pub commit_record: CommitRecord,
    /// The scenario document recorded with it, if any.
    pub scenario: Option<String>,
    /// Its records, in key order.
    pub records: Vec<RawRecord>,
}

/// The export as pretty JSON text: `{ storage, name, commitRecord, scenario?, records }`. With
/// `after`, only the log's records after that position (what truncating to it would drop), and
/// no snapshots.
pub fn export_raw(store: &RawStore, after: Option<u64>) -> String {
    let mut export = json!({
        "storage": store.storage,
        "name": store.name,
        "commitRecord": commit_record_json(&store.commit_record),
    });
    if let Some(scenario) = &store.scenario {
        export["scenario"] =
            serde_json::from_str(scenario).unwrap_or(Value::String(scenario.clone()));
    }
    let records: Vec<Value> = store
        .records
        .iter()
        .filter_map(|record| match record {
            RawRecord::Segment {
                key,
                first,
                content,
            } => after
                .is_none_or(|after| first.is_some_and(|f| f > after))
                .then(|| segment_json(store.codec, key, content)),
            RawRecord::Snapshot(content) => after.is_none().then(|| {
                let snapshot = match content {
                    RawContent::Text(text) | RawContent::Json(text) => {
                        serde_json::from_str(text).unwrap_or(Value::String(text.clone()))
                    }
                    RawContent::Bytes(bytes) => Value::String(base64(bytes)),
                };
                json!({ "snapshot": snapshot })
            }),
        })
        .collect();
    export["records"] = Value::Array(records);
    // Strings, numbers and JSON values only: serialising cannot fail.
    serde_json::to_string_pretty(&export).unwrap_or_default()
}

/// A segment record: its key and events where it decodes; otherwise why not and its raw content.
fn segment_json(codec: SegmentCodec, key: &Value, content: &RawContent) -> Value {
    let decoded = match content {
        RawContent::Bytes(bytes) => codec.decode(bytes),
        RawContent::Text(text) => codec.decode(text.as_bytes()),
        RawContent::Json(_) => Err("the value is neither bytes nor text".to_string()),
    };
    match decoded {
        Ok(events) => json!({ "key": key, "events": events }),
        Err(error) => {
            let mut record = json!({ "key": key, "error": error });
            match content {
                RawContent::Text(text) => record["text"] = Value::String(text.clone()),
                RawContent::Bytes(bytes) => record["base64"] = Value::String(base64(bytes)),
                RawContent::Json(json) => record["json"] = Value::String(json.clone()),
            }
            record
        }
    }
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
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
