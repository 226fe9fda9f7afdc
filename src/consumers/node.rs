//! A consumer node's side: what it does with a delivery. It handles the event through its
//! [`Handler`] (the read model it writes, with the inbox of handled ids in the same
//! transaction when asked), commits its progress before or after that (at most or at least
//! once), answers the store (ack, nack, or for a catch-up consumer its checkpoint), and can be
//! told to crash at a point of the next delivery.

use serde::{Deserialize, Serialize};

use super::{CommitMode, NackAction, SubscriptionKind};
use crate::event::{EventId, StoredEvent};

/// What a handler did with an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Applied {
    /// Its effect was written (with its inbox row, when asked).
    New,
    /// The inbox already held its id: nothing was written.
    Duplicate,
}

/// The read model a node writes, and its own durable checkpoint.
pub trait Handler {
    /// Applies an event, all or nothing: its effect and, with `inbox`, the row that records its
    /// id, in one transaction; with `inbox`, an id already recorded writes nothing. `Err`: the
    /// effect could not be written (nothing was), with why.
    fn apply(&mut self, event: &StoredEvent, inbox: bool) -> Result<Applied, String>;
    /// The node's own checkpoint: the last position it committed (0: none).
    fn checkpoint(&self) -> u64;
    /// Commits the node's checkpoint, durably.
    fn save_checkpoint(&mut self, position: u64) -> Result<(), String>;
}

/// Where a node crashes in the next delivery it handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CrashPoint {
    /// Before it handles the event (after committing, when it commits first).
    BeforeHandling,
    /// After its write to the read model, before its checkpoint and its ack.
    AfterWrite,
    /// After it acknowledged the event.
    AfterAck,
}

/// An event handed to a node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// How many times the store had sent this event to anyone before.
    pub attempt: u32,
    /// The event.
    pub event: StoredEvent,
}

/// What a node says to the store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Reply {
    /// The event at this position was handled (or is to be taken as handled).
    Ack {
        /// Its position.
        position: u64,
        /// Its id.
        event_id: EventId,
    },
    /// The event could not be handled: what to do with it, and why.
    Nack {
        /// Its position.
        position: u64,
        /// Its id.
        event_id: EventId,
        /// The delivery's attempt it answers (the store ignores a nack of an earlier one: the
        /// link may repeat it, or deliver it late).
        attempt: u32,
        /// Retry, park or skip.
        action: NackAction,
        /// Why it failed.
        reason: String,
    },
    /// A catch-up node asks for the log from this position on.
    Subscribe {
        /// The first position it wants.
        from: u64,
    },
    /// A catch-up node has handled the log up to this position.
    Checkpoint {
        /// The last position it committed.
        position: u64,
    },
}

/// What a node did with a delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Outcome {
    /// Its effect was written.
    Applied,
    /// The inbox held its id: nothing was written (a duplicate absorbed).
    Absorbed,
    /// Not handled, on purpose: a catch-up node already had it, or it came before its turn.
    Ignored {
        /// Why.
        why: String,
    },
    /// The handler failed on it; the node nacked it.
    Failed {
        /// Why.
        reason: String,
    },
    /// The node crashed while handling it.
    Crashed {
        /// Where.
        point: CrashPoint,
        /// Whether its effect was written before the crash.
        written: bool,
    },
}

/// A delivery's outcome and what the node says to the store about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Handled {
    /// What the node did.
    pub outcome: Outcome,
    /// What it says to the store, in order.
    pub replies: Vec<Reply>,
}

impl Handled {
    /// Whether the node crashed on it.
    pub fn crashed(&self) -> bool {
        matches!(self.outcome, Outcome::Crashed { .. })
    }
}

/// How a node follows the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    /// Persistent or catch-up.
    pub kind: SubscriptionKind,
    /// When it commits.
    pub commit: CommitMode,
    /// Whether it keeps an inbox.
    pub inbox: bool,
    /// What it answers about an event it cannot handle.
    pub on_failure: NackAction,
}

/// A consumer node: its handler (the read model), how it follows the log, and a crash it was
/// told to have.
pub struct ConsumerNode<H> {
    config: NodeConfig,
    handler: H,
    armed: Option<CrashPoint>,
}

impl<H: Handler> ConsumerNode<H> {
    /// A node over its handler.
    pub fn new(config: NodeConfig, handler: H) -> Self {
        ConsumerNode {
            config,
            handler,
            armed: None,
        }
    }

    /// Its handler.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// Its handler, to ask (a query of its read model).
    pub fn handler_mut(&mut self) -> &mut H {
        &mut self.handler
    }

    /// Gives its handler back (the durable state a restarted node starts from).
    pub fn into_handler(self) -> H {
        self.handler
    }

    /// Makes it crash at `point` in the next delivery it handles.
    pub fn arm(&mut self, point: CrashPoint) {
        self.armed = Some(point);
    }

