//! Values crossing the JS boundary: once per call, as one JSON text that the other side parses
//! in one go.
//!
//! Measured in Chromium on 1,000-event batches: walking JS objects field by field
//! (serde-wasm-bindgen) cost about 10 µs per event each way, mostly because event data is kept as
//! JSON text and had to be parsed to be converted; `JSON.stringify`/`JSON.parse` plus serde_json
//! cost about a tenth of that. A consequence: values must be JSON (no `undefined` inside arrays,
//! no `BigInt`, dates become strings).

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

use crate::error::SandboxError;

/// A Rust value as a plain JS value.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, SandboxError> {
    let text = serde_json::to_string(value)
        .map_err(|e| SandboxError::bad_input("result", e.to_string()))?;
    js_sys::JSON::parse(&text).map_err(|_| SandboxError::bad_input("result", "not JSON"))
}

/// A JS value as a Rust value; `what` names the argument in the error.
pub fn from_js<T: DeserializeOwned>(value: JsValue, what: &str) -> Result<T, SandboxError> {
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

/// Like [`from_js`], but `undefined` and `null` give the default.
pub fn from_js_or_default<T: DeserializeOwned + Default>(
    value: JsValue,
    what: &str,
) -> Result<T, SandboxError> {
    if value.is_undefined() || value.is_null() {
        Ok(T::default())
    } else {
        from_js(value, what)
    }
}

/// serde_json's message without "at line 1 column 57", which means nothing to a JS caller.
fn strip_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message,
    }
}
