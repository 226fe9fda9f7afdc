//! Consumers over a faulty network, deterministic: what happens between a log and the nodes that
//! follow it. The store's side of a subscription (`group`: a persistent subscription with
//! competing consumers, as KurrentDB has them; `catch_up`: one consumer reading in order from its
//! own checkpoint), a consumer node's side (`node`: what it does with a delivery, when it
//! commits and acks, where it crashes), the simulated link between them (`link`), and the lab
//! that runs them on simulated time from a seed, keeps the trace of every message (`trace`) and
//! says where a consumer went wrong (`lab`), and whether each consumer's read model answers as the log
//! does (`verdict`). No clock, no JS, no SQLite: the read model a node
//! writes is behind [`Handler`]; the web layer runs each node in a worker.

mod catch_up;
mod error;
mod group;
mod lab;
mod link;
mod node;
mod settings;
mod trace;
mod verdict;

pub use catch_up::CatchUpFeed;
pub use error::LabError;
pub use group::{Dispatch, GroupStatus, Nack, Parked, PersistentGroup};
pub use lab::{Action, ConsumerStatus, Divergence, Happening, Lab, LabStatus, Scripted};
pub use link::{Link, Sent};
pub use node::{
    Applied, ConsumerNode, CrashPoint, Delivery, Handled, Handler, NodeConfig, Outcome, Reply,
};
pub use settings::{
    CommitMode, GroupSettings, LabSettings, LinkSettings, NackAction, Strategy, SubscriptionKind,
    Topology, kurrent_body, kurrent_streams,
};
pub use trace::{Arrow, ArrowKind, Fate};
pub use verdict::{Answered, ConsumerVerdict, Rows, Verdict, Verdicts, consumer_name, judge};
