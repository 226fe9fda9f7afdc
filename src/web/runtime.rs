//! What every part of the JS face needs, and nothing of it: promises of async results, the
//! wall clock, the monotonic clock, and timers (gloo's).

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
export function clockMs() { return globalThis.performance?.now() ?? Date.now(); }")]
extern "C" {
    /// Milliseconds from the page's monotonic clock (`performance.now()` where there is one, in a
    /// page or a worker). One JS call, no lookups: the pacer and SQLite's progress handler read
    /// it often.
    #[wasm_bindgen(js_name = clockMs)]
    pub fn clock_ms() -> f64;
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
