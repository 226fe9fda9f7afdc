//! A thin async layer over web-sys IndexedDB: requests and transactions as futures, errors as
//! `DOMException` names.
//!
//! Futures resume in a microtask of the success event, so a transaction stays active across
//! awaits on its own requests. Never await anything else while a transaction is open.

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::oneshot;
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

/// Sets (or, with `None`, removes) one event handler, such as `request.set_onsuccess`.
pub type HandlerSetter<'a> = dyn Fn(Option<&js_sys::Function>) + 'a;

/// Waits until one of several event handlers fires and returns its index. The handlers are
/// removed afterwards, so nothing leaks.
pub async fn first_event(setters: &[&HandlerSetter<'_>]) -> usize {
    let (sender, receiver) = oneshot::channel::<usize>();
    let sender = Rc::new(RefCell::new(Some(sender)));
    let handlers: Vec<Closure<dyn FnMut(web_sys::Event)>> = (0..setters.len())
        .map(|index| {
            let sender = Rc::clone(&sender);
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
                if let Some(sender) = sender.borrow_mut().take() {
                    let _ = sender.send(index);
                }
            })
        })
        .collect();
    for (set, handler) in setters.iter().zip(&handlers) {
        set(Some(handler.as_ref().unchecked_ref()));
    }
    // The sender lives in the handlers, which live until here: it cannot be dropped unsent.
    let index = receiver.await.unwrap_or(usize::MAX);
    for set in setters {
        set(None);
    }
    index
}

/// Waits for a request's result.
pub async fn request(request: &IdbRequest) -> Result<JsValue, IdbError> {
    let fired = first_event(&[&|f| request.set_onsuccess(f), &|f| request.set_onerror(f)]).await;
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
    let fired = first_event(&[&|f| transaction.set_oncomplete(f), &|f| {
        transaction.set_onabort(f)
    }])
    .await;
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
