//! Reading the log: replays (time travel and what-if), snapshots, events in position order, the
//! head and the streams.

use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::class::JsSandbox;
use super::convert::{options, required};
use super::runtime::promise;
use crate::replay::ReplayOptions;
use crate::store::{EventStore, ReadAll};

#[wasm_bindgen(js_class = Sandbox)]
impl JsSandbox {
    /// Replays an aggregate: `{ version?, time?, exclude?: eventId[], trace?, useSnapshots? }`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Replay>")]
    pub fn replay(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
        #[wasm_bindgen(unchecked_param_type = "ReplayOptions | undefined")] replay: JsValue,
    ) -> js_sys::Promise {
        let replay: Result<ReplayOptions, _> = options(replay, "replay options");
        let sandbox = Rc::clone(&self.inner);
        promise(
            self.guarded(async move { Ok(sandbox.write().replay(&aggregate_id, &replay?).await?) }),
        )
    }

    /// Takes a snapshot of an aggregate at its last version.
    #[wasm_bindgen(unchecked_return_type = "Promise<Snapshot>")]
    pub fn snapshot(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
    ) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        promise(self.guarded(async move { Ok(sandbox.write().snapshot(&aggregate_id).await?) }))
    }

    /// An aggregate's snapshots, oldest first.
    #[wasm_bindgen(unchecked_return_type = "Promise<Snapshot[]>")]
    pub fn snapshots(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
    ) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        promise(self.guarded(async move { Ok(sandbox.write().snapshots(&aggregate_id).await?) }))
    }

    /// Events in position order: `{ fromPosition?, limit? (1000), eventTypes?, aggregateId? }`.
    #[wasm_bindgen(unchecked_return_type = "Promise<StoredEvent[]>")]
    pub fn events(
        &self,
        #[wasm_bindgen(unchecked_param_type = "EventQuery | undefined")] query: JsValue,
    ) -> js_sys::Promise {
        let query = if query.is_undefined() || query.is_null() {
            Ok(ReadAll::from_position(1, 1_000))
        } else {
            required::<ReadAll>(query, "event query")
        };
        let sandbox = Rc::clone(&self.inner);
        promise(self.guarded(async move { Ok(sandbox.write().events(&query?).await?) }))
    }

    /// Position of the last event in the log (0 when empty).
    #[wasm_bindgen(js_name = headPosition, unchecked_return_type = "Promise<number>")]
    pub fn head_position(&self) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        promise(self.guarded(async move { Ok(sandbox.store().head_position().await?) }))
    }

    /// Every aggregate in the store with its version.
    #[wasm_bindgen(unchecked_return_type = "Promise<StreamInfo[]>")]
    pub fn streams(&self) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        promise(self.guarded(async move { Ok(sandbox.write().streams().await?) }))
    }
}
