//! How news of new events travels, one way: the store's log → the core's pump → each JS
//! subscriber, the read model's follower, and other tabs.
//!
//! The bookkeeping (who was handed what, each position once and in order) is the core's
//! (`subscription`); here it meets JS: subscribers are JS callbacks, the pump runs in
//! `spawn_local`, one at a time, and other tabs are told through a `BroadcastChannel` that the
//! store moved (at once, then at most once every 50 ms while appends keep coming: `Announcer`).
//! The message carries no events: the receiving tab reads what is new from storage, from its
//! own head, so a missed message loses nothing.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{BroadcastChannel, MessageEvent};

use super::browser_segments::BrowserStore;
use super::convert::to_js;
use super::runtime::{breathe, sleep};
use crate::event::StoredEvent;
use crate::sandbox::{Sandbox, SandboxError};
use crate::store::Origin;
use crate::subscription::{Announcer, Moved, NewsPump, Serial, Sink, SubscriberId, Subscribers};

/// While appends keep coming, other tabs are told at most this often (ms).
const ANNOUNCE_PERIOD_MS: f64 = 50.0;

/// The channel's `onmessage` handler, kept alive while listening.
type MessageHandler = Closure<dyn FnMut(MessageEvent)>;

/// A JS subscriber: a callback taking `{ events, source }`.
#[derive(Clone)]
pub struct JsSink(js_sys::Function);

impl JsSink {
    fn call(&self, notice: &js_sys::Object) {
        // One subscriber throwing must not keep the others from hearing.
        let _ = self.0.call1(&JsValue::NULL, notice);
    }
}

impl Sink for JsSink {
    fn deliver(&self, events: &[&StoredEvent], origin: Origin) {
        let source = match origin {
            Origin::Local => "local",
            Origin::Remote => "remote",
        };
        self.call(&notice(&to_js(events).unwrap_or(JsValue::NULL), source));
    }
}

/// A sandbox's news: its subscribers, the pump that feeds them, and the channel to other tabs.
pub struct Newsroom {
    sandbox: Rc<Sandbox<BrowserStore>>,
    channel: Option<BroadcastChannel>,
    on_message: RefCell<Option<MessageHandler>>,
    /// When to tell other tabs (see `Announcer`), and whether its period's timer runs.
    announcer: RefCell<Announcer>,
    announcing: Cell<bool>,
    subscribers: Subscribers<JsSink>,
    pump: NewsPump,
    pumping: Serial,
    catching_up: Serial,
    /// Called when the log moved: the read model's follower follows.
    on_moved: RefCell<Option<Box<dyn Fn()>>>,
}

