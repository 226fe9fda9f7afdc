//! The read model following the log on its own: after new events, a catch-up waits a delay (so
//! that eventual consistency can be seen), then projects in chunks with a pause between them (so
//! that a page stays responsive), one catch-up at a time. Time comes from a [`Timer`] the caller
//! supplies: the browser's clock and `setTimeout`, or a test's clock.

use std::cell::Cell;
use std::future::Future;

use crate::read_side::Projected;
use crate::sandbox::{Sandbox, SandboxError};
use crate::store::EventStore;
use crate::subscription::Serial;

/// Events one chunk of projecting takes: about 20 ms of a page's thread in Chromium.
pub const CHUNK: usize = 2_000;
/// The longest delay before projections follow new events.
pub const MAX_DELAY_MS: f64 = 60_000.0;
/// How often a waiting catch-up looks at the delay again, so that a shorter one set meanwhile
/// takes effect at once.
const DELAY_CHECK_MS: f64 = 50.0;

/// Time, as the follower needs it.
pub trait Timer {
    /// Milliseconds on a monotonic clock.
    fn now_ms(&self) -> f64;
    /// Resolves after `ms` milliseconds (0: after letting others run).
    fn sleep(&self, ms: f64) -> impl Future<Output = ()>;
}

/// Schedules the read model's catch-ups.
#[derive(Debug)]
pub struct Following {
    delay_ms: Cell<f64>,
    serial: Serial,
    /// False when projections run only when asked (`project`).
    live: Cell<bool>,
}

impl Following {
    /// A schedule that follows the log on its own (`live`), or only when asked.
    pub fn new(live: bool) -> Self {
        Following {
            delay_ms: Cell::new(0.0),
            serial: Serial::default(),
            live: Cell::new(live),
        }
    }

    /// Makes the schedule follow the log on its own, or only when asked.
    pub fn set_live(&self, live: bool) {
        self.live.set(live);
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

    /// Asks for a catch-up (the log moved): true when the caller must start [`Following::run`]
    /// now; false when the schedule is not live, or a catch-up is running (it goes round once
    /// more).
    pub fn request(&self) -> bool {
        self.live.get() && self.serial.request()
    }

    /// Runs catch-ups until none is asked for: each waits out the delay, then projects chunk
    /// after chunk until the read model is at the head (or a round fails), handing each round's
    /// outcome to `told`.
    pub async fn run<S: EventStore>(
        &self,
        sandbox: &Sandbox<S>,
        timer: &impl Timer,
        mut told: impl FnMut(Result<Projected, SandboxError>),
    ) {
        loop {
            let since = timer.now_ms();
            loop {
                let remaining = since + self.delay_ms.get() - timer.now_ms();
                if remaining <= 0.0 {
                    break;
                }
                timer.sleep(remaining.min(DELAY_CHECK_MS)).await;
            }
            loop {
                match sandbox.project(CHUNK).await {
                    Ok(projected) => {
                        let done = projected.applied == 0;
                        told(Ok(projected));
                        if done {
                            break;
                        }
                    }
                    Err(error) => {
                        told(Err(error));
                        break;
                    }
                }
                timer.sleep(0.0).await;
            }
            if !self.serial.finished() {
                return;
            }
        }
    }
}
