//! The read model following the log in the browser: the core's schedule (`Following`: the delay
//! that makes eventual consistency visible, chunks that let the page breathe) on the page's
//! clock and timers, started whenever the news says the log moved; each round is told to the
//! subscribers.

use std::rc::Rc;

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::spawn_local;

use crate::read_side::Projected;
use crate::sandbox::Sandbox;
use crate::sandbox::projecting::Timer;
use crate::web::browser_segments::BrowserStore;
use crate::web::convert::to_js;
use crate::web::news::Newsroom;
use crate::web::runtime::{clock_ms, sleep};

/// The page's clock and `setTimeout`.
struct PageTimer;

impl Timer for PageTimer {
    fn now_ms(&self) -> f64 {
        clock_ms()
    }

    fn sleep(&self, ms: f64) -> impl std::future::Future<Output = ()> {
        sleep(ms)
    }
}

/// Catch-ups of a sandbox's read model, on the schedule the sandbox keeps
/// ([`Sandbox::following`]).
pub struct Projecting {
    sandbox: Rc<Sandbox<BrowserStore>>,
    news: Rc<Newsroom>,
}

impl Projecting {
    /// Starts the read model following the log (on its own when `live`, or only when asked),
    /// and builds it from the log in the background as soon as it is open: it lives in memory.
    /// A read model that opens on first use (a shipped scenario's) starts then, so that a page
    /// draws its log before SQLite is set up.
    pub fn start(sandbox: Rc<Sandbox<BrowserStore>>, news: Rc<Newsroom>, live: bool) -> Rc<Self> {
        sandbox.following().set_live(live);
        let projecting = Rc::new(Projecting {
            sandbox: Rc::clone(&sandbox),
            news: Rc::clone(&news),
        });
        news.on_moved(projecting.scheduler());
        sandbox.when_read_model_opens(projecting.scheduler());
        projecting
    }

    /// A call that asks for a catch-up, for as long as this follower lives (it does not keep it
    /// alive).
    fn scheduler(self: &Rc<Self>) -> impl Fn() + 'static {
        let follower = Rc::downgrade(self);
        move || {
            if let Some(projecting) = follower.upgrade() {
                projecting.schedule();
            }
        }
    }

    /// Catches the read model up, after the delay; one catch-up at a time, and one more if
    /// asked for meanwhile.
    pub fn schedule(self: &Rc<Self>) {
        if !self.sandbox.following().request() {
            return;
        }
        let this = Rc::clone(self);
        spawn_local(async move {
            let news = Rc::clone(&this.news);
            this.sandbox
                .following()
                .run(&this.sandbox, &PageTimer, |round| match round {
                    Ok(projected) => moved(&news, &projected),
                    Err(error) => news.tell_error(error.into()),
                })
                .await;
        });
    }
}

/// Tells subscribers that the read model moved, as `{ source: "projection", projected }`.
pub fn moved(news: &Newsroom, projected: &Projected) {
    if projected.applied == 0 && projected.stopped.is_empty() {
        return;
    }
    let projected = to_js(projected).unwrap_or(JsValue::NULL);
    news.tell("projection", &[("projected", projected)]);
}
