//! Live subscriptions to the log, as the core keeps them: who is subscribed and how far each
//! was handed the log (`subscribers`), the pump that reads what is new and hands it out, each
//! position to each subscriber once and in order (`pump`), a job that runs one at a time
//! (`serial`), and when to tell other tabs that the log moved (`announcer`). No clock, no JS:
//! the web layer supplies the sinks (callbacks) and the scheduling (`spawn_local`, timers), and
//! tests drive it all natively.

mod announcer;
mod pump;
mod serial;
mod subscribers;

pub use announcer::Announcer;
pub use pump::{Moved, NewsPump, ROUND};
pub use serial::Serial;
pub use subscribers::{Sink, SubscriberId, Subscribers};
