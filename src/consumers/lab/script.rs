//! What is done during a run, with its time: the run's script. A run is a function of its log,
//! its settings, its seed and its script, so the same script reproduces a run.

use serde::{Deserialize, Serialize};

use crate::consumers::{CrashPoint, LabError, LabSettings, SubscriptionKind};

/// Something done during a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum Action {
    /// Cut a consumer's link (both ways), or mend it.
    Partition {
        /// The consumer (from 0).
        consumer: usize,
        /// Cut (true) or mended (false).
        cut: bool,
    },
    /// Make a consumer crash at a point of the next delivery it handles.
    Crash {
        /// The consumer.
        consumer: usize,
        /// Where.
        point: CrashPoint,
    },
    /// Send the parked messages again, ahead of new ones: all, or those numbered below
    /// `stopAt` in the parked stream (KurrentDB's `replayParked?stopAt=`).
    ReplayParked {
        /// The parked stream's event number to stop at (`None`: all).
        stop_at: Option<u64>,
    },
    /// Restart the store's side of the subscriptions (a leader change): persistent groups
    /// resume after their written checkpoints.
    RestartGroup,
    /// The log grew to this head (events appended during the run).
    LogGrew {
        /// The new head.
        head: u64,
    },
    /// Every consumer is stopped and started again with new code: the definitions of the
    /// projections it runs from now on (a fixed projection). What they held is sent again.
    Redeploy {
        /// The definitions, as the web layer gives them (the core only keeps them).
        definitions: serde_json::Value,
    },
}

/// An action at a time of the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scripted {
    /// When, in simulated milliseconds.
    pub at_ms: f64,
    /// What.
    pub action: Action,
}

pub(super) fn check_action(settings: &LabSettings, action: &Action) -> Result<(), LabError> {
    let consumers = settings.consumers as usize;
    let consumer = match action {
        Action::Partition { consumer, .. } | Action::Crash { consumer, .. } => Some(*consumer),
        _ => None,
    };
    if let Some(consumer) = consumer
        && consumer >= consumers
    {
        return Err(LabError::NoSuchConsumer {
            consumer,
            consumers,
        });
    }
    if matches!(action, Action::ReplayParked { .. })
        && settings.kind != SubscriptionKind::Persistent
    {
        return Err(LabError::NotPersistent {
            action: "replaying parked messages",
        });
    }
    Ok(())
}
