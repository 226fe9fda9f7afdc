//! How values cross the JS boundary. Two ways, each where it measured best:
//!
//! - Option objects (small, shaped by the caller) come in through `serde-wasm-bindgen`, which
//!   reads the JS object directly.
//! - Events and answers (bulk) cross as one JSON text per call, which the other side parses in
//!   one go. Measured in Chromium on 1,000-event batches: walking JS objects field by field
//!   (serde-wasm-bindgen) cost about 10 µs per event each way, mostly because event data is kept
//!   as JSON text and had to be parsed to be converted; `JSON.stringify`/`JSON.parse` plus
//!   serde_json cost about a tenth of that. A consequence: such values must be JSON (no
//!   `undefined` inside arrays, no `BigInt`, dates become strings).

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

use crate::sandbox::SandboxError;
use crate::scenario::{Scenario, shipped};

/// A Rust value as a plain JS value, through one JSON text.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, SandboxError> {
    let text = serde_json::to_string(value)
        .map_err(|e| SandboxError::bad_input("result", e.to_string()))?;
    js_sys::JSON::parse(&text).map_err(|_| SandboxError::bad_input("result", "not JSON"))
}

/// Bulk input (events, payloads, documents) as a Rust value, through one JSON text; `what`
/// names the argument in the error.
pub fn from_json<T: DeserializeOwned>(value: JsValue, what: &str) -> Result<T, SandboxError> {
    let text = js_sys::JSON::stringify(&value)
        .ok()
        .and_then(|t| t.as_string())
        .ok_or_else(|| {
            SandboxError::bad_input(
                what,
                "must be a JSON value (no BigInt, no cycles, not undefined)",
            )
        })?;
    serde_json::from_str(&text).map_err(|e| SandboxError::bad_input(what, strip_position(&e)))
}

/// An options object as a Rust value; `undefined` and `null` give the defaults.
pub fn options<T: DeserializeOwned + Default>(
    value: JsValue,
    what: &str,
) -> Result<T, SandboxError> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    required(value, what)
}

/// An options object that must be given.
pub fn required<T: DeserializeOwned>(value: JsValue, what: &str) -> Result<T, SandboxError> {
    serde_wasm_bindgen::from_value(value).map_err(|e| SandboxError::bad_input(what, e.to_string()))
}

/// serde_json's message without "at line 1 column 57", which means nothing to a JS caller.
fn strip_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message,
    }
}

/// Reads a scenario given as a shipped name, a JSON text or an object.
pub fn scenario_from(value: serde_json::Value) -> Result<Scenario, SandboxError> {
    match value {
        serde_json::Value::String(text) if text.trim_start().starts_with('{') => {
            Ok(Scenario::from_json(&text)?)
        }
        serde_json::Value::String(name) => Ok(shipped(&name)?),
        document => Ok(Scenario::from_json(&document.to_string())?),
    }
}
