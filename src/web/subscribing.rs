//! Subscribing to the log: a callback handed new events each exactly once, in order (from here
//! or from other tabs, or from a position: a catch-up), and catching up with other tabs now.

use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::class::JsSandbox;
use super::convert::options;
use super::dto::SubscribeOptions;
use super::runtime::promise;
use crate::event::StoredEvent;

#[wasm_bindgen(js_class = Sandbox)]
impl JsSandbox {
    /// Calls `callback({ events, source })` with new events, in position order, each exactly
    /// once: appended here (`"local"`) or in another tab (`"remote"`). `{ fromPosition }` first
    /// hands over the log from that position (a catch-up subscription). Returns a function that
    /// unsubscribes.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn subscribe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(notice: EventNotice) => void")]
        callback: js_sys::Function,
        #[wasm_bindgen(unchecked_param_type = "{ fromPosition?: number } | undefined")]
        subscribe: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.guard()?;
        let subscribe: SubscribeOptions = options(subscribe, "subscribe options")?;
        let after = subscribe.from_position.map(|from| from.saturating_sub(1));
        let id = self.news.subscribe(callback, after);
        let news = self.news.downgrade();
        Ok(Closure::<dyn FnMut()>::new(move || {
            if let Some(news) = news.upgrade() {
                news.unsubscribe(id);
            }
        })
        .into_js_value())
    }

    /// Reads what other tabs appended since this tab last looked, tells subscribers, and returns
    /// the new events. Tabs also do this on their own when another tab announces an append.
    #[wasm_bindgen(unchecked_return_type = "Promise<StoredEvent[]>")]
    pub fn refresh(&self) -> js_sys::Promise {
        let (sandbox, news) = (Rc::clone(&self.inner), Rc::clone(&self.news));
        promise(self.guarded(async move {
            let events: Vec<StoredEvent> = sandbox.write().refresh().await?;
            news.pump();
            Ok(events)
        }))
    }
}
