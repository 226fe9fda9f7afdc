//! A browser store's life outside a sandbox: its name checked, what it survives, opening it,
//! and for a store that does not open, deleting it, inspecting it, keeping its intact part and
//! exporting its raw records, over whichever backend holds it.

use serde::Serialize;

use super::browser_segments::{Backend, BrowserSegments, BrowserStore};
use super::indexed_db::{Durability, IdbSegments};
use super::local_storage;
use crate::store::{Inspection, SegmentedStore, StoreError, export_raw};

/// Checks a store name: 1 to 64 ASCII letters, digits, `.`, `_` or `-`.
pub fn check_store_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadName {
            name: name.chars().take(80).collect(),
        })
    }
}

/// What a store survives, measured by killing the browser mid-write (see the README).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Durable {
    /// A reload, or closing the tab.
    pub tab_close: bool,
    /// The browser process being killed (a crash).
    pub browser_kill: bool,
    /// The operating system crashing or the power failing.
    pub os_crash: bool,
    /// The same in a sentence, for people.
    pub summary: &'static str,
}

impl Durable {
    /// What a backend survives with a durability setting, in a page served over the network or
    /// opened from a file (`file://`).
    pub fn of(kind: Backend, durability: Durability, page: PageOrigin) -> Self {
        let (tab_close, browser_kill, os_crash, summary) = match (kind, durability) {
            (Backend::Memory, _) => (
                false,
                false,
                false,
                "nothing survives a reload: the events live in this tab's memory",
            ),
            // Measured (README, "localStorage from file://"): Chromium dropped every localStorage
            // write of a file:// page on 12 of 140 reloads, even 4 s after the writes, and none
            // of the same page served over http (0 of 60).
            (Backend::LocalStorage, _) if page == PageOrigin::File => (
                false,
                false,
                false,
                "from a page opened as a file (file://), Chromium now and then drops every localStorage write the page made when it is reloaded (about 1 reload in 10 here), and the store then says which events were lost; IndexedDB keeps them",
            ),
            (Backend::LocalStorage, _) => (
                true,
                false,
                false,
                "survives reloads and closed tabs; if the browser is killed, appends of its last seconds may be lost (Chromium writes localStorage to disk late) and the store then says which",
            ),
            (Backend::IndexedDb, Durability::Relaxed) => (
                true,
                true,
                false,
                "survives reloads, closed tabs and a killed browser; an OS crash or power loss may lose the last moments (relaxed durability). Now and then Chromium finds its IndexedDB data corrupt after a crash and deletes it all: the store then says so instead of opening empty",
            ),
            (Backend::IndexedDb, Durability::Strict) => (
                true,
                true,
                true,
                "survives reloads, closed tabs, a killed browser and an OS crash: every append waits for the disk (strict durability). Now and then Chromium finds its IndexedDB data corrupt after a crash and deletes it all: the store then says so instead of opening empty",
            ),
        };
        Durable {
            tab_close,
            browser_kill,
            os_crash,
            summary,
        }
    }
}

/// Where the page came from, which decides what localStorage survives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageOrigin {
    /// Served over http(s), or anything but a file.
    Served,
    /// Opened from disk (`file://`): the single offline file.
    File,
}

impl PageOrigin {
    /// The origin of the page (or worker) this module runs in.
    pub fn current() -> Self {
        let protocol = js_sys::Reflect::get(&js_sys::global(), &"location".into())
            .and_then(|location| js_sys::Reflect::get(&location, &"protocol".into()))
            .ok()
            .and_then(|protocol| protocol.as_string());
        if protocol.as_deref() == Some("file:") {
            PageOrigin::File
        } else {
            PageOrigin::Served
        }
    }
}

/// Opens a store and reads its log.
pub async fn open(
    kind: Backend,
    name: &str,
    durability: Durability,
) -> Result<BrowserStore, StoreError> {
    check_store_name(name)?;
    SegmentedStore::open(BrowserSegments::open(kind, name, durability).await?).await
}

/// Deletes a store's data without opening it (it may not decode).
pub async fn destroy(kind: Backend, name: &str) -> Result<(), StoreError> {
    check_store_name(name)?;
    match kind {
        Backend::Memory => Ok(()),
        Backend::LocalStorage => local_storage::delete(name).await,
        Backend::IndexedDb => IdbSegments::delete(name).await,
    }
}

/// Runs `work` on a store's storage opened without reading it, then closes it.
async fn without_opening<T>(
    kind: Backend,
    name: &str,
    what: &str,
    work: impl AsyncFnOnce(&BrowserSegments) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    check_store_name(name)?;
    let io = BrowserSegments::open(kind, name, Durability::Strict).await?;
    let done = work(&io).await;
    io.close(what);
    done
}

/// How far a store's log is intact and what follows, without opening it.
pub async fn inspect(kind: Backend, name: &str) -> Result<Inspection, StoreError> {
    without_opening(kind, name, "inspected", async |io| {
        crate::store::inspect(io).await
    })
    .await
}

/// Keeps a store's log up to `keep` (the end of a record of its intact log) and drops the rest.
pub async fn truncate(kind: Backend, name: &str, keep: u64) -> Result<Inspection, StoreError> {
    without_opening(kind, name, "truncated", async |io| {
        crate::store::truncate(io, keep).await
    })
    .await
}

/// Every stored record of a store as JSON text, decoded where possible and raw (text, base64 or
/// JSON) where not, without needing the store to open. With `after`, only the segments after
/// that position (what truncating to it would drop), and no snapshots.
pub async fn export(kind: Backend, name: &str, after: Option<u64>) -> Result<String, StoreError> {
    without_opening(kind, name, "exported", async |io| {
        Ok(export_raw(&io.raw_store(name).await?, after))
    })
    .await
}
