//! Live notifications: subscribers hear of new events appended in this tab, and through a
//! `BroadcastChannel` of those other tabs append to the same store.
//!
//! A message only says "the store moved"; the receiving tab reads what is new from storage, from
//! its own last position, so a missed message loses nothing.

use std::cell::{Cell, RefCell};

use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, MessageEvent};

use super::convert::to_js;
use crate::event::StoredEvent;
use crate::projection::Projected;

/// Where new events came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Appended through this sandbox.
    Local,
    /// Appended elsewhere (another tab) and read from storage.
    Remote,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Local => "local",
            Source::Remote => "remote",
        }
    }
}

/// The channel's `onmessage` handler, kept alive while listening.
type MessageHandler = Closure<dyn FnMut(MessageEvent)>;

/// Subscribers and the channel to other tabs.
pub struct Live {
    channel: Option<BroadcastChannel>,
    on_message: RefCell<Option<MessageHandler>>,
    subscribers: RefCell<Vec<(u32, js_sys::Function)>>,
    next_id: Cell<u32>,
    /// The highest position delivered, so that no event is delivered twice.
    delivered: Cell<u64>,
}

impl Live {
    /// Notifications for a store; `channel` names the `BroadcastChannel` shared with other tabs
    /// (none for a store only this sandbox sees).
    pub fn new(channel: Option<&str>, head: u64) -> Self {
        Live {
            channel: channel.and_then(|name| BroadcastChannel::new(name).ok()),
            on_message: RefCell::new(None),
            subscribers: RefCell::new(Vec::new()),
            next_id: Cell::new(1),
            delivered: Cell::new(head),
        }
    }

    /// Calls `moved` whenever another tab says the store moved.
    pub fn listen(&self, mut moved: impl FnMut() + 'static) {
        if let Some(channel) = &self.channel {
            let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |_: MessageEvent| moved());
            channel.set_onmessage(Some(handler.as_ref().unchecked_ref()));
            *self.on_message.borrow_mut() = Some(handler);
        }
    }

    /// Tells other tabs that the store moved to `head`.
    pub fn announce(&self, head: u64) {
        if let Some(channel) = &self.channel {
            let _ = channel.post_message(&JsValue::from_f64(head as f64));
        }
    }

    /// Adds a subscriber; returns its id.
    pub fn subscribe(&self, callback: js_sys::Function) -> u32 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.subscribers.borrow_mut().push((id, callback));
        id
    }

    /// Removes a subscriber.
    pub fn unsubscribe(&self, id: u32) {
        self.subscribers.borrow_mut().retain(|(i, _)| *i != id);
    }

    /// The highest position subscribers have been given.
    pub fn delivered(&self) -> u64 {
        self.delivered.get()
    }

    /// Gives subscribers the events they have not had yet, as `{ events, source }`.
    pub fn deliver(&self, events: &[StoredEvent], source: Source) {
        let delivered = self.delivered.get();
        let fresh: Vec<&StoredEvent> = events.iter().filter(|e| e.position > delivered).collect();
        let Some(last) = fresh.iter().map(|e| e.position).max() else {
            return;
        };
        self.delivered.set(last);
        if !self.subscribers.borrow().is_empty() {
            self.notify(&to_js(&fresh).unwrap_or(JsValue::NULL), source, None);
        }
    }

    /// Tells subscribers that the read model moved, as `{ source: "projection", projected }`.
    pub fn deliver_projection(&self, projected: &Projected) {
        if projected.applied == 0 && projected.stopped.is_empty() {
            return;
        }
        let notice = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&notice, &"events".into(), &js_sys::Array::new());
        let _ = js_sys::Reflect::set(&notice, &"source".into(), &"projection".into());
        let _ = js_sys::Reflect::set(
            &notice,
            &"projected".into(),
            &to_js(projected).unwrap_or(JsValue::NULL),
        );
        self.call_subscribers(&notice);
    }

    /// Tells subscribers that reading what another tab appended failed.
    pub fn deliver_error(&self, error: JsValue) {
        self.notify(&js_sys::Array::new().into(), Source::Remote, Some(error));
    }

    fn notify(&self, events: &JsValue, source: Source, error: Option<JsValue>) {
        let notice = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&notice, &"events".into(), events);
        let _ = js_sys::Reflect::set(&notice, &"source".into(), &source.as_str().into());
        if let Some(error) = error {
            let _ = js_sys::Reflect::set(&notice, &"error".into(), &error);
        }
        self.call_subscribers(&notice);
    }

    fn call_subscribers(&self, notice: &js_sys::Object) {
        // A subscriber may unsubscribe from inside its callback: call a copy of the list.
        let subscribers: Vec<js_sys::Function> = self
            .subscribers
            .borrow()
            .iter()
            .map(|(_, f)| f.clone())
            .collect();
        for callback in subscribers {
            // One subscriber throwing must not keep the others from hearing.
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
    }
}