impl Newsroom {
    /// The news of a sandbox's store; `channel` names the `BroadcastChannel` shared with other
    /// tabs (none for a store only this sandbox sees). `head` is where the log is now:
    /// subscribers hear of what comes after it.
    pub fn new(sandbox: Rc<Sandbox<BrowserStore>>, channel: Option<&str>, head: u64) -> Rc<Self> {
        let news = Rc::new(Newsroom {
            sandbox,
            channel: channel.and_then(|name| BroadcastChannel::new(name).ok()),
            on_message: RefCell::new(None),
            announcer: RefCell::new(Announcer::default()),
            announcing: Cell::new(false),
            subscribers: Subscribers::default(),
            pump: NewsPump::new(head),
            pumping: Serial::default(),
            catching_up: Serial::default(),
            on_moved: RefCell::new(None),
        });
        if let Some(channel) = &news.channel {
            let weak = Rc::downgrade(&news);
            let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |_: MessageEvent| {
                if let Some(news) = weak.upgrade() {
                    news.catch_up();
                }
            });
            channel.set_onmessage(Some(handler.as_ref().unchecked_ref()));
            *news.on_message.borrow_mut() = Some(handler);
        }
        news
    }

    /// Calls `moved` whenever the log moves (after the pump saw new events): the read model's
    /// follower, which the lean module does not have.
    #[cfg(feature = "read-model")]
    pub fn on_moved(&self, moved: impl Fn() + 'static) {
        *self.on_moved.borrow_mut() = Some(Box::new(moved));
    }

    /// Adds a subscriber that is handed every event after `after` (default: what the pump has
    /// seen); returns its id.
    pub fn subscribe(
        self: &Rc<Self>,
        callback: js_sys::Function,
        after: Option<u64>,
    ) -> SubscriberId {
        let after = after.unwrap_or(self.pump.seen());
        let id = self.subscribers.subscribe(JsSink(callback), after);
        self.pump();
        id
    }

    /// Removes a subscriber.
    pub fn unsubscribe(&self, id: SubscriberId) {
        self.subscribers.unsubscribe(id);
    }

    /// Reads what other tabs appended (one catch-up at a time, however many announcements
    /// arrive), then pumps.
    pub fn catch_up(self: &Rc<Self>) {
        if !self.catching_up.request() {
            return;
        }
        let news = Rc::clone(self);
        spawn_local(async move {
            loop {
                if let Err(error) = news.sandbox.write().refresh().await {
                    news.tell_error(SandboxError::from(error).into());
                }
                news.pump();
                if !news.catching_up.finished() {
                    break;
                }
            }
        });
    }

    /// Hands every subscriber the events after its watermark, tells the follower and other
    /// tabs that the log moved. Call it after anything that may have moved the log: an append
    /// (even a failed one may have read other tabs' events on the way) or a catch-up.
    pub fn pump(self: &Rc<Self>) {
        if !self.pumping.request() {
            return;
        }
        let news = Rc::downgrade(self);
        spawn_local(async move {
            loop {
                let Some(this) = news.upgrade() else { return };
                // The page's other tasks run between rounds: a long catch-up is many short
                // tasks, not one.
                let run = this
                    .pump
                    .run(
                        this.sandbox.store(),
                        &this.subscribers,
                        |moved| this.moved(moved),
                        async || breathe().await,
                    )
                    .await;
                if let Err(error) = run {
                    this.tell_error(SandboxError::from(error).into());
                }
                if !this.pumping.finished() {
                    return;
                }
            }
        });
    }

    fn moved(self: &Rc<Self>, moved: Moved) {
        if moved.ours && self.channel.is_some() {
            let due = self.announcer.borrow_mut().moved(moved.head);
            self.post(due);
            self.keep_announcing();
        }
        if let Some(follow) = self.on_moved.borrow().as_ref() {
            follow();
        }
    }

    /// Tells other tabs the log reached `head`, if there is one to tell.
    fn post(&self, head: Option<u64>) {
        if let (Some(head), Some(channel)) = (head, &self.channel) {
            let _ = channel.post_message(&JsValue::from_f64(head as f64));
        }
    }

    /// Ends the announcer's periods on a timer while it is armed (one timer at a time).
    fn keep_announcing(self: &Rc<Self>) {
        if self.announcing.get() || !self.announcer.borrow().armed() {
            return;
        }
        self.announcing.set(true);
        let news = Rc::downgrade(self);
        spawn_local(async move {
            loop {
                sleep(ANNOUNCE_PERIOD_MS).await;
                let Some(this) = news.upgrade() else { return };
                let due = this.announcer.borrow_mut().period_over();
                this.post(due);
                if !this.announcer.borrow().armed() {
                    this.announcing.set(false);
                    return;
                }
            }
        });
    }

    /// Tells every subscriber something that is not events: `{ events: [], source, ...fields }`.
    pub fn tell(&self, source: &str, fields: &[(&str, JsValue)]) {
        let notice = notice(&js_sys::Array::new().into(), source);
        for (name, value) in fields {
            let _ = js_sys::Reflect::set(&notice, &(*name).into(), value);
        }
        for sink in self.subscribers.sinks() {
            sink.call(&notice);
        }
    }

    /// Tells subscribers that reading or projecting failed, as `{ events: [], source, error }`.
    pub fn tell_error(&self, error: JsValue) {
        self.tell("remote", &[("error", error)]);
    }

    /// Stops listening to other tabs and drops the subscribers.
    pub fn close(&self) {
        // Other tabs hear of this tab's last appends before it stops talking.
        let unsaid = self.announcer.borrow_mut().flush();
        self.post(unsaid);
        if let Some(channel) = &self.channel {
            channel.set_onmessage(None);
            channel.close();
        }
        self.on_message.borrow_mut().take();
        self.subscribers.clear();
        self.on_moved.borrow_mut().take();
    }

    /// A weak handle, for closures that must not keep the news alive.
    pub fn downgrade(self: &Rc<Self>) -> Weak<Self> {
        Rc::downgrade(self)
    }
}

/// A notice object `{ events, source }`.
fn notice(events: &JsValue, source: &str) -> js_sys::Object {
    let notice = js_sys::Object::new();
    // Setting properties on a fresh object cannot fail.
    let _ = js_sys::Reflect::set(&notice, &"events".into(), events);
    let _ = js_sys::Reflect::set(&notice, &"source".into(), &source.into());
    notice
}
