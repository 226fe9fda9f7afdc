//! What readers refuse and where: the import error, the problems it lists, and the checks every
//! format shares (text, event fields, a log's order).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::{Entry, MAX_IMPORT_BYTES, MAX_IMPORT_EVENTS};
use crate::error::ErrorKind;
use crate::event::{
    EventData, EventId, MAX_TRACE_ID_LEN, Timestamp, check_aggregate_id, check_event_type,
};
use crate::write_side::NewEvent;

/// Most problems one refusal lists; the rest are counted.
const MAX_LISTED: usize = 20;

/// One thing wrong with a file, and where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Where: "header", "line 3", `$["acc-001"][2].data`.
    pub at: String,
    /// What is wrong.
    pub message: String,
}

/// Why a file was not imported. Nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum ImportError {
    /// The file is larger than a reader takes.
    #[error("the file is {len} bytes, more than the limit of {max}")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The file is not UTF-8 text.
    #[error("the file is not UTF-8 text: byte {offset} is not")]
    NotUtf8 {
        /// Where the first bad byte is.
        offset: usize,
    },
    /// The file holds no events.
    #[error("the file holds no events")]
    Empty,
    /// The file has problems, each with where it is.
    #[error("{}", listed(problems, *more))]
    Problems {
        /// The first problems, in file order.
        problems: Vec<Problem>,
        /// How many more there are.
        more: usize,
    },
}

fn listed(problems: &[Problem], more: usize) -> String {
    let mut text = problems
        .iter()
        .map(|p| format!("{}: {}", p.at, p.message))
        .collect::<Vec<_>>()
        .join("; ");
    if more > 0 {
        text.push_str(&format!("; and {more} more"));
    }
    text
}

impl ImportError {
    /// The class of this error: always input that cannot be used.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::BadInput
    }

    /// A refusal with one problem.
    pub fn at(at: impl Into<String>, message: impl Into<String>) -> Self {
        ImportError::Problems {
            problems: vec![Problem {
                at: at.into(),
                message: message.into(),
            }],
            more: 0,
        }
    }
}

/// Collects problems; a reader goes on after one so that a file's problems come all at once.
#[derive(Default)]
pub struct Problems {
    listed: Vec<Problem>,
    more: usize,
}

impl Problems {
    /// Notes a problem.
    pub fn add(&mut self, at: impl Into<String>, message: impl Into<String>) {
        if self.listed.len() < MAX_LISTED {
            self.listed.push(Problem {
                at: at.into(),
                message: message.into(),
            });
        } else {
            self.more += 1;
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    /// `Ok(value)` if there were none, else the refusal listing them.
    pub fn or<T>(self, value: T) -> Result<T, ImportError> {
        if self.listed.is_empty() {
            Ok(value)
        } else {
            Err(ImportError::Problems {
                problems: self.listed,
                more: self.more,
            })
        }
    }
}

/// Refuses a field an object should not have, naming the ones it may (`what`: "an event").
pub fn only_fields(
    map: &serde_json::Map<String, Value>,
    known: &[&str],
    what: &str,
) -> Result<(), String> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(format!(
            "unknown field `{}`; {what} has {}",
            unknown.chars().take(64).collect::<String>(),
            known.join(", ")
        )),
        None => Ok(()),
    }
}

/// A whole-file JSON document, or its syntax error at its line.
pub fn json_document(text: &str) -> Result<Value, ImportError> {
    serde_json::from_str(text)
        .map_err(|e| ImportError::at(format!("line {}", e.line()), e.to_string()))
}

/// What a reader found, once it found no problem and its entries form a log.
pub fn exchange(
    problems: Problems,
    header: Option<super::Header>,
    entries: Vec<Entry>,
) -> Result<super::Exchange, ImportError> {
    problems.or(())?;
    check_sequence(&entries)?;
    Ok(super::Exchange { header, entries })
}

/// The bytes as text: not too large, UTF-8, without a byte-order mark.
pub fn text(bytes: &[u8]) -> Result<&str, ImportError> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(ImportError::TooLarge {
            len: bytes.len(),
            max: MAX_IMPORT_BYTES,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| ImportError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(text)
}

/// An event's fields as a format names them, before they are checked.
#[derive(Default)]
pub struct RawEvent<'v> {
    pub aggregate_id: Option<&'v Value>,
    pub event_id: Option<&'v Value>,
    pub event_type: Option<&'v Value>,
    pub schema_version: Option<&'v Value>,
    pub data: Option<&'v Value>,
    pub timestamp: Option<Timestamp>,
    pub correlation_id: Option<&'v Value>,
    pub causation_id: Option<&'v Value>,
    pub version: Option<&'v Value>,
    pub position: Option<&'v Value>,
    /// What the format calls the fields, for its messages.
    pub names: FieldNames,
}

/// What a format calls the fields whose names differ between formats.
#[derive(Clone, Copy)]
pub struct FieldNames {
    /// The aggregate id (stream, subject).
    pub aggregate_id: &'static str,
    /// The event id.
    pub event_id: &'static str,
    /// The event type.
    pub event_type: &'static str,
}

impl FieldNames {
    /// The sandbox's own names.
    pub const SANDBOX: FieldNames = FieldNames {
        aggregate_id: "aggregateId",
        event_id: "eventId",
        event_type: "type",
    };
}

