//! The `Sandbox` class JS uses: the open sandbox, its store's news and read model, and what
//! every method shares (failing once closed, pumping the news after a write). The methods are
//! one file per concept, each importing this class: `opening`, `writing`, `reading`,
//! `subscribing`, `describing`, and beyond them `read_model`, `teaching`, `crud`,
//! `interchange` and `recovery`.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::browser_segments::{Backend, BrowserStore};
use super::crud_place::CrudPlace;
use super::indexed_db::Durability;
use super::news::Newsroom;
use super::runtime::promise;
use crate::sandbox::{Sandbox, SandboxError};
use crate::store::StoreError;
use crate::write_side::Committed;

/// An event-sourcing sandbox: a scenario's rules over an event store.
#[wasm_bindgen(js_name = Sandbox)]
pub struct JsSandbox {
    pub(super) inner: Rc<Sandbox<BrowserStore>>,
    pub(super) news: Rc<Newsroom>,
    #[cfg(feature = "read-model")]
    pub(super) projecting: Rc<super::read_model::projecting::Projecting>,
    pub(super) crud: Rc<CrudPlace>,
    pub(super) backend: Backend,
    pub(super) durability: Durability,
    pub(super) name: String,
    /// Set by `close`: every method fails from then on.
    pub(super) closed: Cell<bool>,
}

impl JsSandbox {
    /// Fails once the sandbox was closed.
    pub(super) fn guard(&self) -> Result<(), SandboxError> {
        if self.closed.get() {
            return Err(StoreError::Closed {
                reason: "the sandbox was closed; open it again".into(),
            }
            .into());
        }
        Ok(())
    }

    /// An operation that fails at once if the sandbox was closed.
    pub(super) fn guarded<F, T>(
        &self,
        operation: F,
    ) -> impl Future<Output = Result<T, SandboxError>> + 'static
    where
        F: Future<Output = Result<T, SandboxError>> + 'static,
    {
        let closed = self.guard();
        async move {
            closed?;
            operation.await
        }
    }

    /// Runs an operation that stores events, then pumps the news (to subscribers, the read model
    /// and other tabs: even a failed append may have read other tabs' events on the way), and
    /// turns the outcome into its JS shape.
    pub(super) fn committing<F, T>(
        &self,
        operation: F,
        shape: fn(Committed) -> T,
    ) -> js_sys::Promise
    where
        F: Future<Output = Result<Committed, SandboxError>> + 'static,
        T: serde::Serialize + 'static,
    {
        let news = Rc::clone(&self.news);
        promise(self.guarded(async move {
            let outcome = operation.await;
            news.pump();
            Ok(shape(outcome?))
        }))
    }
}

#[wasm_bindgen(js_class = Sandbox)]
impl JsSandbox {
    /// Stops the work now running through slow rules (a replay, a generation): it ends with
    /// the slow function's error, and nothing is half-written. Work that starts later runs.
    #[wasm_bindgen(js_name = stopSlowWork)]
    pub fn stop_slow_work(&self) {
        self.inner.domain().pacer().stop();
    }

    /// Closes the store and stops notifications; every later call fails, saying so.
    pub fn close(&self) {
        self.closed.set(true);
        self.news.close();
        self.inner.store().io().close("the sandbox was closed");
    }

    /// Closes the store and deletes its data.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn destroy(&self) -> js_sys::Promise {
        self.close();
        self.crud.clear();
        let (backend, name) = (self.backend, self.name.clone());
        promise(async move { Ok(super::store::destroy(backend, &name).await?) })
    }
}
