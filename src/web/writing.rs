//! Writing to the log: commands the rules decide on, and raw appends; each pumps the news
//! after it (see `JsSandbox::committing`).

use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::class::JsSandbox;
use super::convert::{from_json, options};
use super::dto::{AppendOptions, AppendSummary};
use super::runtime::now;
use crate::write_side::{CommandOptions, CommandRequest, NewEvent};

#[wasm_bindgen(js_class = Sandbox)]
impl JsSandbox {
    /// Appends events as they are (bypassing command handlers), all or none.
    /// `options.expected`: `"any"` (default), `"noStream"`, `"exists"` or a version number.
    /// Resolves to where the batch landed (ids, versions, positions) and the state after it.
    #[wasm_bindgen(unchecked_return_type = "Promise<AppendSummary>")]
    pub fn append(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
        #[wasm_bindgen(unchecked_param_type = "NewEvent[]")] events: JsValue,
        #[wasm_bindgen(unchecked_param_type = "AppendOptions | undefined")] append: JsValue,
    ) -> js_sys::Promise {
        let events = from_json::<Vec<NewEvent>>(events, "events");
        let append: Result<AppendOptions, _> = options(append, "append options");
        let sandbox = Rc::clone(&self.inner);
        self.committing(
            async move {
                let expected = append?.expected;
                Ok(sandbox
                    .write()
                    .append(&aggregate_id, expected, events?, now())
                    .await?)
            },
            AppendSummary::from,
        )
    }

    /// Executes a command: the aggregate's handler decides, the events are appended.
    /// A business rule's refusal rejects with `kind: "businessRule"`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Committed>")]
    pub fn execute(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
        command: String,
        #[wasm_bindgen(unchecked_param_type = "object | undefined")] payload: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ExecuteOptions | undefined")] execute: JsValue,
    ) -> js_sys::Promise {
        let payload = if payload.is_undefined() || payload.is_null() {
            Ok(serde_json::Value::Object(Default::default()))
        } else {
            from_json::<serde_json::Value>(payload, "payload")
        };
        let execute: Result<CommandOptions, _> = options(execute, "execute options");
        let (sandbox, crud) = (Rc::clone(&self.inner), Rc::clone(&self.crud));
        self.committing(
            async move {
                let payload = payload?;
                let request = CommandRequest {
                    options: execute?,
                    ..CommandRequest::new(&aggregate_id, &command, payload.clone())
                };
                let committed = sandbox.write().execute(request, now()).await?;
                if !committed.already_stored && !committed.events.is_empty() {
                    crud.mirror(&sandbox, &aggregate_id, &command, &payload, now());
                }
                Ok(committed)
            },
            |committed| committed,
        )
    }

    /// Makes the next IndexedDB write abort its transaction: for tests of failed writes (only in
    /// a module built with the `test-hooks` feature).
    #[cfg(feature = "test-hooks")]
    #[wasm_bindgen(js_name = abortNextWrite, skip_typescript)]
    pub fn abort_next_write(&self) -> bool {
        self.inner.store().io().abort_write_after(0)
    }
}
