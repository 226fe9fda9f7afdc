//! Values crossing the JS boundary, through serde-wasm-bindgen, once per call.

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

use crate::error::SandboxError;

/// A Rust value as a plain JS value (objects, not `Map`s; numbers, not `BigInt`s).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, SandboxError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| SandboxError::bad_input("result", e.to_string()))
}

/// A JS value as a Rust value; `what` names the argument in the error.
pub fn from_js<T: DeserializeOwned>(value: JsValue, what: &str) -> Result<T, SandboxError> {
    serde_wasm_bindgen::from_value(value).map_err(|e| SandboxError::bad_input(what, e.to_string()))
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
