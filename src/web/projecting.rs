//! Live projections: after new events (from this tab or another), the read model catches up on
//! its own, after a configurable delay that makes eventual consistency visible, in chunks that
//! let the page breathe in between.

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen_futures::spawn_local;

use super::class::clock_ms;
use super::news::News;
use super::store::{BrowserStore, sleep};
use crate::sandbox::Sandbox;
use crate::sandbox::SandboxError;

/// Events one round of projecting takes; a page stays responsive between rounds.
const CHUNK: usize = 5_000;
/// The longest delay before projections follow new events.
const MAX_DELAY_MS: f64 = 60_000.0;
/// How often a waiting catch-up looks at the delay again.
const DELAY_CHECK_MS: f64 = 50.0;

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

    /// Sets that delay (0 = as soon as possible), from 0 to a minute; it takes effect at once,
    /// for a catch-up already waiting too.
    pub fn set_delay_ms(&self, ms: f64) -> Result<(), SandboxError> {
        if !(0.0..=MAX_DELAY_MS).contains(&ms) {
            return Err(SandboxError::bad_input(
                "projection delay",
                format!("must be 0 to {MAX_DELAY_MS} ms, got {ms}"),
            ));
        }
        self.delay_ms.set(ms);
        Ok(())
    }

    /// Waits until the delay has passed since `since`, looking at the delay again every few
    /// milliseconds, so that a shorter one set meanwhile takes effect at once.
    async fn wait_for_delay(&self, since: f64) {
        loop {
            let remaining = since + self.delay_ms.get() - clock_ms();
            if remaining <= 0.0 {
                return;
            }
            sleep(remaining.min(DELAY_CHECK_MS)).await;
        }
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
                this.wait_for_delay(clock_ms()).await;
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
