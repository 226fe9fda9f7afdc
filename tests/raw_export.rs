//! The raw export of a store that may not open, natively over listed records: segments decoded
//! where they decode, raw (text, base64, JSON) with the reason where they do not, snapshots and
//! the scenario as JSON, and with `after` only the log's records past a position.
#![cfg(not(target_arch = "wasm32"))]

mod contract;

use contract::event;
use es_sandbox::store::{
    CommitRecord, Head, RawContent, RawRecord, RawStore, SegmentCodec, export_raw,
};
use serde_json::{Value, json};

fn segment(codec: SegmentCodec, first: u8) -> RawRecord {
    let stored =
        event(first, "Deposited", 5).place(&"acc-1".into(), u64::from(first), u64::from(first));
    let bytes = codec.encode(&[stored]);
    let content = match codec {
        SegmentCodec::Binary => RawContent::Bytes(bytes),
        SegmentCodec::Json => RawContent::Text(String::from_utf8(bytes).unwrap_or_default()),
    };
    RawRecord::Segment {
        key: json!(first),
        first: Some(u64::from(first)),
        content,
    }
}

fn store(codec: SegmentCodec, records: Vec<RawRecord>) -> RawStore {
    RawStore {
        storage: "indexeddb",
        name: "bank".into(),
        codec,
        commit_record: CommitRecord::At(Head {
            position: 3,
            event_id: contract::id(3),
        }),
        scenario: Some(r#"{"name": "bank"}"#.into()),
        records,
    }
}

fn exported(store: &RawStore, after: Option<u64>) -> Value {
    serde_json::from_str(&export_raw(store, after)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_record_is_exported_decoded_where_it_decodes_and_raw_where_not() {
    let records = vec![
        segment(SegmentCodec::Binary, 1),
        segment(SegmentCodec::Binary, 2),
        RawRecord::Segment {
            key: json!(3),
            first: Some(3),
            content: RawContent::Text("edited by hand".into()),
        },
        RawRecord::Segment {
            key: json!(4),
            first: Some(4),
            content: RawContent::Bytes(vec![1, 2, 3]),
        },
        RawRecord::Segment {
            key: json!(5),
            first: Some(5),
            content: RawContent::Json("42".into()),
        },
        RawRecord::Snapshot(RawContent::Text(r#"{"version": 2}"#.into())),
        RawRecord::Snapshot(RawContent::Text("not json".into())),
    ];
    let export = exported(&store(SegmentCodec::Binary, records), None);
    assert_eq!(export["storage"], "indexeddb");
    assert_eq!(export["name"], "bank");
    assert_eq!(export["commitRecord"]["position"], 3);
    assert_eq!(export["scenario"], json!({"name": "bank"}));
    let records = export["records"]
        .as_array()
        .unwrap_or_else(|| panic!("no records"));
    assert_eq!(records.len(), 7);
    assert_eq!(records[0]["events"][0]["type"], "Deposited");
    assert_eq!(records[1]["events"][0]["position"], 2);
    assert_eq!(records[2]["text"], "edited by hand");
    assert!(records[2]["error"].is_string(), "{}", records[2]);
    assert_eq!(records[3]["base64"], "AQID");
    assert_eq!(records[4]["json"], "42");
    assert_eq!(records[4]["error"], "the value is neither bytes nor text");
    assert_eq!(records[5]["snapshot"], json!({"version": 2}));
    assert_eq!(records[6]["snapshot"], "not json");
}

#[test]
fn after_a_position_only_the_logs_later_records_are_exported() {
    let records = vec![
        segment(SegmentCodec::Json, 1),
        segment(SegmentCodec::Json, 2),
        segment(SegmentCodec::Json, 3),
        // A localStorage key under the store that is not a segment's.
        RawRecord::Segment {
            key: json!("es-sandbox/bank/snap/acc-1"),
            first: None,
            content: RawContent::Text("[]".into()),
        },
        RawRecord::Snapshot(RawContent::Text("{}".into())),
    ];
    let store = store(SegmentCodec::Json, records);
    let keys = |export: &Value| -> Vec<Value> {
        export["records"]
            .as_array()
            .map(|r| r.iter().map(|r| r["key"].clone()).collect())
            .unwrap_or_default()
    };
    assert_eq!(
        keys(&exported(&store, Some(1))),
        vec![json!(2), json!(3)],
        "the records truncating to 1 would drop"
    );
    assert_eq!(
        keys(&exported(&store, None)),
        vec![
            json!(1),
            json!(2),
            json!(3),
            json!("es-sandbox/bank/snap/acc-1"),
            Value::Null
        ]
    );
}
