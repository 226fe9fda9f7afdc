//! A job that runs one at a time: asked for while it runs, it runs once more when done, however
//! often it was asked (news arriving during a pump, a catch-up during a catch-up).

use std::cell::Cell;

/// One run at a time, and one more if asked for meanwhile.
#[derive(Debug, Default)]
pub struct Serial {
    running: Cell<bool>,
    again: Cell<bool>,
}

impl Serial {
    /// Asks for a run: true when the caller must start it now; false when one is running (it
    /// will go round once more).
    pub fn request(&self) -> bool {
        if self.running.replace(true) {
            self.again.set(true);
            return false;
        }
        true
    }

    /// Called by the runner at the end of a run: true when it must run again (it was asked for
    /// meanwhile); false when it is done, and the next request starts a new run.
    pub fn finished(&self) -> bool {
        if self.again.replace(false) {
            return true;
        }
        self.running.set(false);
        false
    }

    /// Whether a run is going on.
    pub fn is_running(&self) -> bool {
        self.running.get()
    }
}
