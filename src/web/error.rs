//! Sandbox errors as JS `Error` objects with a machine-readable `kind` and `details`: the
//! message is the error's text, `kind` its [`ErrorKind`](crate::ErrorKind) string, and
//! `details` the error's own fields, serialised (`{ aggregateId, expected, actual }` for a
//! conflict, …).

use wasm_bindgen::JsValue;

use super::convert::to_js;
use crate::sandbox::SandboxError;

impl From<SandboxError> for JsValue {
    fn from(error: SandboxError) -> Self {
        let js = js_sys::Error::new(&error.to_string());
        js.set_name("SandboxError");
        let details = to_js(&error).unwrap_or(JsValue::NULL);
        // Setting properties on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(&js, &"kind".into(), &error.kind().as_str().into());
        let _ = js_sys::Reflect::set(&js, &"details".into(), &details);
        js.into()
    }
}

/// The lower layers' errors reach JS as the sandbox error they convert to.
macro_rules! into_js_error {
    ($($error:ty),*) => {
        $(impl From<$error> for JsValue {
            fn from(error: $error) -> Self {
                SandboxError::from(error).into()
            }
        })*
    };
}

into_js_error!(
    crate::domain::DomainError,
    crate::write_side::WriteSideError,
    crate::store::StoreError,
    crate::scenario::ScenarioError
);