impl Default for FieldNames {
    fn default() -> Self {
        Self::SANDBOX
    }
}

/// A field's text, or the problem with it.
pub fn text_field<'v>(value: Option<&'v Value>, name: &str) -> Result<&'v str, String> {
    match value {
        Some(Value::String(text)) => Ok(text),
        Some(other) => Err(format!(
            "`{name}` must be a string, found {}",
            crate::event::json_kind(other)
        )),
        None => Err(format!("`{name}` is missing")),
    }
}

/// An optional field's whole number (1 or more), or the problem with it.
pub fn count_field(value: Option<&Value>, name: &str) -> Result<Option<u64>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(n) if n >= 1 => Ok(Some(n)),
            _ => Err(format!("`{name}` must be a whole number from 1, found {n}")),
        },
        Some(other) => Err(format!(
            "`{name}` must be a number, found {}",
            crate::event::json_kind(other)
        )),
    }
}

fn trace_field(value: Option<&Value>, name: &str) -> Result<Option<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(_) => {
            let text = text_field(value, name)?;
            if text.len() > MAX_TRACE_ID_LEN {
                return Err(format!("`{name}` is longer than {MAX_TRACE_ID_LEN} bytes"));
            }
            Ok(Some(text.to_string()))
        }
    }
}

impl RawEvent<'_> {
    /// The checked event, or the first problem with it (field names as the format has them are
    /// the caller's; these are the sandbox's).
    pub fn into_entry(self, at: String) -> Result<Entry, Problem> {
        self.check(&at).map_err(|message| Problem { at, message })
    }

    fn check(self, at: &str) -> Result<Entry, String> {
        let names = self.names;
        let aggregate_id = text_field(self.aggregate_id, names.aggregate_id)?;
        check_aggregate_id(aggregate_id).map_err(|e| e.to_string())?;
        let event_id = EventId::parse(text_field(self.event_id, names.event_id)?)
            .map_err(|e| e.to_string())?;
        let event_type = text_field(self.event_type, names.event_type)?;
        check_event_type(event_type).map_err(|e| e.to_string())?;
        let schema_version = count_field(self.schema_version, "schemaVersion")?
            .map(|v| u32::try_from(v).map_err(|_| format!("schema version {v} is too large")))
            .transpose()?;
        let data = match self.data {
            Some(value) => EventData::from_value(value.clone()).map_err(|e| e.to_string())?,
            None => return Err("`data` is missing".into()),
        };
        Ok(Entry {
            at: at.to_string(),
            aggregate_id: aggregate_id.to_string(),
            version: count_field(self.version, "version")?,
            position: count_field(self.position, "position")?,
            event: NewEvent {
                event_id: Some(event_id),
                event_type: event_type.to_string(),
                schema_version,
                data,
                timestamp: self.timestamp,
                correlation_id: trace_field(self.correlation_id, "correlationId")?,
                causation_id: trace_field(self.causation_id, "causationId")?,
            },
        })
    }
}

/// A timestamp field in ms since the epoch, or the problem with it.
pub fn millis_field(value: Option<&Value>, name: &str) -> Result<Option<Timestamp>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|ms| ms.unsigned_abs() <= MAX_SAFE_MS)
            .map(Some)
            .ok_or_else(|| format!("`{name}` must be whole milliseconds since 1970, found {n}")),
        Some(other) => Err(format!(
            "`{name}` must be a number of milliseconds, found {}",
            crate::event::json_kind(other)
        )),
    }
}

/// The largest timestamp JavaScript's `Date` takes (±100,000,000 days from 1970), in ms.
pub const MAX_SAFE_MS: u64 = 8_640_000_000_000_000;

/// Checks that entries form a log: not too many, ids unique, each aggregate's versions 1, 2, 3 …
/// in order (where given), positions 1, 2, 3 … in order (where given).
pub fn check_sequence(entries: &[Entry]) -> Result<(), ImportError> {
    if entries.is_empty() {
        return Err(ImportError::Empty);
    }
    let mut problems = Problems::default();
    if entries.len() > MAX_IMPORT_EVENTS {
        problems.add(
            "file",
            format!(
                "it holds {} events, more than the limit of {MAX_IMPORT_EVENTS}",
                entries.len()
            ),
        );
        return problems.or(());
    }
    let mut ids: HashMap<EventId, &str> = HashMap::with_capacity(entries.len());
    let mut versions: HashMap<&str, u64> = HashMap::new();
    let mut next_position = 1;
    for entry in entries {
        if let Some(id) = entry.event.event_id
            && let Some(first) = ids.insert(id, &entry.at)
        {
            problems.add(
                &entry.at,
                format!("event id {id} is already used at {first}"),
            );
        }
        let next = versions.entry(&entry.aggregate_id).or_insert(0);
        *next += 1;
        if let Some(version) = entry.version
            && version != *next
        {
            problems.add(
                &entry.at,
                format!(
                    "{} should be at version {} here, not {version}: an event is missing or out of order",
                    entry.aggregate_id, *next
                ),
            );
            *next = version;
        }
        match entry.position {
            Some(position) if position != next_position => {
                problems.add(
                    &entry.at,
                    format!(
                        "position {position} where the log has {next_position}: an event is missing or out of order"
                    ),
                );
                next_position = position.saturating_add(1);
            }
            _ => next_position += 1,
        }
    }
    problems.or(())
}