    /// What it says when it (re)starts: a catch-up node asks for the log after its checkpoint;
    /// a persistent one only connects (its group knows where it is).
    pub fn start(&self) -> Vec<Reply> {
        match self.config.kind {
            SubscriptionKind::CatchUp => vec![Reply::Subscribe {
                from: self.handler.checkpoint() + 1,
            }],
            SubscriptionKind::Persistent => Vec::new(),
        }
    }

    /// Handles one delivery.
    pub fn receive(&mut self, delivery: &Delivery) -> Handled {
        let event = &delivery.event;
        if self.config.kind == SubscriptionKind::CatchUp {
            // A catch-up node takes the log in order: what it has is repeated, what is ahead of
            // its turn comes again once the gap before it is filled.
            let checkpoint = self.handler.checkpoint();
            if event.position <= checkpoint {
                return ignored(
                    format!("already handled: its checkpoint is {checkpoint}"),
                    checkpoint,
                );
            }
            if event.position > checkpoint + 1 {
                return ignored(
                    format!("out of turn: it waits for position {}", checkpoint + 1),
                    checkpoint,
                );
            }
        }
        let crash = self.armed.take();
        let crashed = |point, written| Handled {
            outcome: Outcome::Crashed { point, written },
            replies: Vec::new(),
        };
        let mut replies = Vec::new();
        if self.config.commit == CommitMode::BeforeHandling {
            if let Err(reason) = self.commit(event, &mut replies) {
                return self.failed(delivery, reason);
            }
            if crash == Some(CrashPoint::BeforeHandling) {
                // The store heard "done" (or the checkpoint moved on): the event is lost.
                return Handled {
                    outcome: Outcome::Crashed {
                        point: CrashPoint::BeforeHandling,
                        written: false,
                    },
                    replies,
                };
            }
        } else if crash == Some(CrashPoint::BeforeHandling) {
            return crashed(CrashPoint::BeforeHandling, false);
        }
        let applied = match self.handler.apply(event, self.config.inbox) {
            Ok(applied) => applied,
            Err(reason) if self.config.commit == CommitMode::BeforeHandling => {
                // Already committed: the failure is only the node's to see.
                return Handled {
                    outcome: Outcome::Failed { reason },
                    replies,
                };
            }
            Err(reason) => return self.failed(delivery, reason),
        };
        if crash == Some(CrashPoint::AfterWrite) {
            return Handled {
                outcome: Outcome::Crashed {
                    point: CrashPoint::AfterWrite,
                    written: applied == Applied::New,
                },
                replies,
            };
        }
        if self.config.commit == CommitMode::AfterHandling
            && let Err(reason) = self.commit(event, &mut replies)
        {
            return self.failed(delivery, reason);
        }
        let outcome = match applied {
            Applied::New => Outcome::Applied,
            Applied::Duplicate => Outcome::Absorbed,
        };
        if crash == Some(CrashPoint::AfterAck) {
            return Handled {
                outcome: Outcome::Crashed {
                    point: CrashPoint::AfterAck,
                    written: applied == Applied::New,
                },
                replies,
            };
        }
        Handled { outcome, replies }
    }

    /// Commits the node's progress past an event: a catch-up node its checkpoint (and tells the
    /// store), a persistent node its ack.
    fn commit(&mut self, event: &StoredEvent, replies: &mut Vec<Reply>) -> Result<(), String> {
        match self.config.kind {
            SubscriptionKind::CatchUp => {
                self.handler.save_checkpoint(event.position)?;
                replies.push(Reply::Checkpoint {
                    position: event.position,
                });
            }
            SubscriptionKind::Persistent => replies.push(Reply::Ack {
                position: event.position,
                event_id: event.event_id,
            }),
        }
        Ok(())
    }

    /// A delivery the handler failed on: a persistent node nacks it, a catch-up node asks for
    /// the log from it again (it will fail there again until the projection is fixed).
    fn failed(&self, delivery: &Delivery, reason: String) -> Handled {
        let event = &delivery.event;
        let reply = match self.config.kind {
            SubscriptionKind::Persistent => Reply::Nack {
                position: event.position,
                event_id: event.event_id,
                attempt: delivery.attempt,
                action: self.config.on_failure,
                reason: reason.clone(),
            },
            SubscriptionKind::CatchUp => Reply::Checkpoint {
                position: self.handler.checkpoint(),
            },
        };
        Handled {
            outcome: Outcome::Failed { reason },
            replies: vec![reply],
        }
    }
}

/// A delivery a catch-up node did not take; it says where it is, so the store resends.
fn ignored(why: String, checkpoint: u64) -> Handled {
    Handled {
        outcome: Outcome::Ignored { why },
        replies: vec![Reply::Checkpoint {
            position: checkpoint,
        }],
    }
}
