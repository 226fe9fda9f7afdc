//! The trace of a lab run: one arrow per message on a link (each copy a duplicate made), with
//! when it left and arrived, what it carried, and what became of it: what a space-time diagram
//! draws.

use serde::Serialize;

use super::node::Outcome;
use crate::event::EventId;

/// What a message was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ArrowKind {
    /// An event, from the store to a consumer.
    Deliver,
    /// A consumer's acknowledgement.
    Ack,
    /// A consumer's "not handled" (with its action).
    Nack,
    /// A catch-up consumer asking for the log from a position.
    Subscribe,
    /// A catch-up consumer saying how far it has handled the log.
    Checkpoint,
    /// The store's answer to a catch-up consumer's subscription.
    Subscribed,
}

/// What became of a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "fate")]
pub enum Fate {
    /// Still on its way.
    InFlight,
    /// It arrived.
    Arrived,
    /// The link lost it.
    Lost,
    /// It arrived while the link was cut (a partition).
    Partitioned,
    /// Its consumer was down when it arrived (crashed, restarting).
    ConsumerDown,
}

/// One message on a link.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Arrow {
    /// Its number in the trace.
    pub id: u64,
    /// The consumer at the other end (from 0).
    pub consumer: usize,
    /// What it was.
    pub kind: ArrowKind,
    /// The log position it is about.
    pub position: u64,
    /// The event it is about, if any.
    pub event_id: Option<EventId>,
    /// For a delivery: how many times the store had sent this event to anyone before.
    pub attempt: u32,
    /// When it left.
    pub sent_at: f64,
    /// When it arrived (or would have).
    pub arrives_at: f64,
    /// What became of it.
    #[serde(flatten)]
    pub fate: Fate,
    /// A copy the link made.
    pub duplicate: bool,
    /// A delivery of an event sent before (a retry, a resend, a replay of a parked event).
    pub redelivery: bool,
    /// For a delivery that arrived: what the consumer did with it.
    pub outcome: Option<Outcome>,
}
