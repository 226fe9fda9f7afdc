//! Live projections: after new events (from this tab or another), the read model catches up on
//! its own, after a configurable delay that makes eventual consistency visible, in chunks that
//! let the page breathe in between.

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{JsFuture, spawn_local};

use super::news::News;
use super::store::BrowserStore;
use crate::sandbox::Sandbox;

/// Events one round of projecting takes; a page stays responsive between rounds.
const CHUNK: usize = 5_000;

/// Schedules catch-ups of the read model.
pub struct Projecting {
    sandbox: Rc<Sandbox<BrowserStore>>,
    news: Rc<News>,
    delay_ms: Cell<f64>,
    running: Cell<bool>,
    again: Cell<bool>,
    /// False when projections run only on request.
    live_mode: bool,
}

/// Resolves after `ms` milliseconds (a macrotask: the page renders in between).
pub async fn sleep(ms: f64) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let set_timeout = js_sys::Reflect::get(&js_sys::global(), &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        match set_timeout {
            Some(set_timeout) => {
                let _ = set_timeout.call2(&js_sys::global(), &resolve, &ms.into());
            }
            None => {
                let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
            }
        }
    });
    let _ = JsFuture::from(promise).await;
}

impl Projecting {
    /// A scheduler for a sandbox's read model.
    pub fn new(sandbox: Rc<Sandbox<BrowserStore>>, news: Rc<News>, automatic: bool) -> Rc<Self> {
        Rc::new(Projecting {
            sandbox,
            news,
            delay_ms: Cell::new(0.0),
            running: Cell::new(false),
            again: Cell::new(false),
            live_mode: automatic,
        })
    }

    /// The delay before the read model follows new events.
    pub fn delay_ms(&self) -> f64 {
        self.delay_ms.get()
    }

    /// Sets that delay (0 = as soon as possible).
    pub fn set_delay_ms(&self, ms: f64) {
        self.delay_ms.set(ms.clamp(0.0, 60_000.0));
    }

    /// Catches the read model up, after the delay; one catch-up at a time, and one more if
    /// asked for meanwhile.
    pub fn schedule(self: &Rc<Self>) {
        if !self.live_mode {
            return;
        }
        if self.running.replace(true) {
            self.again.set(true);
            return;
        }
        let this = Rc::clone(self);
        spawn_local(async move {
            loop {
                sleep(this.delay_ms.get()).await;
                loop {
                    match this.sandbox.project(CHUNK).await {
                        Ok(projected) => {
                            let done = projected.applied == 0;
                            this.news.read_model_moved(&projected);
                            if done {
                                break;
                            }
                        }
                        Err(error) => {
                            this.news.deliver_error(error.into());
                            break;
                        }
                    }
                    sleep(0.0).await;
                }
                if !this.again.replace(false) {
                    break;
                }
            }
            this.running.set(false);
        });
    }
}
