//! The witness of an IndexedDB store, kept outside IndexedDB: which incarnation of the store's
//! database holds its events, and how far it had acknowledged when last seen.
//!
//! Chromium deletes all of a site's IndexedDB data when it finds its database corrupt on
//! opening, which happens now and then after the browser is killed mid-write (measured here:
//! twice in about 130 kills), and says so only to the first open request afterwards
//! (`IDBVersionChangeEvent.dataLoss`). Every other store would then open empty and be seeded
//! again as if it were new, silently. So each database gets an incarnation id (in its `meta`
//! object store) at creation, and the same id is written to a file in the origin-private file
//! system, which lives apart from IndexedDB and is on disk once the write's `close()` resolves.
//! A database that has no id, or another one, while the file names one, was deleted and made
//! anew behind the store's back: the store reports it instead of opening. Where the file system
//! is missing (a `file://` page, an old browser) there is no witness, and no such check.

use std::cell::Cell;

use wasm_bindgen::prelude::*;

use crate::store::Head;

#[wasm_bindgen(inline_js = "
const DIRECTORY = 'es-sandbox-witness';
async function directory() {
  if (!globalThis.navigator?.storage?.getDirectory) return null;
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(DIRECTORY, { create: true });
}
const fileName = (name) => encodeURIComponent(name);
export async function readWitness(name) {
  try {
    const dir = await directory();
    if (!dir) return null;
    const file = await (await dir.getFileHandle(fileName(name))).getFile();
    return await file.text();
  } catch (error) {
    return null;
  }
}
export async function writeWitness(name, text, create) {
  try {
    const dir = await directory();
    if (!dir) return false;
    const writable = await (await dir.getFileHandle(fileName(name), { create })).createWritable();
    await writable.write(text);
    await writable.close();
    return true;
  } catch (error) {
    return false;
  }
}
export async function deleteWitness(name) {
  const dir = await directory().catch(() => null);
  if (!dir) return;
  // A witness being written (a commit just before) cannot be removed until it is closed.
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      await dir.removeEntry(fileName(name));
      return;
    } catch (error) {
      if (error?.name === 'NotFoundError') return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}")]
extern "C" {
    /// The witness file's text, or null when there is none (or no file system).
    #[wasm_bindgen(js_name = readWitness)]
    fn read_witness(name: &str) -> js_sys::Promise;
    /// Writes the witness file (creating it only if `create`); resolves to whether it was
    /// written.
    #[wasm_bindgen(js_name = writeWitness)]
    fn write_witness(name: &str, text: &str, create: bool) -> js_sys::Promise;
    /// Deletes the witness file, if there is one.
    #[wasm_bindgen(js_name = deleteWitness)]
    fn delete_witness(name: &str) -> js_sys::Promise;
}

/// What the witness of a database says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Witness {
    /// The id the database was given when it was created.
    pub incarnation: String,
    /// The last acknowledged head the witness saw (it may lag behind the store).
    pub head: Option<Head>,
}

/// Reads the witness of a database, if there is one that reads.
pub async fn read(database: &str) -> Option<Witness> {
    let text = wasm_bindgen_futures::JsFuture::from(read_witness(database))
        .await
        .ok()?
        .as_string()?;
    serde_json::from_str(&text).ok()
}

/// Writes the witness of a database; false where there is no file system to keep it in.
/// `create`: false only updates a witness that exists, so that a late update cannot bring
/// back the witness of a database deleted meanwhile.
pub async fn write(database: &str, witness: &Witness, create: bool) -> bool {
    let Ok(text) = serde_json::to_string(witness) else {
        return false;
    };
    wasm_bindgen_futures::JsFuture::from(write_witness(database, &text, create))
        .await
        .ok()
        .and_then(|written| written.as_bool())
        .unwrap_or(false)
}

/// Deletes the witness of a database (with the database, on purpose).
pub async fn delete(database: &str) {
    let _ = wasm_bindgen_futures::JsFuture::from(delete_witness(database)).await;
}

/// Keeps a database's witness up to date with its head, at most about once a second and without
/// making an append wait: the witness only has to prove that the store existed, and a head that
/// lags is still a floor of what was acknowledged.
pub struct WitnessKeeper {
    database: String,
    incarnation: String,
    last_written: Cell<f64>,
}

impl WitnessKeeper {
    /// A keeper for a database of this incarnation.
    pub fn new(database: &str, incarnation: &str) -> Self {
        WitnessKeeper {
            database: database.to_string(),
            incarnation: incarnation.to_string(),
            last_written: Cell::new(0.0),
        }
    }

    /// The incarnation id it keeps the witness of.
    pub fn incarnation(&self) -> &str {
        &self.incarnation
    }

    /// After a commit: writes the new head in the background if the last write is old enough.
    pub fn committed(&self, head: Head) {
        let now = js_sys::Date::now();
        if now - self.last_written.get() < 1000.0 {
            return;
        }
        self.last_written.set(now);
        let database = self.database.clone();
        let witness = Witness {
            incarnation: self.incarnation.clone(),
            head: Some(head),
        };
        wasm_bindgen_futures::spawn_local(async move {
            write(&database, &witness, false).await;
        });
    }
}
