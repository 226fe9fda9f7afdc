//! The page as the core's pace host: `performance.now()` as the clock, a message to itself to
//! give the thread back, the open options' `onSlow` as the ear for slow
//! rules and their `signal` as a way to stop.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use super::convert::to_js;
use super::runtime::{breathe, clock_ms};
use crate::pacing::{PaceHost, Pacing, SlowWork};

#[wasm_bindgen(inline_js = "
export function signalAborted(signal) { return signal?.aborted === true; }")]
extern "C" {
    #[wasm_bindgen(js_name = signalAborted)]
    fn signal_aborted(signal: &JsValue) -> bool;
}

/// The page's clock, breath, listener and stop signal.
pub struct PageHost {
    on_slow: Option<js_sys::Function>,
    /// The opening's stop signal, forgotten once the sandbox is open.
    signal: std::cell::RefCell<JsValue>,
}

impl PageHost {
    /// A host telling `on_slow` (a function, or nothing) and stopping when `signal` aborts.
    pub fn new(on_slow: &JsValue, signal: JsValue) -> Rc<Self> {
        Rc::new(PageHost {
            on_slow: on_slow.clone().dyn_into::<js_sys::Function>().ok(),
            signal: std::cell::RefCell::new(signal),
        })
    }

    /// Forgets the opening's signal: from now on `stopSlowWork()` stops slow work, and an
    /// aborted opening signal stops nothing more.
    pub fn opened(&self) {
        *self.signal.borrow_mut() = JsValue::UNDEFINED;
    }

    /// Paces a domain's rules with this host.
    pub fn pace(self: &Rc<Self>, domain: &crate::domain::Domain) {
        domain
            .pacer()
            .attach(Rc::clone(self) as Rc<dyn PaceHost>, Pacing::default());
    }
}

impl PaceHost for PageHost {
    fn now_ms(&self) -> f64 {
        clock_ms()
    }

    fn breathe(&self) -> Pin<Box<dyn Future<Output = ()>>> {
        Box::pin(breathe())
    }

    fn slow(&self, report: &SlowWork) {
        let Some(on_slow) = &self.on_slow else {
            return;
        };
        if let Ok(value) = to_js(report) {
            // A listener that throws must not end the work it listens to.
            let _ = on_slow.call1(&JsValue::UNDEFINED, &value);
        }
    }

    fn stop_requested(&self) -> bool {
        signal_aborted(&self.signal.borrow())
    }
}
