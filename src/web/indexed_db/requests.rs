//! A thin async layer over web-sys IndexedDB: requests and transactions as futures, errors as
//! `DOMException` names.
//!
//! Futures resume in a microtask of the success event, so a transaction stays active across
//! awaits on its own requests. Never await anything else while a transaction is open.

use std::cell::RefCell;
use std::rc::Rc;

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
    fired(listen_for(target, names)).await
}

/// Listens from now on for the first of several events on `target`.
fn listen_for(target: &web_sys::EventTarget, names: &[&str]) -> wasm_bindgen_futures::JsFuture {
    let list = js_sys::Array::new();
    for name in names {
        list.push(&JsValue::from_str(name));
    }
    wasm_bindgen_futures::JsFuture::from(first_event_promise(target, &list))
}

/// The index of the event that fired.
async fn fired(listening: wasm_bindgen_futures::JsFuture) -> usize {
    listening
        .await
        .ok()
        .and_then(|index| index.as_f64())
        .map_or(usize::MAX, |index| index as usize)
}

/// Waits for a request's result.
pub async fn request(request: &IdbRequest) -> Result<JsValue, IdbError> {
    listen(request).await
}

/// A request's result, listened for from the moment this is called, however much later it is
/// awaited: a request awaited after the thread was given back may have answered meanwhile, and
/// an answer nobody listened for is lost.
pub fn listen(request: &IdbRequest) -> impl Future<Output = Result<JsValue, IdbError>> + use<> {
    let listening = listen_for(request, &["success", "error"]);
    let request = request.clone();
    async move {
        match fired(listening).await {
            0 => request.result().map_err(IdbError::from_js),
            _ => Err(request
                .error()
                .ok()
                .flatten()
                .map(|e| IdbError::from_js(e.into()))
                .unwrap_or_else(|| IdbError::named("UnknownError", "the request failed"))),
        }
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

/// What an upgrade does besides creating missing object stores: runs in the `versionchange`
/// transaction (for a change every other connection must be closed for, such as cutting a store
/// back).
pub type Upgrade = Box<dyn FnOnce(&IdbTransaction)>;

/// An open database that closes itself when another tab upgrades or deletes it, so that tab is
/// never blocked, and says why on this side's next operation.
pub struct Database {
    name: String,
    db: Rc<RefCell<Option<IdbDatabase>>>,
    closed: Rc<RefCell<Option<String>>>,
    _on_version_change: Closure<dyn FnMut(web_sys::IdbVersionChangeEvent)>,
}

impl Database {
    /// Opens a database at its current version, creating it with these object stores, or adding
    /// those it lacks in an upgrade.
    pub async fn open(name: &str, stores: &[&'static str]) -> Result<Self, IdbError> {
        let db = open_database(name, None, stores, None).await?;
        let names = db.object_store_names();
        if stores.iter().all(|store| names.contains(store)) {
            return Ok(Self::watch(name, db));
        }
        let version = db.version() as u32 + 1;
        db.close();
        let db = open_database(name, Some(version), stores, None).await?;
        Ok(Self::watch(name, db))
    }

    /// Upgrades a database to its next version, running `upgrade` in the upgrade's transaction:
    /// every other connection (other tabs' included) is closed first. The connection is closed
    /// again when it is done.
    pub async fn upgrade(
        name: &str,
        stores: &[&'static str],
        upgrade: Upgrade,
    ) -> Result<(), IdbError> {
        let current = open_database(name, None, stores, None).await?;
        let version = current.version() as u32 + 1;
        current.close();
        let db = open_database(name, Some(version), stores, Some(upgrade)).await?;
        db.close();
        Ok(())
    }

    fn watch(name: &str, db: IdbDatabase) -> Self {
        let shared = Rc::new(RefCell::new(Some(db.clone())));
        let closed = Rc::new(RefCell::new(None));
        let on_version_change = {
            let shared = Rc::clone(&shared);
            let closed = Rc::clone(&closed);
            Closure::<dyn FnMut(web_sys::IdbVersionChangeEvent)>::new(move |_| {
                if let Some(db) = shared.borrow_mut().take() {
                    db.close();
                }
                *closed.borrow_mut() =
                    Some("another tab is upgrading or deleting this store; reload the page".into());
            })
        };
        db.set_onversionchange(Some(on_version_change.as_ref().unchecked_ref()));
        Database {
            name: name.to_string(),
            db: shared,
            closed,
            _on_version_change: on_version_change,
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The connection, or why it was closed.
    pub fn connection(&self) -> Result<IdbDatabase, String> {
        self.db.borrow().clone().ok_or_else(|| {
            self.closed
                .borrow()
                .clone()
                .unwrap_or_else(|| "the connection was closed".into())
        })
    }

    /// Closes the connection; later operations fail with `reason`.
    pub fn close(&self, reason: &str) {
        if let Some(db) = self.db.borrow_mut().take() {
            db.close();
        }
        self.closed
            .borrow_mut()
            .get_or_insert_with(|| reason.to_string());
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // The version-change handler dies with this value, so the connection must close now or
        // a later delete or upgrade would wait for it forever.
        if let Some(db) = self.db.borrow_mut().take() {
            db.set_onversionchange(None);
            db.close();
        }
    }
}

/// Deletes a database (other tabs' connections close themselves).
pub async fn delete_database(name: &str) -> Result<(), IdbError> {
    let deleting = factory()?
        .delete_database(name)
        .map_err(IdbError::from_js)?;
    request(&deleting).await.map(|_| ())
}

/// Opens a database (at its current version, or upgrading it to `version`), creating the missing
/// object stores in an upgrade and running `upgrade` there.
async fn open_database(
    name: &str,
    version: Option<u32>,
    stores: &[&'static str],
    upgrade: Option<Upgrade>,
) -> Result<IdbDatabase, IdbError> {
    let factory = factory()?;
    let request: web_sys::IdbOpenDbRequest = match version {
        Some(version) => factory.open_with_u32(name, version),
        None => factory.open(name),
    }
    .map_err(IdbError::from_js)?;
    let wanted: Vec<&'static str> = stores.to_vec();
    let mut upgrade = upgrade;
    let on_upgrade = Closure::<dyn FnMut(web_sys::IdbVersionChangeEvent)>::new({
        let request = request.clone();
        move |_: web_sys::IdbVersionChangeEvent| {
            let Ok(db) = request.result().and_then(|r| r.dyn_into::<IdbDatabase>()) else {
                return;
            };
            let names = db.object_store_names();
            for store in &wanted {
                if !names.contains(store) {
                    // A failure here aborts the upgrade, which fails the open request.
                    let _ = db.create_object_store(store);
                }
            }
            if let (Some(upgrade), Some(tx)) = (upgrade.take(), request.transaction()) {
                upgrade(&tx);
            }
        }
    });
    request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    // A tab holding the database open that does not close would delay the open forever; ours
    // close on `versionchange`. Report `blocked` as an error instead of hanging.
    let fired = first_event(&request, &["success", "error", "blocked"]).await;
    request.set_onupgradeneeded(None);
    let result = match fired {
        0 => request.result().map_err(IdbError::from_js),
        1 => Err(request
            .error()
            .ok()
            .flatten()
            .map(|e| IdbError::from_js(e.into()))
            .unwrap_or_else(|| IdbError::named("UnknownError", "the open request failed"))),
        _ => {
            // If the open completes later, close that connection: nobody is waiting for it.
            let late = request.clone();
            let close_late = Closure::once_into_js(move |_: web_sys::Event| {
                if let Ok(db) = late.result().and_then(|r| r.dyn_into::<IdbDatabase>()) {
                    db.close();
                }
            });
            request.set_onsuccess(Some(close_late.unchecked_ref()));
            Err(IdbError::named(
                "BlockedError",
                "another tab holds this store open and does not let go; close it and try again",
            ))
        }
    };
    result?
        .dyn_into::<IdbDatabase>()
        .map_err(|_| IdbError::named("UnknownError", "open did not return a database"))
}
