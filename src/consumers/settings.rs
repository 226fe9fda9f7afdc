//! What a lab run is made of: the subscription's kind and settings (KurrentDB's names for a
//! persistent subscription's), how consumers commit, the link's faults, and the seed.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::LabError;

/// How a persistent subscription picks the consumer of a message (KurrentDB's
/// `namedConsumerStrategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Strategy {
    /// Each message to the next consumer with room for it, in turn.
    #[default]
    RoundRobin,
    /// Every message to the first consumer with room for it; the next only when it is full.
    DispatchToSingle,
    /// Each aggregate (stream) to one consumer, by a hash of its id: one aggregate's events go
    /// to one consumer, in order, while the consumers stay the same.
    Pinned,
}

impl Strategy {
    /// KurrentDB's name for it.
    pub fn kurrent_name(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "RoundRobin",
            Strategy::DispatchToSingle => "DispatchToSingle",
            Strategy::Pinned => "Pinned",
        }
    }
}

/// Which kind of subscription consumers follow the log with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SubscriptionKind {
    /// The store keeps the group's position and hands messages out, at least once, to be
    /// acknowledged one by one.
    #[default]
    Persistent,
    /// The consumer keeps its own checkpoint and reads the log in order from it (how a
    /// projection rebuilds).
    CatchUp,
}

/// Whether consumers share the messages or each gets all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Topology {
    /// Each consumer has a subscription of its own and builds the whole read model.
    #[default]
    Independent,
    /// The consumers compete for the messages of one persistent group: each handles its share.
    Competing,
}

/// When a consumer commits its progress (its checkpoint, its ack), relative to handling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CommitMode {
    /// Handle, then commit: at least once (a crash in between repeats the event).
    #[default]
    AfterHandling,
    /// Commit, then handle: at most once (a crash in between loses the event).
    BeforeHandling,
}

/// What a consumer answers about a message it could not handle (KurrentDB's nack actions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NackAction {
    /// Send it again (counts as a retry: past `maxRetryCount` it is parked).
    #[default]
    Retry,
    /// Park it at once.
    Park,
    /// Consider it handled and go on.
    Skip,
}

/// A persistent subscription group's settings, named after KurrentDB's (times are the lab's
/// simulated milliseconds).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct GroupSettings {
    /// A message not acknowledged within this long is retried (`messageTimeoutMilliseconds`).
    pub message_timeout_ms: f64,
    /// Retries before a message is parked (`maxRetryCount`).
    pub max_retry_count: u32,
    /// Messages a consumer may hold without acknowledging them (the buffer size a client
    /// connects with): more wait at the store.
    pub in_flight_limit: u32,
    /// The group's checkpoint is written this long after the last one at most
    /// (`checkPointAfterMilliseconds`) …
    pub checkpoint_after_ms: f64,
    /// … once at least this many messages were handled since (`minCheckPointCount`) …
    pub min_checkpoint_count: u32,
    /// … and at once when this many were (`maxCheckPointCount`).
    pub max_checkpoint_count: u32,
    /// Who gets a message (`namedConsumerStrategy`).
    pub strategy: Strategy,
}

impl Default for GroupSettings {
    fn default() -> Self {
        GroupSettings {
            message_timeout_ms: 1_000.0,
            max_retry_count: 3,
            in_flight_limit: 5,
            checkpoint_after_ms: 500.0,
            min_checkpoint_count: 1,
            max_checkpoint_count: 100,
            strategy: Strategy::RoundRobin,
        }
    }
}

/// The link between the store and one consumer, both ways (acks travel back over it too).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct LinkSettings {
    /// How long every message takes at least.
    pub latency_ms: f64,
    /// Up to this much more, at random.
    pub jitter_ms: f64,
    /// The share of messages lost, in percent.
    pub drop_percent: f64,
    /// The share of messages that arrive twice, in percent.
    pub duplicate_percent: f64,
    /// Up to this much more again, at random, for one message in five: later messages overtake
    /// it (0: the link keeps order unless jitter reorders).
    pub reorder_ms: f64,
}

impl Default for LinkSettings {
    fn default() -> Self {
        LinkSettings {
            latency_ms: 100.0,
            jitter_ms: 0.0,
            drop_percent: 0.0,
            duplicate_percent: 0.0,
            reorder_ms: 0.0,
        }
    }
}

impl LinkSettings {
    /// A link that loses, repeats and reorders nothing.
    pub fn is_perfect(&self) -> bool {
        self.jitter_ms == 0.0
            && self.drop_percent == 0.0
            && self.duplicate_percent == 0.0
            && self.reorder_ms == 0.0
    }
}

/// Everything a lab run is made of but the log and what is done during it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct LabSettings {
    /// The seed of every random draw of the links: the same seed gives the same run.
    pub seed: u64,
    /// Persistent or catch-up subscriptions.
    pub kind: SubscriptionKind,
    /// Independent consumers, or competing ones in one group.
    pub topology: Topology,
    /// How many consumers (1 to 4).
    pub consumers: u32,
    /// The persistent group's settings (a catch-up feed uses the timeout and the in-flight
    /// limit as its window).
    pub group: GroupSettings,
    /// Every consumer's link.
    pub link: LinkSettings,
    /// When consumers commit.
    pub commit: CommitMode,
    /// Whether consumers keep an inbox of handled event ids, in the same transaction as their
    /// writes, and skip an id already there (the idempotent consumer).
    pub inbox: bool,
    /// What a consumer answers about an event it cannot handle.
    pub on_failure: NackAction,
    /// How long a consumer takes to handle one event.
    pub handling_ms: f64,
    /// How long a crashed consumer takes to come back.
    pub restart_ms: f64,
}

