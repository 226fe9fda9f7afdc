//! The sandbox's own exchange format: a header line naming the scenario, its rules hash, schema
//! versions and event count, then one stored event per line, exactly as the store holds it.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::problems::{
    FieldNames, ImportError, Problems, RawEvent, check_sequence, count_field, millis_field,
    only_fields, text_field,
};
use super::{Entry, Exchange, Header};
use crate::event::StoredEvent;

/// The header's `format` value.
pub const FORMAT: &str = "es-sandbox/events";
/// The header's `formatVersion`.
const FORMAT_VERSION: u64 = 1;

const EVENT_FIELDS: [&str; 10] = [
    "position",
    "eventId",
    "aggregateId",
    "version",
    "type",
    "schemaVersion",
    "data",
    "timestamp",
    "correlationId",
    "causationId",
];

/// The header line and one line per event.
pub fn write(header: &Header, events: &[StoredEvent]) -> String {
    let head = json!({
        "format": FORMAT,
        "formatVersion": FORMAT_VERSION,
        "scenario": header.scenario,
        "rulesHash": header.rules_hash,
        "schemaVersions": header.schema_versions,
        "events": events.len(),
    });
    let mut out = head.to_string();
    out.push('\n');
    for event in events {
        // A stored event serialises from strings, numbers and canonical JSON: it cannot fail.
        out.push_str(&serde_json::to_string(event).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Reads the header and every event line, listing every problem with its line number.
pub fn read(text: &str) -> Result<Exchange, ImportError> {
    let mut problems = Problems::default();
    let mut lines = text
        .split('\n')
        .enumerate()
        .map(|(index, line)| (index + 1, line.strip_suffix('\r').unwrap_or(line)))
        .filter(|(_, line)| !line.trim().is_empty());
    let Some((header_line, first)) = lines.next() else {
        return Err(ImportError::Empty);
    };
    let (header, promised) = match header(first) {
        Ok(header) => header,
        Err(message) => return Err(ImportError::at(format!("line {header_line}"), message)),
    };
    let mut entries = Vec::new();
    let mut found = 0u64;
    for (number, line) in lines {
        found += 1;
        let at = format!("line {number}");
        match event_line(line, at.clone()) {
            Ok(entry) => entries.push(entry),
            Err(message) => problems.add(at, message),
        }
    }
    if problems.is_empty() {
        check_sequence(&entries)?;
    }
    if problems.is_empty() && found != promised {
        problems.add(
            "file",
            format!(
                "the header promises {promised} events and the file has {found}: it was cut short or added to"
            ),
        );
    }
    problems.or(Exchange {
        header: Some(header),
        entries,
    })
}

fn object(line: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!(
            "a line must be a JSON object, found {}",
            crate::event::json_kind(&other)
        )),
        Err(e) => Err(format!("not JSON: {e}")),
    }
}

fn header(line: &str) -> Result<(Header, u64), String> {
    let map = object(line)?;
    if map.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(format!(
            "the first line must be the header, with \"format\": \"{FORMAT}\""
        ));
    }
    match map.get("formatVersion").and_then(Value::as_u64) {
        Some(FORMAT_VERSION) => {}
        other => {
            return Err(format!(
                "format version {} is not one this sandbox reads (it reads {FORMAT_VERSION})",
                other.map_or("(none)".to_string(), |v| v.to_string())
            ));
        }
    }
    let scenario = text_field(map.get("scenario"), "scenario")?.to_string();
    let rules_hash = match map.get("rulesHash") {
        None | Some(Value::Null) => None,
        value => Some(text_field(value, "rulesHash")?.to_string()),
    };
    let mut schema_versions = BTreeMap::new();
    match map.get("schemaVersions") {
        None | Some(Value::Null) => {}
        Some(Value::Object(versions)) => {
            for (event_type, version) in versions {
                let version = count_field(Some(version), &format!("schemaVersions.{event_type}"))?
                    .and_then(|v| u32::try_from(v).ok())
                    .ok_or_else(|| format!("`schemaVersions.{event_type}` must be 1 or more"))?;
                schema_versions.insert(event_type.clone(), version);
            }
        }
        Some(_) => return Err("`schemaVersions` must be an object".into()),
    }
    let promised = count_field(map.get("events"), "events")?.unwrap_or(0);
    Ok((
        Header {
            scenario,
            rules_hash,
            schema_versions,
        },
        promised,
    ))
}

fn event_line(line: &str, at: String) -> Result<Entry, String> {
    let map = object(line)?;
    only_fields(&map, &EVENT_FIELDS, "an event line")?;
    if map.get("position").is_none() || map.get("version").is_none() {
        return Err("`position` and `version` are required in this format".into());
    }
    let raw = RawEvent {
        aggregate_id: map.get("aggregateId"),
        event_id: map.get("eventId"),
        event_type: map.get("type"),
        schema_version: map.get("schemaVersion"),
        data: map.get("data"),
        timestamp: millis_field(map.get("timestamp"), "timestamp")?,
        correlation_id: map.get("correlationId"),
        causation_id: map.get("causationId"),
        version: map.get("version"),
        position: map.get("position"),
        names: FieldNames::SANDBOX,
    };
    raw.into_entry(at).map_err(|p| p.message)
}
