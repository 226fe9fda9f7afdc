//! The CRUD table beside the log, as JS sees it: `crudRows`, `crudRead`, `crudExecute` and
//! `crudReset`. A memory sandbox keeps the table in memory; the others keep it in one
//! localStorage key that every tab reads and overwrites whole, as a CRUD row is (so two tabs
//! can lose each other's updates: that is the lesson).

use std::cell::RefCell;
use std::rc::Rc;

use gloo_storage::{LocalStorage, Storage};
use wasm_bindgen::prelude::*;

use super::class::{JsSandbox, promise};
use super::convert::{from_json, options};
use super::store::{Backend, BrowserStore};
use crate::crud::{CrudRow, CrudTable};
use crate::event::Timestamp;
use crate::replay::ReplayOptions;
use crate::sandbox::Sandbox;
use crate::sandbox::SandboxError;
use crate::store::StoreError;

/// Where a sandbox's CRUD table lives.
pub enum CrudPlace {
    /// In this sandbox only (a memory store).
    Memory(RefCell<Option<CrudTable>>),
    /// Under this localStorage key, shared by the tabs.
    Local(String),
}

/// Options of `crudExecute`.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CrudOptions {
    /// The row as the writer read it earlier (default: as it is now).
    #[serde(default)]
    read: Option<serde_json::Value>,
}

impl CrudPlace {
    /// The place for a store.
    pub fn for_store(backend: Backend, name: &str) -> Self {
        match backend {
            Backend::Memory => CrudPlace::Memory(RefCell::new(None)),
            // Outside the store's own keys, which must hold nothing but its log.
            other => CrudPlace::Local(format!("es-sandbox-crud/{}/{name}", other.as_str())),
        }
    }

    fn load(&self) -> Result<Option<CrudTable>, SandboxError> {
        match self {
            CrudPlace::Memory(table) => Ok(table.borrow().clone()),
            CrudPlace::Local(key) => match LocalStorage::raw().get_item(key) {
                Ok(Some(text)) => Ok(CrudTable::from_json(&text).map(Some)?),
                Ok(None) => Ok(None),
                Err(_) => Err(unavailable()),
            },
        }
    }

    fn save(&self, table: &CrudTable) -> Result<(), SandboxError> {
        match self {
            CrudPlace::Memory(slot) => {
                slot.replace(Some(table.clone()));
                Ok(())
            }
            CrudPlace::Local(key) => LocalStorage::raw()
                .set_item(key, &table.to_json())
                .map_err(|_| unavailable()),
        }
    }

    /// Forgets the table: the next look fills it from the log again.
    pub fn clear(&self) {
        match self {
            CrudPlace::Memory(slot) => {
                slot.replace(None);
            }
            CrudPlace::Local(key) => {
                let _ = LocalStorage::raw().remove_item(key);
            }
        }
    }

    /// The table, filled from the log's current states the first time (as if the CRUD system
    /// had been migrated from it); from then on only commands move it.
    async fn table(
        &self,
        sandbox: &Sandbox<BrowserStore>,
        now: Timestamp,
    ) -> Result<CrudTable, SandboxError> {
        if let Some(table) = self.load()? {
            return Ok(table);
        }
        let mut table = CrudTable::default();
        for stream in sandbox.write().streams().await? {
            let replay = sandbox
                .write()
                .replay(&stream.aggregate_id, &ReplayOptions::default())
                .await?;
            table.put(&stream.aggregate_id, replay.state, now);
        }
        self.save(&table)?;
        Ok(table)
    }

    /// Applies a command the log accepted to the CRUD row too, if the table is in use: the same
    /// commands drive both. A refusal here (the row went its own way) leaves the row as it is.
    pub fn mirror(
        &self,
        sandbox: &Sandbox<BrowserStore>,
        aggregate_id: &str,
        command: &str,
        payload: &serde_json::Value,
        now: Timestamp,
    ) {
        if let Ok(Some(mut table)) = self.load()
            && table
                .execute(sandbox.domain(), aggregate_id, command, payload, None, now)
                .is_ok()
        {
            let _ = self.save(&table);
        }
    }
}

fn unavailable() -> SandboxError {
    StoreError::Backend {
        backend: "localStorage",
        operation: "keep the CRUD table",
        message: "localStorage is not available here".into(),
    }
    .into()
}

fn now() -> Timestamp {
    js_sys::Date::now() as Timestamp
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