impl Default for LabSettings {
    fn default() -> Self {
        LabSettings {
            seed: 1,
            kind: SubscriptionKind::Persistent,
            topology: Topology::Independent,
            consumers: 2,
            group: GroupSettings::default(),
            link: LinkSettings::default(),
            commit: CommitMode::AfterHandling,
            inbox: false,
            on_failure: NackAction::Retry,
            handling_ms: 10.0,
            restart_ms: 500.0,
        }
    }
}

/// Most consumers a lab runs.
pub const MAX_CONSUMERS: u32 = 4;

fn in_range(
    setting: &'static str,
    value: f64,
    min: f64,
    max: f64,
    range: &'static str,
) -> Result<(), LabError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(LabError::Setting {
            setting,
            range,
            given: value.to_string(),
        })
    }
}

impl LabSettings {
    /// Checks every setting against its range.
    pub fn check(&self) -> Result<(), LabError> {
        let g = &self.group;
        let l = &self.link;
        in_range(
            "consumers",
            f64::from(self.consumers),
            1.0,
            f64::from(MAX_CONSUMERS),
            "1 to 4",
        )?;
        in_range(
            "group.messageTimeoutMs",
            g.message_timeout_ms,
            10.0,
            600_000.0,
            "10 to 600000 ms",
        )?;
        in_range(
            "group.maxRetryCount",
            f64::from(g.max_retry_count),
            0.0,
            100.0,
            "0 to 100",
        )?;
        in_range(
            "group.inFlightLimit",
            f64::from(g.in_flight_limit),
            1.0,
            10_000.0,
            "1 to 10000",
        )?;
        in_range(
            "group.checkpointAfterMs",
            g.checkpoint_after_ms,
            0.0,
            600_000.0,
            "0 to 600000 ms",
        )?;
        in_range(
            "group.minCheckpointCount",
            f64::from(g.min_checkpoint_count),
            1.0,
            100_000.0,
            "1 to 100000",
        )?;
        in_range(
            "group.maxCheckpointCount",
            f64::from(g.max_checkpoint_count),
            f64::from(g.min_checkpoint_count),
            100_000.0,
            "at least minCheckpointCount, at most 100000",
        )?;
        in_range(
            "link.latencyMs",
            l.latency_ms,
            0.0,
            60_000.0,
            "0 to 60000 ms",
        )?;
        in_range("link.jitterMs", l.jitter_ms, 0.0, 60_000.0, "0 to 60000 ms")?;
        in_range(
            "link.dropPercent",
            l.drop_percent,
            0.0,
            99.0,
            "0 to 99 (a link that drops everything never delivers)",
        )?;
        in_range(
            "link.duplicatePercent",
            l.duplicate_percent,
            0.0,
            100.0,
            "0 to 100",
        )?;
        in_range(
            "link.reorderMs",
            l.reorder_ms,
            0.0,
            60_000.0,
            "0 to 60000 ms",
        )?;
        in_range(
            "handlingMs",
            self.handling_ms,
            0.0,
            60_000.0,
            "0 to 60000 ms",
        )?;
        in_range(
            "restartMs",
            self.restart_ms,
            0.0,
            600_000.0,
            "0 to 600000 ms",
        )?;
        Ok(())
    }

    /// Whether the consumers compete in one persistent group.
    pub fn competing(&self) -> bool {
        self.kind == SubscriptionKind::Persistent && self.topology == Topology::Competing
    }
}

/// A group's settings as the body KurrentDB takes to create a persistent subscription
/// (`PUT /subscriptions/{stream}/{group}`): the lab's times become milliseconds as they are, the
/// in-flight limit is the buffer the client asks for when it connects (KurrentDB's own buffers
/// keep their defaults), and every consumer of the lab may connect.
pub fn kurrent_body(group: &GroupSettings, consumers: u32) -> Value {
    json!({
        "resolveLinktos": true,
        "startFrom": 0,
        "extraStatistics": false,
        "messageTimeoutMilliseconds": group.message_timeout_ms.round() as u64,
        "maxRetryCount": group.max_retry_count,
        "liveBufferSize": 500,
        "readBatchSize": 20,
        "bufferSize": 500,
        "checkPointAfterMilliseconds": group.checkpoint_after_ms.round() as u64,
        "minCheckPointCount": group.min_checkpoint_count,
        "maxCheckPointCount": group.max_checkpoint_count,
        "maxSubscriberCount": consumers,
        "namedConsumerStrategy": group.strategy.kurrent_name(),
    })
}

/// The streams a persistent subscription over these aggregates reads in KurrentDB: each
/// category's `$ce-` stream (the part of an id before its first `-`, as the by-category system
/// projection names it, hence `resolveLinktos`); an id without a `-` is a stream of its own.
pub fn kurrent_streams<'a>(aggregate_ids: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let streams: std::collections::BTreeSet<String> = aggregate_ids
        .into_iter()
        .map(|id| match id.split_once('-') {
            Some((category, _)) if !category.is_empty() => format!("$ce-{category}"),
            _ => id.to_string(),
        })
        .collect();
    streams.into_iter().collect()
}
