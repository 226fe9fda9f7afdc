//! Scenarios: a whole domain as one JSON document (aggregates and their rules, upcasters, seed,
//! suggested queries), so a user can change the domain in the browser.

mod shipped;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ErrorKind;
use crate::event::Timestamp;
use crate::script::ScriptError;
use crate::upcast::UpcasterError;

pub use shipped::{SHIPPED, shipped, ships_projections};

/// Largest scenario document accepted, in bytes.
pub const MAX_SCENARIO_LEN: usize = 1024 * 1024;
/// Default snapshot interval (events per aggregate).
pub const DEFAULT_SNAPSHOT_INTERVAL: u64 = 100;

/// A domain as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    /// Short machine name, such as `bank`.
    pub name: String,
    /// Human title.
    #[serde(default)]
    pub title: String,
    /// What the scenario shows.
    #[serde(default)]
    pub description: String,
    /// Take a snapshot every this many events per aggregate (0 = never automatically).
    #[serde(default = "default_snapshot_interval")]
    pub snapshot_interval: u64,
    /// The aggregate kinds and their rules.
    pub aggregates: Vec<AggregateSpec>,
    /// Schema upcasters.
    #[serde(default)]
    pub upcasters: Vec<UpcasterSpec>,
    /// What an empty store starts with.
    #[serde(default)]
    pub seed: Vec<SeedStep>,
    /// Read models fed by the events, as SQL.
    #[serde(default)]
    pub projections: Vec<ProjectionSpec>,
    /// Queries worth trying on the read model.
    #[serde(default)]
    pub queries: Vec<SuggestedQuery>,
}

fn default_snapshot_interval() -> u64 {
    DEFAULT_SNAPSHOT_INTERVAL
}

/// Script text: one string, or an array of lines (easier to read in JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ScriptText {
    /// The whole script.
    Text(String),
    /// The script's lines.
    Lines(Vec<String>),
}

impl ScriptText {
    /// The script as one string.
    pub fn to_source(&self) -> String {
        match self {
            ScriptText::Text(text) => text.clone(),
            ScriptText::Lines(lines) => lines.join("\n"),
        }
    }
}

/// One aggregate kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AggregateSpec {
    /// Its name, such as `account`.
    pub name: String,
    /// Ids of this kind start with this prefix, such as `acc-`.
    pub id_prefix: String,
    /// What it models.
    #[serde(default)]
    pub description: String,
    /// Its Rhai rules.
    pub rules: ScriptText,
    /// Descriptions, example payloads and payload shapes of its commands, by command name.
    #[serde(default)]
    pub commands: BTreeMap<String, CommandSpec>,
    /// The shapes of its events' data, by event type (its current schema version) or `Type@N`
    /// (schema version N); see `shape`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub events: BTreeMap<String, Value>,
}

/// Help for one command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommandSpec {
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// A payload to start from.
    #[serde(default)]
    pub example: Value,
    /// The shape its payload must have (see `shape`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
}

/// One upcaster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpcasterSpec {
    /// The event type it upcasts.
    pub event_type: String,
    /// The schema version it reads.
    pub from_version: u32,
    /// What changed.
    #[serde(default)]
    pub description: String,
    /// Its Rhai source, defining `fn upcast(data)`.
    pub script: ScriptText,
}

/// One step of a seed: a command to execute, or an event to append as is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedStep {
    /// The aggregate.
    pub aggregate_id: String,
    /// A command to execute (exactly one of `command` and `event`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// An event type to append (exactly one of `command` and `event`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The event's schema version (events only; default: current).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<u32>,
    /// The command payload or event data.
    #[serde(default)]
    pub data: Value,
    /// When it happened, ms since the Unix epoch; fixed so that seeding is repeatable.
    pub timestamp: Timestamp,
}

