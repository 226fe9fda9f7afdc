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
//!
//! Every change to a witness, and every check of one against its database, holds the witness's
//! Web Lock (one per database, across the origin's tabs). Chromium lets a write through a file
//! handle taken before the file was removed create the file again, so without the lock a delete
//! that lands while an update is in flight leaves the old witness behind, and the next store of
//! that name is told that its events were lost. Under the lock, a delete waits for the update,
//! and an update after a delete finds no witness to update.

use std::cell::Cell;
use std::future::Future;

use futures_channel::oneshot;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::store::Head;

#[wasm_bindgen(inline_js = "
const DIRECTORY = 'es-sandbox-witness';
async function directory() {
  if (!globalThis.navigator?.storage?.getDirectory) return null;
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(DIRECTORY, { create: true });
}
const fileName = (name) => encodeURIComponent(name);
export function withWitnessLock(name, task) {
  const locks = globalThis.navigator?.locks;
  // Without Web Locks (no secure context) there is no origin-private file system either.
  if (!locks) return Promise.resolve(task());
  let ran = false;
  const run = () => {
    ran = true;
    return task();
  };
  return locks.request(`${DIRECTORY}/${name}`, run).catch((error) => {
    if (!ran) return task();
    throw error;
  });
}
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
export async function writeWitness(name, text, create, gate) {
  try {
    const dir = await directory();
    if (!dir) return false;
    const handle = await dir.getFileHandle(fileName(name), { create });
    if (gate) await gate();
    const writable = await handle.createWritable();
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
  // A witness a tab without the lock (an older module) is writing cannot be removed until it
  // is closed.
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
    /// Runs `task` (a function returning a promise) while holding the witness's lock; resolves
    /// when it has settled.
    #[wasm_bindgen(js_name = withWitnessLock)]
    fn with_witness_lock(name: &str, task: &js_sys::Function) -> js_sys::Promise;
    /// The witness file's text, or null when there is none (or no file system).
    #[wasm_bindgen(js_name = readWitness)]
    fn read_witness(name: &str) -> js_sys::Promise;
    /// Writes the witness file (creating it only if `create`); resolves to whether it was
    /// written. `gate` (a test hook, else undefined): a function returning a promise, awaited
    /// between finding the file and writing it.
    #[wasm_bindgen(js_name = writeWitness)]
    fn write_witness(name: &str, text: &str, create: bool, gate: &JsValue) -> js_sys::Promise;
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

/// Runs `task` while holding the lock of a database's witness, so that no other tab's (or this
/// tab's) witness operation interleaves with it. `Err` only if the task could not be run.
pub async fn locked<T: 'static>(
    database: &str,
    task: impl Future<Output = T> + 'static,
) -> Result<T, String> {
    let (send, receive) = oneshot::channel();
    let run = Closure::once_into_js(move || {
        wasm_bindgen_futures::future_to_promise(async move {
            let _ = send.send(task.await);
            Ok(JsValue::UNDEFINED)
        })
    });
    let held = JsFuture::from(with_witness_lock(database, run.unchecked_ref())).await;
    match receive.await {
        Ok(done) => Ok(done),
        Err(_) => Err(match held {
            Err(error) => format!("the witness lock failed: {error:?}"),
            Ok(_) => "the witness lock was released before its task ran".into(),
        }),
    }
}

/// Reads the witness of a database, if there is one that reads. Call it under [`locked`].
pub async fn read(database: &str) -> Option<Witness> {
    let text = JsFuture::from(read_witness(database))
        .await
        .ok()?
        .as_string()?;
    serde_json::from_str(&text).ok()
}

/// Writes the witness of a new database (or a cut-back one); false where there is no file
/// system to keep it in. Call it under [`locked`].
pub async fn create(database: &str, witness: &Witness) -> bool {
    write(database, witness, true, &JsValue::UNDEFINED).await
}

async fn write(database: &str, witness: &Witness, create: bool, gate: &JsValue) -> bool {
    let Ok(text) = serde_json::to_string(witness) else {
        return false;
    };
    JsFuture::from(write_witness(database, &text, create, gate))
        .await
        .ok()
        .and_then(|written| written.as_bool())
        .unwrap_or(false)
}

/// Updates the head a database's witness names, only if the witness is there and names the
/// same incarnation: an update that comes late never brings back the witness of a database
/// deleted meanwhile, nor overwrites the witness of the one made after it.
async fn update(database: String, witness: Witness, gate: JsValue) {
    let name = database.clone();
    let _ = locked(&name, async move {
        match read(&database).await {
            Some(seen) if seen.incarnation == witness.incarnation => {
                write(&database, &witness, false, &gate).await;
            }
            _ => {}
        }
    })
    .await;
}

/// Deletes the witness of a database (with the database, on purpose). Call it under
/// [`locked`], after the database is deleted.
pub async fn delete(database: &str) {
    let _ = JsFuture::from(delete_witness(database)).await;
}

/// Keeps a database's witness up to date with its head, at most about once a second and without
/// making an append wait: the witness only has to prove that the store existed, and a head that
/// lags is still a floor of what was acknowledged.
pub struct WitnessKeeper {
    database: String,
    incarnation: String,
    last_written: Cell<f64>,
    /// A test hook: a gate the next update waits at between finding the file and writing it.
    #[cfg(feature = "test-hooks")]
    gate: std::cell::RefCell<Option<JsValue>>,
}

impl WitnessKeeper {
    /// A keeper for a database of this incarnation.
    pub fn new(database: &str, incarnation: &str) -> Self {
        WitnessKeeper {
            database: database.to_string(),
            incarnation: incarnation.to_string(),
            last_written: Cell::new(0.0),
            #[cfg(feature = "test-hooks")]
            gate: std::cell::RefCell::new(None),
        }
    }

    /// The incarnation id it keeps the witness of.
    pub fn incarnation(&self) -> &str {
        &self.incarnation
    }

    /// After a commit: updates the witness's head in the background if the last update is old
    /// enough.
    pub fn committed(&self, head: Head) {
        let now = js_sys::Date::now();
        if now - self.last_written.get() < 1000.0 {
            return;
        }
        self.last_written.set(now);
        let witness = Witness {
            incarnation: self.incarnation.clone(),
            head: Some(head),
        };
        #[cfg(feature = "test-hooks")]
        let gate = self.gate.borrow_mut().take().unwrap_or(JsValue::UNDEFINED);
        #[cfg(not(feature = "test-hooks"))]
        let gate = JsValue::UNDEFINED;
        wasm_bindgen_futures::spawn_local(update(self.database.clone(), witness, gate));
    }

    /// Makes the next update wait at a gate between finding the witness file and writing it
    /// (a test hook): the window in which a delete used to be undone.
    #[cfg(feature = "test-hooks")]
    pub fn hold_next_update(&self) -> WitnessGate {
        let gate = WitnessGate::new();
        *self.gate.borrow_mut() = Some(gate.gate.clone());
        gate
    }
}

/// A test hook: where a witness update waits, until released.
#[cfg(feature = "test-hooks")]
pub struct WitnessGate {
    /// The function the update calls; it returns the promise it waits for.
    gate: JsValue,
    reached: js_sys::Promise,
    release: js_sys::Function,
}

#[cfg(feature = "test-hooks")]
impl WitnessGate {
    fn new() -> Self {
        let mut release = None;
        let released = js_sys::Promise::new(&mut |resolve, _| release = Some(resolve));
        let mut arrive = None;
        let reached = js_sys::Promise::new(&mut |resolve, _| arrive = Some(resolve));
        let gate = Closure::once_into_js(move || {
            if let Some(arrive) = arrive {
                let _ = arrive.call0(&JsValue::NULL);
            }
            released
        });
        WitnessGate {
            gate,
            reached,
            release: release.unwrap_or_else(|| js_sys::Function::new_no_args("")),
        }
    }

    /// Resolves when an update is waiting at the gate.
    pub async fn reached(&self) {
        let _ = JsFuture::from(self.reached.clone()).await;
    }

    /// Lets the update go on.
    pub fn release(&self) {
        let _ = self.release.call0(&JsValue::NULL);
    }
}
