//! Working on a store without opening it, for one that does not open: delete it, export its raw
//! records, inspect how far its log is intact, keep the intact part.

use wasm_bindgen::prelude::*;

use super::class::JsSandbox;
use super::convert::required;
use super::dto::StoreRef;
use super::runtime::promise;
use super::store;
use crate::sandbox::SandboxError;

#[wasm_bindgen(js_class = Sandbox)]
impl JsSandbox {
    /// Deletes a store's data without opening it (for a store whose records do not decode).
    #[wasm_bindgen(js_name = destroyStore, unchecked_return_type = "Promise<void>")]
    pub fn destroy_store(
        #[wasm_bindgen(unchecked_param_type = "StoreRef")] store: JsValue,
    ) -> js_sys::Promise {
        let store: Result<StoreRef, _> = required(store, "store");
        promise(async move {
            let store = store?;
            Ok(store::destroy(store.storage, &store.name).await?)
        })
    }

    /// Every stored record of a store as JSON text: events where a record decodes, the raw
    /// content (text, base64 or JSON) and the reason where it does not, the commit record and
    /// the snapshots. `after`: only the records after that position. Works on stores that fail
    /// to open.
    #[wasm_bindgen(js_name = exportStore, unchecked_return_type = "Promise<string>")]
    pub fn export_store(
        #[wasm_bindgen(unchecked_param_type = "StoreRef & { after?: number }")] store: JsValue,
    ) -> js_sys::Promise {
        let store: Result<StoreRef, _> = required(store, "store");
        promise(async move {
            let store = store?;
            Ok(store::export(store.storage, &store.name, store.after).await?)
        })
    }

    /// How far a store's log is intact, without opening it: `{ committed, intactUpTo, problem,
    /// records, recordsAfter }`.
    #[wasm_bindgen(js_name = inspectStore, unchecked_return_type = "Promise<Inspection>")]
    pub fn inspect_store(
        #[wasm_bindgen(unchecked_param_type = "StoreRef")] store: JsValue,
    ) -> js_sys::Promise {
        let store: Result<StoreRef, _> = required(store, "store");
        promise(async move {
            let store = store?;
            Ok(store::inspect(store.storage, &store.name).await?)
        })
    }

    /// Keeps a store's log up to `keep` (the end of a record of its intact log) and deletes the
    /// records after it: the way out of a store that does not open without losing what is good.
    /// Resolves to the store's new inspection.
    #[wasm_bindgen(js_name = truncateStore, unchecked_return_type = "Promise<Inspection>")]
    pub fn truncate_store(
        #[wasm_bindgen(unchecked_param_type = "StoreRef & { keep: number }")] store: JsValue,
    ) -> js_sys::Promise {
        let store: Result<StoreRef, _> = required(store, "store");
        promise(async move {
            let store = store?;
            let keep = store.keep.ok_or_else(|| {
                SandboxError::bad_input("store", "give `keep`: the last position to keep")
            })?;
            Ok(store::truncate(store.storage, &store.name, keep).await?)
        })
    }
}