/// A projection: SQL that builds tables from events.
///
/// ```json
/// { "name": "balances",
///   "setup": "CREATE TABLE balances (account TEXT PRIMARY KEY, balance INTEGER NOT NULL)",
///   "on": { "Deposited": "UPDATE balances SET balance = balance + :amount WHERE account = :aggregate_id" } }
/// ```
///
/// Statements bind named parameters from the event (upcast to its current schema):
/// `:aggregate_id`, `:version`, `:position`, `:type`, `:timestamp`, `:event_id`,
/// `:schema_version`, `:data` (the data as JSON, for SQLite's JSON functions) and each top-level
/// data field (`:amount`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProjectionSpec {
    /// Its name, such as `balances`.
    pub name: String,
    /// What it shows.
    #[serde(default)]
    pub description: String,
    /// Statements that create its tables and indexes.
    pub setup: SqlStatements,
    /// Per event type, the statements to run for each event of that type.
    pub on: BTreeMap<String, SqlStatements>,
}

/// One SQL statement, or several run in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SqlStatements {
    /// One statement.
    One(String),
    /// Several statements, each a whole statement.
    Many(Vec<String>),
}

impl SqlStatements {
    /// The statements in order.
    pub fn statements(&self) -> Vec<&str> {
        match self {
            SqlStatements::One(sql) => vec![sql.as_str()],
            SqlStatements::Many(list) => list.iter().map(String::as_str).collect(),
        }
    }
}

/// A query suggested to the learner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SuggestedQuery {
    /// What it asks.
    pub title: String,
    /// The SQL.
    pub sql: String,
}

/// Why a scenario cannot be loaded.
///
/// Serialised (for JS callers' `details`), a variant is its fields, or the error it wraps.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum ScenarioError {
    /// Not JSON, or not the scenario shape.
    #[error("scenario is not valid: {message} (line {line}, column {column})")]
    Json {
        /// What serde said.
        message: String,
        /// Line in the document.
        line: usize,
        /// Column in the line.
        column: usize,
    },
    /// Larger than [`MAX_SCENARIO_LEN`].
    #[error("scenario is {len} bytes, more than the limit of {max}")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A field has a value the sandbox cannot use.
    #[error("scenario field {field}: {reason}")]
    Invalid {
        /// Path of the field, such as `aggregates[0].idPrefix`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A script does not compile or does not keep its contract.
    #[error(transparent)]
    Script(#[from] ScriptError),
    /// A seed step failed.
    #[error("seed step {index} failed: {reason}")]
    Seed {
        /// Its index.
        index: usize,
        /// Why.
        reason: String,
    },
    /// No shipped scenario has this name.
    #[error("there is no shipped scenario named {name:?}; shipped: {}", SHIPPED.join(", "))]
    UnknownShipped {
        /// The name asked for.
        name: String,
    },
}

impl ScenarioError {
    /// The class of this error: a script's failure, or a document that cannot be used.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ScenarioError::Script(_) => ErrorKind::Script,
            _ => ErrorKind::BadInput,
        }
    }
}

impl From<UpcasterError> for ScenarioError {
    fn from(error: UpcasterError) -> Self {
        match error {
            UpcasterError::Script(e) => ScenarioError::Script(e),
            broken @ UpcasterError::BrokenChain { .. } => ScenarioError::Invalid {
                field: "upcasters".into(),
                reason: broken.to_string(),
            },
        }
    }
}

impl Scenario {
    /// Parses a scenario document.
    pub fn from_json(text: &str) -> Result<Self, ScenarioError> {
        if text.len() > MAX_SCENARIO_LEN {
            return Err(ScenarioError::TooLarge {
                len: text.len(),
                max: MAX_SCENARIO_LEN,
            });
        }
        // Serde would read an array as the struct's fields in order; say plainly what is wanted.
        if text.trim_start().starts_with('[') {
            return Err(ScenarioError::Json {
                message:
                    "a scenario is a JSON object { \"name\": …, \"aggregates\": […] }, not an array"
                        .into(),
                line: 1,
                column: 1,
            });
        }
        serde_json::from_str(text).map_err(|e| ScenarioError::Json {
            message: strip_serde_position(&e.to_string()),
            line: e.line(),
            column: e.column(),
        })
    }

    /// The scenario as pretty JSON (for export and editing).
    pub fn to_json(&self) -> String {
        // A `Scenario` holds only strings, numbers and JSON values: serialising cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

fn strip_serde_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}
