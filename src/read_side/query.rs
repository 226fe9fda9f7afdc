//! The query box: one read-only SQL statement against the read model. SQLite itself enforces it:
//! an authorizer refuses anything but reading (and the pragmas that only describe the schema)
//! while the statement is prepared, and the prepared statement must report itself read-only. A
//! row cap and a size cap keep results small, a length limit stops one value from growing past
//! what a page can hold, and a time limit stops runaway queries.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode};
use serde::Serialize;
use serde_json::Value;

use crate::read_error::QueryError;
use crate::shape::MAX_SAFE_INTEGER;

/// How much a query may return and for how long it may run.
#[derive(Clone, Copy, Debug)]
pub struct QueryLimits {
    /// Rows returned; the rest are only counted.
    pub max_rows: usize,
    /// Milliseconds the query may run before it is interrupted.
    pub time_limit_ms: f64,
    /// The caller's clock in milliseconds (the core reads none of its own).
    pub clock: fn() -> f64,
}

/// A query's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryResult {
    /// Column names.
    pub columns: Vec<String>,
    /// The first `max_rows` rows.
    pub rows: Vec<Vec<Value>>,
    /// How many rows the query produced in all.
    pub total_rows: usize,
    /// The tables (and views) the statement read, as SQLite's authorizer saw them: which
    /// projections the answer comes from.
    pub tables: Vec<String>,
    /// Whether rows were left out because the answer reached `MAX_RESULT_BYTES` (32 MB) (rows past
    /// `max_rows` are left out too, and only counted).
    pub size_capped: bool,
}

/// The most bytes of values an answer carries; the rows after are counted, not returned.
pub const MAX_RESULT_BYTES: usize = 32 << 20;
/// The longest text or blob a query may make (SQLite's `SQLITE_LIMIT_LENGTH` while it runs):
/// `zeroblob(500000000)` fails with SQLite's "string or blob too big" instead of exhausting
/// the page's memory.
pub const MAX_VALUE_BYTES: i32 = 16 << 20;

/// Pragmas that only describe the schema: the query box runs them (`PRAGMA table_info(t)`).
const DESCRIBING_PRAGMAS: [&str; 9] = [
    "table_info",
    "table_xinfo",
    "table_list",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "collation_list",
    "function_list",
];

/// What a denied action would have done, in words.
fn describe(action: &AuthAction<'_>) -> String {
    match action {
        AuthAction::Insert { table_name }
        | AuthAction::Delete { table_name }
        | AuthAction::Update { table_name, .. }
            if table_name.starts_with("sqlite_") =>
        {
            "changing the schema (CREATE, DROP, ALTER) would write".into()
        }
        AuthAction::Insert { table_name } => format!("INSERT into {table_name} would write"),
        AuthAction::Update {
            table_name,
            column_name,
        } => format!("UPDATE of {table_name}.{column_name} would write"),
        AuthAction::Delete { table_name } => format!("DELETE from {table_name} would write"),
        AuthAction::DropTable { table_name } | AuthAction::DropTempTable { table_name } => {
            format!("DROP TABLE {table_name} would write")
        }
        AuthAction::CreateTable { table_name } | AuthAction::CreateTempTable { table_name } => {
            format!("CREATE TABLE {table_name} would write")
        }
        AuthAction::Pragma { pragma_name, .. } => {
            format!(
                "PRAGMA {pragma_name} may change the database; only pragmas that describe the \
                 schema run here ({})",
                DESCRIBING_PRAGMAS.join(", ")
            )
        }
        AuthAction::Attach { filename } => {
            format!("ATTACH {filename:?} would open another database")
        }
        AuthAction::Detach { database_name } => format!("DETACH {database_name} is not allowed"),
        AuthAction::Transaction { .. } | AuthAction::Savepoint { .. } => {
            "transactions are not allowed in a read-only query".into()
        }
        AuthAction::AlterTable { table_name, .. } => {
            format!("ALTER TABLE {table_name} would write")
        }
        AuthAction::Reindex { .. } => "REINDEX would write".into(),
        AuthAction::Analyze { .. } => "ANALYZE would write".into(),
        other => format!("{other:?} is not a read"),
    }
}

/// SQLite's error as the query box reports it; an interrupted statement (SQLite's
/// `SQLITE_INTERRUPT`, which the time limit causes) is an interruption, whose limit the caller
/// fills in.
fn sql_error(error: rusqlite::Error) -> QueryError {
    if let rusqlite::Error::SqliteFailure(failure, _) = &error
        && failure.code == ErrorCode::OperationInterrupted
    {
        return QueryError::Interrupted { limit_ms: 0 };
    }
    QueryError::Sql {
        message: super::sqlite_message(error),
    }
}

/// A stored value as JSON: integers and reals as numbers, text as strings, blobs as hex.
fn json_value(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        // JavaScript holds integers exactly only within ±(2^53 − 1): beyond, they come as text.
        ValueRef::Integer(i) if !(-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&i) => {
            Value::String(i.to_string())
        }
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(r) => serde_json::Number::from_f64(r)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(r.to_string())),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::String(format!(
            "x'{}'",
            b.iter()
                .map(|byte| format!("{byte:02x}"))
                .collect::<String>()
        )),
    }
}

