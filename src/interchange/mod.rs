//! Moving events in and out of a sandbox: NDJSON, KurrentDB's HTTP append shape, CloudEvents,
//! share links and given/when/then fixtures.
//!
//! Every reader takes untrusted bytes and never panics; every refusal names where it found the
//! problem (a line, or a JSON path). Reading is pure ([`read`]); checking against the rules and
//! writing into a store is [`import_into`], which changes nothing unless every event passes.

mod cloud_events;
mod fixture;
mod import;
mod kurrent;
mod ndjson;
mod problems;
mod share;
mod time;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::Domain;
use crate::event::StoredEvent;
use crate::write_side::NewEvent;

pub use fixture::{Fixture, FixtureEvent, FixtureRun, fixture_of};
pub use import::{ImportSummary, InterchangeError, import_into};
pub use problems::{ImportError, Problem};
pub use share::{
    MAX_LINK_CHARS, SharedScenario, pack_link, read_share_link, share_link, unpack_link,
};
pub use time::{format_rfc3339, parse_rfc3339};

/// Largest file a reader accepts.
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;
/// Most events one import may carry.
pub const MAX_IMPORT_EVENTS: usize = 1_000_000;

/// The file formats events move in and out in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Format {
    /// A header line, then one event per line: the sandbox's own, exact format.
    Ndjson,
    /// KurrentDB's (EventStoreDB's) HTTP append body per stream.
    Kurrent,
    /// CloudEvents JSON, structured mode, as a batch.
    CloudEvents,
}

/// What a file says about the scenario its events were written under.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Header {
    /// The scenario's name.
    pub scenario: String,
    /// The hash of the scenario's rules, if the file has one.
    pub rules_hash: Option<String>,
    /// The schema version of each event type when the file was written.
    pub schema_versions: BTreeMap<String, u32>,
}

/// One event read from a file, with where it was found.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Where in the file: "line 3", `$["acc-001"][2]`.
    pub at: String,
    /// The aggregate (stream) it belongs to.
    pub aggregate_id: String,
    /// Its version in the aggregate, if the file says.
    pub version: Option<u64>,
    /// Its position in the log, if the file says.
    pub position: Option<u64>,
    /// The event.
    pub event: NewEvent,
}

/// What a reader found: the header (if the format has one) and the events in log order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Exchange {
    /// The scenario the file names.
    pub header: Option<Header>,
    /// The events, in the order they go into the log.
    pub entries: Vec<Entry>,
}

/// Reads a file in a format. Checks its syntax, every event's fields, and that the events form a
/// log (ids unique, versions from 1 without gaps, positions in order); not yet the rules.
pub fn read(format: Format, bytes: &[u8]) -> Result<Exchange, ImportError> {
    let text = problems::text(bytes)?;
    match format {
        Format::Ndjson => ndjson::read(text),
        Format::Kurrent => kurrent::read(text),
        Format::CloudEvents => cloud_events::read(text),
    }
}

/// The format a file is in, from its first characters: a JSON array or a single CloudEvent
/// (it starts with its spec version) is CloudEvents, a first line that is the sandbox's NDJSON
/// header is NDJSON, anything else is read as KurrentDB append bodies (whose reader then says
/// what is wrong with it).
pub fn sniff_format(bytes: &[u8]) -> Format {
    let start = bytes.trim_ascii_start();
    if start.starts_with(b"[") || start.starts_with(b"{\"specversion\"") {
        return Format::CloudEvents;
    }
    let line = start.split(|b| *b == b'\n').next().unwrap_or_default();
    let first_line = String::from_utf8_lossy(line);
    let names_the_format = serde_json::from_str::<serde_json::Value>(&first_line)
        .ok()
        .and_then(|header| header.get("format")?.as_str().map(|f| f == ndjson::FORMAT))
        .unwrap_or(false);
    if names_the_format {
        Format::Ndjson
    } else {
        Format::Kurrent
    }
}

/// The scenario a file says its events belong to, if it says (NDJSON's header; a CloudEvent's
/// `source`, `/es-sandbox/<scenario>`), read from its first line or event only.
pub fn scenario_named(format: Format, bytes: &[u8]) -> Option<String> {
    let text = problems::text(bytes).ok()?;
    match format {
        Format::Ndjson => {
            let header: serde_json::Value = serde_json::from_str(text.lines().next()?).ok()?;
            Some(header.get("scenario")?.as_str()?.to_string())
        }
        Format::CloudEvents => {
            let first = text.trim_start().strip_prefix('[').unwrap_or(text).lines();
            let event = first
                .map(|line| line.trim().trim_end_matches(','))
                .find(|line| line.starts_with('{'))?;
            let event: serde_json::Value = serde_json::from_str(event).ok()?;
            let source = event.get("source")?.as_str()?;
            Some(source.strip_prefix("/es-sandbox/")?.to_string())
        }
        Format::Kurrent => None,
    }
}

/// Writes events (in log order) in a format.
pub fn write(format: Format, domain: &Domain, events: &[StoredEvent]) -> String {
    match format {
        Format::Ndjson => ndjson::write(&header_of(domain), events),
        Format::Kurrent => kurrent::write(events),
        Format::CloudEvents => cloud_events::write(&domain.scenario().name, events),
    }
}

/// The header of a domain: its name, rules hash and current schema versions.
pub fn header_of(domain: &Domain) -> Header {
    let schema_versions = domain
        .aggregate_types()
        .iter()
        .flat_map(|aggregate| aggregate.rules.event_types())
        .map(|event_type| {
            (
                event_type.to_string(),
                domain.current_schema_version(event_type),
            )
        })
        .collect();
    Header {
        scenario: domain.scenario().name.clone(),
        rules_hash: Some(rules_hash(domain)),
        schema_versions,
    }
}

/// Adds an event's correlation and causation ids (where it has them) to a JSON object, under
/// the names a format gives them.
fn insert_trace_ids(object: &mut serde_json::Value, event: &StoredEvent, names: [&str; 2]) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    let ids = [&event.metadata.correlation_id, &event.metadata.causation_id];
    for (name, id) in names.into_iter().zip(ids) {
        if let Some(id) = id {
            map.insert(name.into(), serde_json::Value::from(&**id));
        }
    }
}

/// A short hash of a scenario document: two files with the same hash were written under the
/// same rules.
pub fn rules_hash(domain: &Domain) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(domain.scenario().to_json().as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}
