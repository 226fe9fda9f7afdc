//! KurrentDB (EventStoreDB) HTTP append bodies: per stream, an array of `eventId`, `eventType`,
//! `data` and `metadata`, the body `POST /streams/{stream}` accepts with the content type
//! `application/vnd.eventstore.events+json`. The stream is the aggregate id. Metadata carries the
//! sandbox's envelope: `timestamp`, `schemaVersion`, `version`, `position`, and KurrentDB's own
//! `$correlationId` and `$causationId`.

use serde_json::{Map, Value, json};

use super::problems::{
    FieldNames, ImportError, Problems, RawEvent, exchange, json_document, millis_field, only_fields,
};
use super::{Entry, Exchange, insert_trace_ids};
use crate::event::StoredEvent;

const EVENT_FIELDS: [&str; 4] = ["eventId", "eventType", "data", "metadata"];

/// One append body per stream, as an object keyed by stream name.
pub fn write(events: &[StoredEvent]) -> String {
    let mut streams: Map<String, Value> = Map::new();
    for event in events {
        let mut metadata = json!({
            "timestamp": event.metadata.timestamp,
            "schemaVersion": event.schema_version,
            "version": event.version,
            "position": event.position,
        });
        insert_trace_ids(&mut metadata, event, ["$correlationId", "$causationId"]);
        let body = json!({
            "eventId": event.event_id.to_string(),
            "eventType": &*event.event_type,
            "data": event.data.to_value(),
            "metadata": metadata,
        });
        if let Value::Array(list) = streams
            .entry(event.aggregate_id.to_string())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            list.push(body);
        }
    }
    let mut out = serde_json::to_string_pretty(&Value::Object(streams)).unwrap_or_default();
    out.push('\n');
    out
}

/// Reads an object of streams; events are put in log order by their `position`, or by their
/// `timestamp` when the file has no positions.
pub fn read(text: &str) -> Result<Exchange, ImportError> {
    let streams = match json_document(text)? {
        Value::Object(streams) => streams,
        Value::Array(_) => {
            return Err(ImportError::at(
                "$",
                "a bare array has no stream name: give an object, such as {\"acc-001\": [ … ]}",
            ));
        }
        other => {
            return Err(ImportError::at(
                "$",
                format!(
                    "expected an object of streams, found {}",
                    crate::event::json_kind(&other)
                ),
            ));
        }
    };
    let mut problems = Problems::default();
    let mut streams_read: Vec<Vec<Entry>> = Vec::with_capacity(streams.len());
    for (stream, events) in &streams {
        let Value::Array(events) = events else {
            problems.add(path(stream, None), "a stream must be an array of events");
            continue;
        };
        let mut entries = Vec::with_capacity(events.len());
        for (index, event) in events.iter().enumerate() {
            let at = path(stream, Some(index));
            match entry(stream, index, event, &at) {
                Ok(entry) => entries.push(entry),
                Err(message) => problems.add(at, message),
            }
        }
        streams_read.push(entries);
    }
    let all = streams_read.iter().flatten();
    let with_position = all.clone().filter(|e| e.position.is_some()).count();
    let total = all.count();
    let entries = if with_position == total {
        let mut entries: Vec<Entry> = streams_read.into_iter().flatten().collect();
        entries.sort_by_key(|e| e.position);
        entries
    } else if with_position == 0 {
        merge_by_time(streams_read)
    } else {
        problems.add(
            "$",
            "some events have a `metadata.position` and some do not: give all or none",
        );
        Vec::new()
    };
    exchange(problems, None, entries)
}

/// Interleaves streams into one log by timestamp, each stream's events kept in their order (ties
/// go to the stream that comes first).
fn merge_by_time(streams: Vec<Vec<Entry>>) -> Vec<Entry> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let total = streams.iter().map(Vec::len).sum();
    let mut streams: Vec<std::vec::IntoIter<Entry>> =
        streams.into_iter().map(Vec::into_iter).collect();
    let mut next: Vec<Option<Entry>> = streams.iter_mut().map(Iterator::next).collect();
    let mut heap: BinaryHeap<Reverse<(i64, usize)>> = next
        .iter()
        .enumerate()
        .filter_map(|(index, e)| {
            Some(Reverse((
                e.as_ref()?.event.timestamp.unwrap_or(i64::MIN),
                index,
            )))
        })
        .collect();
    let mut merged = Vec::with_capacity(total);
    while let Some(Reverse((_, index))) = heap.pop() {
        if let Some(entry) = next[index].take() {
            merged.push(entry);
        }
        if let Some(entry) = streams[index].next() {
            heap.push(Reverse((entry.event.timestamp.unwrap_or(i64::MIN), index)));
            next[index] = Some(entry);
        }
    }
    merged
}

fn path(stream: &str, index: Option<usize>) -> String {
    let stream =
        serde_json::to_string(&stream.chars().take(64).collect::<String>()).unwrap_or_default();
    match index {
        Some(index) => format!("$[{stream}][{index}]"),
        None => format!("$[{stream}]"),
    }
}

fn entry(stream: &str, index: usize, event: &Value, at: &str) -> Result<Entry, String> {
    let Value::Object(map) = event else {
        return Err("an event must be an object".into());
    };
    only_fields(map, &EVENT_FIELDS, "an event")?;
    let empty = Map::new();
    let metadata = match map.get("metadata") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(metadata)) => metadata,
        Some(_) => return Err("`metadata` must be an object".into()),
    };
    let stream = Value::String(stream.to_string());
    let version = Value::from(index as u64 + 1);
    let raw = RawEvent {
        aggregate_id: Some(&stream),
        event_id: map.get("eventId"),
        event_type: map.get("eventType"),
        schema_version: metadata.get("schemaVersion"),
        data: map.get("data"),
        timestamp: millis_field(metadata.get("timestamp"), "metadata.timestamp")?,
        correlation_id: metadata.get("$correlationId"),
        causation_id: metadata.get("$causationId"),
        version: Some(metadata.get("version").unwrap_or(&version)),
        position: metadata.get("position"),
        names: FieldNames {
            aggregate_id: "stream",
            event_id: "eventId",
            event_type: "eventType",
        },
    };
    raw.into_entry(at.to_string()).map_err(|p| p.message)
}
