//! How news of new events travels, one way: the store's log → one pump → each subscriber, the
//! read model's projector, and other tabs.
//!
//! Every subscriber has its own watermark (the last position it was handed). The pump reads the
//! log after the lowest watermark, in position order, and hands each subscriber what lies after
//! its own, tagged `local` (appended in this tab) or `remote` (read from storage), so each
//! position reaches each subscriber exactly once, in order, however appends, catch-ups and
//! other tabs' announcements interleave. Only one pump runs at a time; news arriving meanwhile
//! makes it go round once more.
//!
//! Other tabs are told through a `BroadcastChannel` that the store moved; the message carries no
//! events: the receiving tab reads what is new from storage, from its own head, so a missed
//! message loses nothing.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{BroadcastChannel, MessageEvent};

use super::convert::to_js;
use super::store::BrowserStore;
use crate::event::StoredEvent;
#[cfg(feature = "read-model")]
use crate::read_side::Projected;
use crate::sandbox::Sandbox;
use crate::sandbox::SandboxError;
use crate::store::{EventStore, Origin};

/// Events read per round of the pump: a catch-up subscription over a long log is handed over in
/// pieces.
const ROUND: usize = 10_000;

/// The channel's `onmessage` handler, kept alive while listening.
type MessageHandler = Closure<dyn FnMut(MessageEvent)>;

struct Subscriber {
    id: u32,
    callback: js_sys::Function,
    /// The last position handed to it.
    delivered: u64,
}

/// Subscribers, the pump that feeds them, and the channel to other tabs.
pub struct News {
    sandbox: Rc<Sandbox<BrowserStore>>,
    channel: Option<BroadcastChannel>,
    on_message: RefCell<Option<MessageHandler>>,
    subscribers: RefCell<Vec<Subscriber>>,
    next_id: Cell<u32>,
    /// The head the pump last saw: events after it are news to the projector and other tabs.
    seen: Cell<u64>,
    pumping: Cell<bool>,
    again: Cell<bool>,
    catching_up: Cell<bool>,
    catch_up_again: Cell<bool>,
    /// Called when the log moved: the read model's projector follows.
    on_moved: RefCell<Option<Box<dyn Fn()>>>,
}

