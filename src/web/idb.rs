//! A thin async layer over web-sys IndexedDB: requests and transactions as futures, errors as
//! `DOMException` names.
//!
//! Futures resume in a microtask of the success event, so a transaction stays active across
//! awaits on its own requests. Never await anything else while a transaction is open.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{DomException, IdbDatabase, IdbFactory, IdbRequest, IdbTransaction};

#[wasm_bindgen]
extern "C" {
    /// `IDBDatabase`, seen through the one method below.
    #[wasm_bindgen(js_name = IDBDatabase)]
    type DatabaseWithOptions;

    /// `IDBDatabase.transaction(stores, mode, options)`, with the durability option that web-sys
    /// offers only behind an unstable flag.
    #[wasm_bindgen(method, catch, js_name = transaction)]
    fn transaction_with_options(
        this: &DatabaseWithOptions,
        stores: &JsValue,
        mode: &str,
        options: &JsValue,
    ) -> Result<IdbTransaction, JsValue>;

    /// `IDBTransaction`, seen through `commit()` (which web-sys marks deprecated).
    #[wasm_bindgen(js_name = IDBTransaction)]
    type CommittableTransaction;

    /// `IDBTransaction.commit()`: commit once the requests made so far are done, without
    /// waiting for the task to end.
    #[wasm_bindgen(method, catch, js_name = commit)]
    fn commit(this: &CommittableTransaction) -> Result<(), JsValue>;
}

/// Asks a transaction to commit as soon as its requests are done. Browsers without `commit()`
/// commit at the end of the task anyway, so a failure here changes nothing.
pub fn commit_soon(transaction: &IdbTransaction) {
    let _ = transaction
        .unchecked_ref::<CommittableTransaction>()
        .commit();
}

/// A failed IndexedDB operation: the `DOMException` name (`ConstraintError`,
/// `QuotaExceededError`, `AbortError`, …) and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdbError {
    /// The exception's name.
    pub name: String,
    /// Its message.
    pub message: String,
}

impl IdbError {
    /// Reads a thrown value or a `DOMException`.
    pub fn from_js(value: JsValue) -> Self {
        match value.dyn_into::<DomException>() {
            Ok(exception) => IdbError {
                name: exception.name(),
                message: exception.message(),
            },
            Err(other) => IdbError {
                name: "Error".into(),
                message: other
                    .dyn_ref::<js_sys::Error>()
                    .map(|e| String::from(e.message()))
                    .or_else(|| other.as_string())
                    .unwrap_or_else(|| "unknown error".into()),
            },
        }
    }

    /// An error with a given name.
    pub fn named(name: &str, message: &str) -> Self {
        IdbError {
            name: name.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for IdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

/// The global `indexedDB` (in a window or a worker).
pub fn factory() -> Result<IdbFactory, IdbError> {
    js_sys::Reflect::get(&js_sys::global(), &"indexedDB".into())
        .ok()
        .and_then(|f| f.dyn_into::<IdbFactory>().ok())
        .ok_or_else(|| IdbError::named("NotSupportedError", "IndexedDB is not available here"))
}

#[wasm_bindgen(inline_js = "
export function firstEvent(target, names) {
  return new Promise((resolve) => {
    const handlers = names.map((name, index) => [name, () => {
      for (const [n, h] of handlers) target.removeEventListener(n, h);
      resolve(index);
    }]);
    for (const [n, h] of handlers) target.addEventListener(n, h);
  });
}")]
extern "C" {
    /// A promise of the index of the first of `names` to fire on `target`; listeners are removed
    /// then. Written in JS so that each request costs no Rust closure.
    #[wasm_bindgen(js_name = firstEvent)]
    fn first_event_promise(target: &web_sys::EventTarget, names: &js_sys::Array)
    -> js_sys::Promise;
}

/// Waits until one of several events fires on `target` and returns its index in `names`.
pub async fn first_event(target: &web_sys::EventTarget, names: &[&str]) -> usize {
    let list = js_sys::Array::new();
    for name in names {
        list.push(&JsValue::from_str(name));
    }
    wasm_bindgen_futures::JsFuture::from(first_event_promise(target, &list))
        .await
        .ok()
        .and_then(|index| index.as_f64())
        .map_or(usize::MAX, |index| index as usize)
}

/// Waits for a request's result.
pub async fn request(request: &IdbRequest) -> Result<JsValue, IdbError> {
    let fired = first_event(request, &["success", "error"]).await;
    match fired {
        0 => request.result().map_err(IdbError::from_js),
        _ => Err(request
            .error()
            .ok()
            .flatten()
            .map(|e| IdbError::from_js(e.into()))
            .unwrap_or_else(|| IdbError::named("UnknownError", "the request failed"))),
    }
}

/// Waits for a transaction to commit; an abort is an error carrying the cause.
pub async fn committed(transaction: &IdbTransaction) -> Result<(), IdbError> {
    let fired = first_event(transaction, &["complete", "abort"]).await;
    if fired == 0 {
        return Ok(());
    }
    Err(transaction
        .error()
        .map(|e| IdbError::from_js(e.into()))
        .unwrap_or_else(|| IdbError::named("AbortError", "the transaction was aborted")))
}

/// Starts a transaction over some object stores. `durability` is `relaxed`, `strict` or `default`.
pub fn transaction(
    db: &IdbDatabase,
    stores: &[&str],
    readwrite: bool,
    durability: &str,
) -> Result<IdbTransaction, IdbError> {
    let names = js_sys::Array::new();
    for store in stores {
        names.push(&JsValue::from_str(store));
    }
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"durability".into(), &durability.into())
        .map_err(IdbError::from_js)?;
    let mode = if readwrite { "readwrite" } else { "readonly" };
    db.unchecked_ref::<DatabaseWithOptions>()
        .transaction_with_options(&names, mode, &options)
        .map_err(IdbError::from_js)
}
