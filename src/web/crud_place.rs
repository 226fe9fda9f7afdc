//! Where a sandbox's CRUD table lives: in memory for a memory store; otherwise in one
//! localStorage key outside the store's own keys, that every tab reads and overwrites whole, as
//! a CRUD row is (so two tabs can lose each other's updates: that is the lesson).

use std::cell::RefCell;

use gloo_storage::{LocalStorage, Storage};

use super::browser_segments::{Backend, BrowserStore};
use crate::crud::CrudTable;
use crate::event::Timestamp;
use crate::replay::ReplayOptions;
use crate::sandbox::{Sandbox, SandboxError};
use crate::store::StoreError;

/// Where a sandbox's CRUD table lives.
pub enum CrudPlace {
    /// In this sandbox only (a memory store).
    Memory(RefCell<Option<CrudTable>>),
    /// Under this localStorage key, shared by the tabs.
    Local(String),
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

    pub fn save(&self, table: &CrudTable) -> Result<(), SandboxError> {
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
    pub async fn table(
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