impl News {
    /// News of a sandbox's store; `channel` names the `BroadcastChannel` shared with other tabs
    /// (none for a store only this sandbox sees). `head` is where the log is now: subscribers
    /// hear of what comes after it.
    pub fn new(sandbox: Rc<Sandbox<BrowserStore>>, channel: Option<&str>, head: u64) -> Rc<Self> {
        let news = Rc::new(News {
            sandbox,
            channel: channel.and_then(|name| BroadcastChannel::new(name).ok()),
            on_message: RefCell::new(None),
            subscribers: RefCell::new(Vec::new()),
            next_id: Cell::new(1),
            seen: Cell::new(head),
            pumping: Cell::new(false),
            again: Cell::new(false),
            catching_up: Cell::new(false),
            catch_up_again: Cell::new(false),
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

    #[cfg(feature = "read-model")]
    /// Calls `moved` whenever the log moves (after the pump saw new events).
    pub fn on_moved(&self, moved: impl Fn() + 'static) {
        *self.on_moved.borrow_mut() = Some(Box::new(moved));
    }

    /// Adds a subscriber that is handed every event after `after`; returns its id.
    pub fn subscribe(self: &Rc<Self>, callback: js_sys::Function, after: Option<u64>) -> u32 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let delivered = after.unwrap_or(self.seen.get());
        self.subscribers.borrow_mut().push(Subscriber {
            id,
            callback,
            delivered,
        });
        self.pump();
        id
    }

    /// Removes a subscriber.
    pub fn unsubscribe(&self, id: u32) {
        self.subscribers.borrow_mut().retain(|s| s.id != id);
    }

    /// Reads what other tabs appended (one catch-up at a time, however many announcements
    /// arrive), then pumps.
    pub fn catch_up(self: &Rc<Self>) {
        if self.catching_up.replace(true) {
            self.catch_up_again.set(true);
            return;
        }
        let news = Rc::clone(self);
        spawn_local(async move {
            loop {
                if let Err(error) = news.sandbox.write().refresh().await {
                    news.deliver_error(error.into());
                }
                news.pump();
                if !news.catch_up_again.replace(false) {
                    break;
                }
            }
            news.catching_up.set(false);
        });
    }

    /// Hands every subscriber the events after its watermark, tells the projector and other
    /// tabs that the log moved. Call it after anything that may have moved the log: an append
    /// (even a failed one may have read other tabs' events on the way) or a catch-up.
    pub fn pump(self: &Rc<Self>) {
        if self.pumping.replace(true) {
            self.again.set(true);
            return;
        }
        let news = Rc::downgrade(self);
        spawn_local(async move {
            loop {
                let Some(this) = news.upgrade() else { return };
                if let Err(error) = this.pump_round().await {
                    this.deliver_error(error.into());
                }
                if !this.again.replace(false) {
                    this.pumping.set(false);
                    return;
                }
            }
        });
    }

    /// One pass of the pump, round after round until every subscriber is at the head.
    async fn pump_round(&self) -> Result<(), SandboxError> {
        let store = self.sandbox.store();
        loop {
            let head = store.head_position().await?;
            let seen = self.seen.get();
            let lowest = self
                .subscribers
                .borrow()
                .iter()
                .map(|s| s.delivered)
                .min()
                .unwrap_or(head)
                .min(seen);
            if lowest >= head {
                return Ok(());
            }
            let news = store.read_news(lowest, ROUND).await?;
            let Some(last) = news.last().map(|n| n.event.position) else {
                return Ok(());
            };
            if last > seen {
                self.seen.set(last);
                let ours = news
                    .iter()
                    .any(|n| n.event.position > seen && n.origin == Origin::Local);
                if ours {
                    self.announce(last);
                }
                if let Some(moved) = self.on_moved.borrow().as_ref() {
                    moved();
                }
            }
            self.hand_out(&news);
        }
    }

    /// Hands each subscriber the news after its watermark, one notice per run of one origin.
    fn hand_out(&self, news: &[crate::store::News]) {
        // The list is copied: a subscriber may subscribe or unsubscribe from its callback.
        let subscribers: Vec<(u32, u64, js_sys::Function)> = self
            .subscribers
            .borrow()
            .iter()
            .map(|s| (s.id, s.delivered, s.callback.clone()))
            .collect();
        for (id, delivered, callback) in subscribers {
            let fresh: Vec<&crate::store::News> = news
                .iter()
                .filter(|n| n.event.position > delivered)
                .collect();
            let Some(last) = fresh.last().map(|n| n.event.position) else {
                continue;
            };
            // Moved first: a callback that pumps again must not be handed the same events.
            if let Some(s) = self
                .subscribers
                .borrow_mut()
                .iter_mut()
                .find(|s| s.id == id)
            {
                s.delivered = last;
            }
            for run in fresh.chunk_by(|a, b| a.origin == b.origin) {
                let events: Vec<&StoredEvent> = run.iter().map(|n| &n.event).collect();
                let source = match run[0].origin {
                    Origin::Local => "local",
                    Origin::Remote => "remote",
                };
                let notice = notice(&to_js(&events).unwrap_or(JsValue::NULL), source);
                // One subscriber throwing must not keep the others from hearing.
                let _ = callback.call1(&JsValue::NULL, &notice);
            }
        }
    }

    /// Tells other tabs that the store moved to `head`.
    fn announce(&self, head: u64) {
        if let Some(channel) = &self.channel {
            let _ = channel.post_message(&JsValue::from_f64(head as f64));
        }
    }

    /// Tells subscribers that the read model moved, as `{ source: "projection", projected }`.
    #[cfg(feature = "read-model")]
    pub fn read_model_moved(&self, projected: &Projected) {
        if projected.applied == 0 && projected.stopped.is_empty() {
            return;
        }
        let notice = notice(&js_sys::Array::new().into(), "projection");
        let _ = js_sys::Reflect::set(
            &notice,
            &"projected".into(),
            &to_js(projected).unwrap_or(JsValue::NULL),
        );
        self.call_all(&notice);
    }

    /// Tells subscribers that reading or projecting failed, as `{ events: [], source, error }`.
    pub fn deliver_error(&self, error: JsValue) {
        let notice = notice(&js_sys::Array::new().into(), "remote");
        let _ = js_sys::Reflect::set(&notice, &"error".into(), &error);
        self.call_all(&notice);
    }

    fn call_all(&self, notice: &js_sys::Object) {
        let callbacks: Vec<js_sys::Function> = self
            .subscribers
            .borrow()
            .iter()
            .map(|s| s.callback.clone())
            .collect();
        for callback in callbacks {
            let _ = callback.call1(&JsValue::NULL, notice);
        }
    }

    /// Stops listening to other tabs and drops the subscribers.
    pub fn close(&self) {
        if let Some(channel) = &self.channel {
            channel.set_onmessage(None);
            channel.close();
        }
        self.on_message.borrow_mut().take();
        self.subscribers.borrow_mut().clear();
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