/// About how many bytes a value takes in an answer (a blob is shown as hex: twice its size).
fn value_size(value: ValueRef<'_>) -> usize {
    match value {
        ValueRef::Null | ValueRef::Integer(_) | ValueRef::Real(_) => 8,
        ValueRef::Text(t) => t.len(),
        ValueRef::Blob(b) => 2 * b.len() + 3,
    }
}

/// Runs one read-only statement.
pub(crate) fn run(
    connection: &mut Connection,
    sql: &str,
    limits: &QueryLimits,
) -> Result<QueryResult, QueryError> {
    if sql.trim().is_empty() {
        return Err(QueryError::Empty);
    }
    let denied = Arc::new(Mutex::new(None::<String>));
    let read = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    let (record, tables) = (Arc::clone(&denied), Arc::clone(&read));
    let install =
        connection.authorizer(Some(move |context: AuthContext<'_>| match context.action {
            AuthAction::Read { table_name, .. } => {
                if let Ok(mut tables) = tables.lock() {
                    tables.insert(table_name.to_string());
                }
                Authorization::Allow
            }
            AuthAction::Select | AuthAction::Function { .. } | AuthAction::Recursive => {
                Authorization::Allow
            }
            AuthAction::Pragma { pragma_name, .. }
                if DESCRIBING_PRAGMAS.contains(&pragma_name.to_ascii_lowercase().as_str()) =>
            {
                Authorization::Allow
            }
            other => {
                if let Ok(mut slot) = record.lock() {
                    slot.get_or_insert_with(|| describe(&other));
                }
                Authorization::Deny
            }
        }));
    install.map_err(sql_error)?;
    let clock = limits.clock;
    let start = clock();
    let limit = limits.time_limit_ms;
    let watch = connection.progress_handler(1_000, Some(move || clock() - start > limit));
    let length = connection
        .set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
        .map_err(sql_error);
    let result = watch
        .map_err(sql_error)
        .and(length.clone())
        .and_then(|_| run_prepared(connection, sql, limits.max_rows, &denied));
    // The authorizer and the limits are for the query box only, never for projections.
    let _ = connection.progress_handler(0, None::<fn() -> bool>);
    let _ = connection.authorizer(None::<fn(AuthContext<'_>) -> Authorization>);
    if let Ok(before) = &length {
        let before = *before;
        let _ = connection.set_limit(Limit::SQLITE_LIMIT_LENGTH, before);
    }
    let mut result = result.map_err(|e| match e {
        QueryError::Interrupted { .. } => QueryError::Interrupted {
            limit_ms: limit as u64,
        },
        other => other,
    })?;
    result.tables = read
        .lock()
        .map(|t| t.iter().cloned().collect())
        .unwrap_or_default();
    Ok(result)
}

/// Runs one read-only statement on a copy of a read model ([`ReadModel::to_bytes`]), opened
/// read-only in a database of its own.
///
/// [`ReadModel::to_bytes`]: super::ReadModel::to_bytes
pub fn query_copy(
    database: &[u8],
    sql: &str,
    limits: &QueryLimits,
) -> Result<QueryResult, QueryError> {
    let mut connection = Connection::open_in_memory().map_err(sql_error)?;
    connection
        .deserialize_read_exact(rusqlite::MAIN_DB, database, database.len(), true)
        .map_err(|e| QueryError::Sql {
            message: format!("not a read model: {e}"),
        })?;
    run(&mut connection, sql, limits)
}

fn run_prepared(
    connection: &Connection,
    sql: &str,
    max_rows: usize,
    denied: &Mutex<Option<String>>,
) -> Result<QueryResult, QueryError> {
    let mut statement = connection.prepare(sql).map_err(|e| {
        if let Some(reason) = denied.lock().ok().and_then(|mut d| d.take()) {
            return QueryError::Refused {
                reason: format!("the query box only reads; {reason}"),
            };
        }
        match e {
            rusqlite::Error::MultipleStatement => QueryError::Refused {
                reason: "one statement at a time".into(),
            },
            rusqlite::Error::SqliteFailure(ffi, _)
                if ffi.code == ErrorCode::AuthorizationForStatementDenied =>
            {
                QueryError::Refused {
                    reason: "the query box only reads".into(),
                }
            }
            other => sql_error(other),
        }
    })?;
    if !statement.readonly() {
        return Err(QueryError::Refused {
            reason: "the query box only reads; this statement would write".into(),
        });
    }
    let columns: Vec<String> = statement.column_names().map(str::to_string).collect();
    let width = columns.len();
    let mut rows = Vec::new();
    let mut total_rows = 0;
    let (mut bytes, mut size_capped) = (0usize, false);
    let mut cursor = statement.raw_query();
    while let Some(row) = cursor.next().map_err(sql_error)? {
        total_rows += 1;
        if rows.len() < max_rows && !size_capped {
            let size: usize = (0..width)
                .map(|i| row.get_ref(i).map_or(0, value_size))
                .sum();
            if bytes + size > MAX_RESULT_BYTES {
                size_capped = true;
                continue;
            }
            bytes += size;
            let values = (0..width)
                .map(|i| row.get_ref(i).map(json_value).map_err(sql_error))
                .collect::<Result<Vec<_>, _>>()?;
            rows.push(values);
        }
    }
    Ok(QueryResult {
        columns,
        rows,
        total_rows,
        tables: Vec::new(),
        size_capped,
    })
}
