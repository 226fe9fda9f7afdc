//! The CRUD table beside the log, as JS sees it: `crudRows`, `crudRead`, `crudExecute` and
//! `crudReset` (where the table lives: `crud_place`).

use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::class::JsSandbox;
use super::convert::{from_json, options};
use super::runtime::{now, promise};
use crate::crud::CrudRow;

/// Options of `crudExecute`.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CrudOptions {
    /// The row as the writer read it earlier (default: as it is now).
    #[serde(default)]
    read: Option<serde_json::Value>,
}

#[wasm_bindgen(js_class = Sandbox)]
impl JsSandbox {
    /// The CRUD table: one row per aggregate, its last state, overwritten in place.
    #[wasm_bindgen(js_name = crudRows, unchecked_return_type = "Promise<CrudRow[]>")]
    pub fn crud_rows(&self) -> js_sys::Promise {
        let (sandbox, crud) = (Rc::clone(&self.inner), Rc::clone(&self.crud));
        promise(self.guarded(async move {
            let table = crud.table(&sandbox, now()).await?;
            Ok(table.rows().cloned().collect::<Vec<CrudRow>>())
        }))
    }

    /// One CRUD row as it is now (`undefined` if there is none): what a CRUD writer reads
    /// before it decides.
    #[wasm_bindgen(js_name = crudRead, unchecked_return_type = "Promise<CrudRow | undefined>")]
    pub fn crud_read(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
    ) -> js_sys::Promise {
        let (sandbox, crud) = (Rc::clone(&self.inner), Rc::clone(&self.crud));
        promise(self.guarded(async move {
            let table = crud.table(&sandbox, now()).await?;
            Ok(table.row(&aggregate_id).cloned())
        }))
    }

    /// Runs a command on the CRUD table only: the rules decide on `{ read }` (the row as read
    /// earlier; default: as it is now) and the row is overwritten with the result, whatever was
    /// written meanwhile. A refusal rejects like `execute`'s and writes nothing.
    #[wasm_bindgen(js_name = crudExecute, unchecked_return_type = "Promise<CrudRow>")]
    pub fn crud_execute(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
        command: String,
        #[wasm_bindgen(unchecked_param_type = "object | undefined")] payload: JsValue,
        #[wasm_bindgen(unchecked_param_type = "{ read?: unknown } | undefined")]
        crud_options: JsValue,
    ) -> js_sys::Promise {
        let payload = if payload.is_undefined() || payload.is_null() {
            Ok(serde_json::json!({}))
        } else {
            from_json::<serde_json::Value>(payload, "payload")
        };
        let crud_options: Result<CrudOptions, _> = options(crud_options, "CRUD options");
        let (sandbox, crud) = (Rc::clone(&self.inner), Rc::clone(&self.crud));
        promise(self.guarded(async move {
            let (payload, read) = (payload?, crud_options?.read);
            let mut table = crud.table(&sandbox, now()).await?;
            let row = table
                .execute(
                    sandbox.domain(),
                    &aggregate_id,
                    &command,
                    &payload,
                    read.as_ref(),
                    now(),
                )?
                .clone();
            crud.save(&table)?;
            Ok(row)
        }))
    }

    /// Fills the CRUD table again from the log's current states; resolves to its rows.
    #[wasm_bindgen(js_name = crudReset, unchecked_return_type = "Promise<CrudRow[]>")]
    pub fn crud_reset(&self) -> js_sys::Promise {
        let (sandbox, crud) = (Rc::clone(&self.inner), Rc::clone(&self.crud));
        promise(self.guarded(async move {
            crud.clear();
            let table = crud.table(&sandbox, now()).await?;
            Ok(table.rows().cloned().collect::<Vec<CrudRow>>())
        }))
    }
}
