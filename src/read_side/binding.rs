//! Binding an event to a projection statement's named parameters.

use rusqlite::Statement;
use serde_json::{Map, Value};

use crate::event::StoredEvent;

/// Where a named parameter takes its value from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Position,
    Version,
    AggregateId,
    Type,
    Timestamp,
    EventId,
    SchemaVersion,
    CorrelationId,
    CausationId,
    /// The whole data as JSON text.
    Data,
    /// One top-level data field.
    Field(String),
}

impl Source {
    fn from_name(name: &str) -> Source {
        match name {
            "position" => Source::Position,
            "version" => Source::Version,
            "aggregate_id" => Source::AggregateId,
            "type" => Source::Type,
            "timestamp" => Source::Timestamp,
            "event_id" => Source::EventId,
            "schema_version" => Source::SchemaVersion,
            "correlation_id" => Source::CorrelationId,
            "causation_id" => Source::CausationId,
            "data" => Source::Data,
            field => Source::Field(field.to_string()),
        }
    }

    /// Whether binding needs the event's data parsed.
    pub(crate) fn needs_fields(&self) -> bool {
        matches!(self, Source::Field(_))
    }
}

/// The parameters of one statement: index (from 1) and source.
pub(crate) type Plan = Vec<(usize, Source)>;

/// Reads a prepared statement's parameters. Only named parameters (`:name`, `@name`, `$name`)
/// are allowed: a `?` could not say which field it wants.
pub(crate) fn plan(statement: &Statement<'_>) -> Result<Plan, String> {
    (1..=statement.parameter_count())
        .map(|index| {
            let name = statement
                .parameter_name(index)
                .ok_or_else(|| format!("parameter {index} has no name; use :field names"))?;
            Ok((index, Source::from_name(&name[1..])))
        })
        .collect()
}

/// Binds one JSON value: numbers as integers or reals, booleans as 0/1, objects and arrays as
/// JSON text.
fn bind_json(statement: &mut Statement<'_>, index: usize, value: &Value) -> rusqlite::Result<()> {
    match value {
        Value::Null => statement.raw_bind_parameter(index, rusqlite::types::Null),
        Value::Bool(b) => statement.raw_bind_parameter(index, i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => statement.raw_bind_parameter(index, i),
            None => statement.raw_bind_parameter(index, n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => statement.raw_bind_parameter(index, s.as_str()),
        other => statement.raw_bind_parameter(index, other.to_string()),
    }
}

fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The `events` mirror's columns, in order.
pub(crate) fn mirror_plan() -> Plan {
    [
        Source::Position,
        Source::EventId,
        Source::AggregateId,
        Source::Version,
        Source::Type,
        Source::SchemaVersion,
        Source::Data,
        Source::Timestamp,
        Source::CorrelationId,
        Source::CausationId,
    ]
    .into_iter()
    .enumerate()
    .map(|(column, source)| (column + 1, source))
    .collect()
}

/// Binds an event to a statement's parameters `offset + index` of the plan; `fields` is the
/// parsed data, when the plan needs it. A parameter naming a field the event does not have is
/// an error naming it.
pub(crate) fn bind(
    statement: &mut Statement<'_>,
    plan: &Plan,
    offset: usize,
    event: &StoredEvent,
    fields: Option<&Map<String, Value>>,
) -> Result<(), String> {
    let mut id = [0u8; 45];
    for (index, source) in plan {
        let index = offset + *index;
        let bound = match source {
            Source::Position => statement.raw_bind_parameter(index, int(event.position)),
            Source::Version => statement.raw_bind_parameter(index, int(event.version)),
            Source::AggregateId => statement.raw_bind_parameter(index, &*event.aggregate_id),
            Source::Type => statement.raw_bind_parameter(index, &*event.event_type),
            Source::Timestamp => statement.raw_bind_parameter(index, event.metadata.timestamp),
            Source::EventId => statement.raw_bind_parameter(index, event.event_id.encode(&mut id)),
            Source::SchemaVersion => statement.raw_bind_parameter(index, event.schema_version),
            Source::CorrelationId => {
                statement.raw_bind_parameter(index, event.metadata.correlation_id.as_deref())
            }
            Source::CausationId => {
                statement.raw_bind_parameter(index, event.metadata.causation_id.as_deref())
            }
            Source::Data => statement.raw_bind_parameter(index, event.data.as_json()),
            Source::Field(name) => match fields.and_then(|f| f.get(name)) {
                Some(value) => bind_json(statement, index, value),
                None => {
                    return Err(format!(
                        "the event has no data field `{name}` for :{name} (its fields: {})",
                        fields
                            .map(|f| f.keys().cloned().collect::<Vec<_>>().join(", "))
                            .unwrap_or_default()
                    ));
                }
            },
        };
        bound.map_err(|e| e.to_string())?;
    }
    Ok(())
}
