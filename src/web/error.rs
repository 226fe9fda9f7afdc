//! Sandbox errors as JS `Error` objects with a machine-readable `kind` and `details`.

use serde_json::{Value, json};
use wasm_bindgen::JsValue;

use crate::error::SandboxError;
use crate::projection::{ProjectionError, QueryError};
use crate::scenario::ScenarioError;
use crate::store::StoreError;

/// Turns an error into a JS `Error` whose `name` is `SandboxError`, `kind` is the
/// [`ErrorKind`](crate::ErrorKind) string and `details` holds the error's data.
pub fn to_js_error(error: SandboxError) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    js.set_name("SandboxError");
    let details = super::convert::to_js(&details(&error)).unwrap_or(JsValue::NULL);
    // Setting properties on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&js, &"kind".into(), &error.kind().as_str().into());
    let _ = js_sys::Reflect::set(&js, &"details".into(), &details);
    js.into()
}

/// The data of an error, for programs that react to it.
fn details(error: &SandboxError) -> Value {
    match error {
        SandboxError::Rejected {
            aggregate_id,
            command,
            message,
        } => json!({ "aggregateId": aggregate_id, "command": command, "message": message }),
        SandboxError::Store(store) => match store {
            StoreError::Conflict {
                aggregate_id,
                expected,
                actual,
            } => json!({ "aggregateId": aggregate_id, "expected": expected, "actual": actual }),
            StoreError::DuplicateInBatch { event_id } => json!({ "eventId": event_id }),
            StoreError::EventIdReused { event_id, position }
            | StoreError::PartlyStored { event_id, position } => {
                json!({ "eventId": event_id, "position": position })
            }
            StoreError::Corrupt {
                store,
                key,
                reason,
                intact_up_to,
            } => {
                json!({ "store": store, "key": key, "reason": reason, "intactUpTo": intact_up_to })
            }
            StoreError::InvalidEvent { index, source } => {
                json!({ "index": index, "reason": source.to_string() })
            }
            _ => Value::Null,
        },
        SandboxError::Script(script) | SandboxError::Scenario(ScenarioError::Script(script)) => {
            serde_json::to_value(script).unwrap_or(Value::Null)
        }
        SandboxError::Scenario(ScenarioError::Json { line, column, .. }) => {
            json!({ "line": line, "column": column })
        }
        SandboxError::UnknownCommand { known, .. }
        | SandboxError::UnknownEventType { known, .. } => {
            json!({ "known": known })
        }
        SandboxError::VersionOutOfRange { asked, head, .. } => {
            json!({ "asked": asked, "head": head })
        }
        SandboxError::InvalidEvent { index, .. } => json!({ "index": index }),
        SandboxError::Query(query) => match query {
            QueryError::Refused { reason } => json!({ "refused": reason }),
            QueryError::Sql { message } => json!({ "sqlite": message }),
            QueryError::Interrupted { limit_ms } => json!({ "limitMs": limit_ms }),
            QueryError::Empty => Value::Null,
        },
        SandboxError::Projection(
            ProjectionError::Definition {
                projection,
                message,
            }
            | ProjectionError::Sql {
                projection,
                message,
            },
        ) => json!({ "projection": projection, "message": message }),
        _ => Value::Null,
    }
}
