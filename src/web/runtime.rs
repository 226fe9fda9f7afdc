//! What every part of the JS face needs, and nothing of it: promises of async results, the
//! wall clock, the monotonic clock, a breath, and timers (gloo's).

use std::future::Future;

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen_futures::future_to_promise;

use super::convert::to_js;
use crate::event::Timestamp;
use crate::sandbox::SandboxError;

/// Runs an async operation and returns a promise of its JS result.
pub fn promise<F, T>(future: F) -> js_sys::Promise
where
    F: Future<Output = Result<T, SandboxError>> + 'static,
    T: serde::Serialize,
{
    future_to_promise(async move { Ok(to_js(&future.await?)?) })
}

/// The time now, in ms since the Unix epoch, for events the caller did not stamp.
pub fn now() -> Timestamp {
    js_sys::Date::now() as Timestamp
}

#[wasm_bindgen(inline_js = "
export function clockMs() { return globalThis.performance?.now() ?? Date.now(); }
export function breath() {
  // A message to itself, not scheduler.yield(): a yield's continuation goes before the page's
  // other tasks (its timers, a click's consequences), which would wait for the whole work.
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => { channel.port1.close(); resolve(); };
    channel.port2.postMessage(0);
  });
}")]
extern "C" {
    /// Milliseconds from the page's monotonic clock (`performance.now()` where there is one, in a
    /// page or a worker). One JS call, no lookups: the pacer and SQLite's progress handler read
    /// it often.
    #[wasm_bindgen(js_name = clockMs)]
    pub fn clock_ms() -> f64;
    #[wasm_bindgen(js_name = breath)]
    fn breath_promise() -> js_sys::Promise;
}

/// Gives the thread back for a moment: resolves after the page's tasks already waiting (its
/// timers, input, drawing) have run, without a timer's minimum delay.
pub async fn breathe() {
    let _ = wasm_bindgen_futures::JsFuture::from(breath_promise()).await;
}

/// The longest stretch of work between two breaths of [`breathe_now_and_then`].
const SLICE_MS: f64 = 12.0;
/// A longer gap between two calls means the work before has ended: a new stretch begins.
const IDLE_MS: f64 = 100.0;

thread_local! {
    /// When the current stretch of work began, and when it last asked.
    static STRETCH: std::cell::Cell<(f64, f64)> = const { std::cell::Cell::new((0.0, 0.0)) };
}

/// Called often during long work: gives the thread back once the work has held it for a
/// slice, and costs one clock read otherwise. One stretch per thread, since the thread is
/// what is given back.
pub async fn breathe_now_and_then() {
    let now = clock_ms();
    let (mut began, last) = STRETCH.get();
    if now - last > IDLE_MS {
        began = now;
    }
    if now - began < SLICE_MS {
        STRETCH.set((began, now));
        return;
    }
    breathe().await;
    let after = clock_ms();
    STRETCH.set((after, after));
}

/// Resolves after `ms` milliseconds, as a macrotask (the page renders in between).
pub async fn sleep(ms: f64) {
    let ms = if ms.is_finite() {
        ms.clamp(0.0, f64::from(u32::MAX))
    } else {
        0.0
    };
    gloo_timers::future::TimeoutFuture::new(ms as u32).await;
}
