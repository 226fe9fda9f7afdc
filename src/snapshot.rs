//! Snapshots: an aggregate's state at a version, sealed with a checksum and tagged with the rules
//! that computed it and the event it was taken after; and the pure policy of when one is due and
//! when one may be used.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::event::{EventId, StoredEvent};

/// An aggregate's state after `version`, so that a replay can start there instead of at version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// The aggregate the state belongs to.
    pub aggregate_id: String,
    /// The last version folded into `state`.
    pub version: u64,
    /// The id of the event at `version`: if another event holds that version now (the log was
    /// cut back and appended to), the snapshot is not used.
    #[serde(default)]
    pub event_id: Option<EventId>,
    /// The state as JSON.
    pub state: Value,
    /// Hash of the aggregate's rules and the upcasters in force when the state was computed; a
    /// snapshot whose hash differs from the current one is stale and is not used.
    pub rules_hash: String,
    /// A checksum of everything above: a snapshot edited after it was taken is not used.
    #[serde(default)]
    pub checksum: Option<String>,
}

/// Why a snapshot was not used.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum SkipReason {
    /// It was computed by other rules or upcasters.
    #[serde(rename_all = "camelCase")]
    StaleRules {
        /// The hash it carries.
        snapshot_hash: String,
        /// The current rules' hash.
        current_hash: String,
    },
    /// It includes an event the what-if replay leaves out.
    #[serde(rename_all = "camelCase")]
    IncludesExcluded {
        /// The first excluded version.
        excluded_version: u64,
    },
    /// Its checksum does not match: it was changed after it was taken (or never sealed).
    Tampered {
        /// What does not match.
        reason: String,
    },
    /// The event at its version is not the one it was taken after.
    #[serde(rename_all = "camelCase")]
    EventChanged {
        /// The event it was taken after.
        taken_after: Option<EventId>,
        /// The event at that version now (none: the log no longer reaches it).
        now: Option<EventId>,
    },
    /// Its state could not be turned back into a script value.
    Unreadable {
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::StaleRules {
                snapshot_hash,
                current_hash,
            } => write!(
                f,
                "made with other rules (hash {snapshot_hash}, rules now {current_hash})"
            ),
            SkipReason::IncludesExcluded { excluded_version } => {
                write!(f, "includes version {excluded_version}, which is left out")
            }
            SkipReason::Tampered { reason } => write!(f, "{reason}"),
            SkipReason::EventChanged { now: None, .. } => {
                f.write_str("the event it was taken after is no longer in the log")
            }
            SkipReason::EventChanged { .. } => f.write_str(
                "another event now holds its version: it was taken after one that is gone",
            ),
            SkipReason::Unreadable { reason } => write!(f, "cannot be read: {reason}"),
        }
    }
}

impl Snapshot {
    /// A sealed snapshot of `state` after the event `event_id` at `version`.
    pub fn new(
        aggregate_id: &str,
        version: u64,
        event_id: EventId,
        state: Value,
        rules_hash: &str,
    ) -> Self {
        let mut snapshot = Snapshot {
            aggregate_id: aggregate_id.to_string(),
            version,
            event_id: Some(event_id),
            state,
            rules_hash: rules_hash.to_string(),
            checksum: None,
        };
        snapshot.checksum = Some(snapshot.compute_checksum());
        snapshot
    }

    /// Whether this snapshot was taken at the last of `events` (its aggregate, version and id),
    /// folded as if that event were at log position `position` (rules may read positions).
    pub fn taken_at_end_of(&self, events: &[StoredEvent], position: u64) -> bool {
        events.last().is_some_and(|event| {
            *event.aggregate_id == *self.aggregate_id
                && event.version == self.version
                && Some(event.event_id) == self.event_id
                && event.position == position
        })
    }

    /// SHA-256 (first 16 bytes, hex) of the fields, in a fixed order, as canonical JSON (object
    /// keys sorted).
    fn compute_checksum(&self) -> String {
        let fields = serde_json::json!([
            self.aggregate_id,
            self.version,
            self.event_id,
            self.state,
            self.rules_hash
        ]);
        Sha256::digest(fields.to_string().as_bytes())
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether the snapshot may be used: sealed and unchanged, made by the current rules, taken
    /// after the event that holds its version now (`event_now`), and older than every excluded
    /// event (`first_excluded`).
    pub fn check(
        &self,
        current_hash: &str,
        event_now: Option<EventId>,
        first_excluded: Option<u64>,
    ) -> Result<(), SkipReason> {
        if let Some(excluded_version) = first_excluded.filter(|&v| self.version >= v) {
            return Err(SkipReason::IncludesExcluded { excluded_version });
        }
        match &self.checksum {
            None => {
                return Err(SkipReason::Tampered {
                    reason: "it has no checksum (taken by an older es-sandbox)".into(),
                });
            }
            Some(checksum) if *checksum != self.compute_checksum() => {
                return Err(SkipReason::Tampered {
                    reason: "its checksum does not match: it was edited after it was taken".into(),
                });
            }
            Some(_) => {}
        }
        if self.event_id.is_none() || self.event_id != event_now {
            return Err(SkipReason::EventChanged {
                taken_after: self.event_id,
                now: event_now,
            });
        }
        if self.rules_hash != current_hash {
            return Err(SkipReason::StaleRules {
                snapshot_hash: self.rules_hash.clone(),
                current_hash: current_hash.to_string(),
            });
        }
        Ok(())
    }
}

/// Whether an aggregate that reached `version` should get an automatic snapshot, given the
/// interval (0: never) and the version of its newest snapshot: when it has passed a multiple of
/// the interval since then. (Comparing with the newest snapshot, not with the version before the
/// last append, keeps a burst of concurrent appends from each taking one.)
pub fn is_due(interval: u64, newest: u64, version: u64) -> bool {
    interval > 0 && version >= interval && newest / interval < version / interval
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sealed() -> Snapshot {
        Snapshot::new(
            "acc-1",
            100,
            EventId::derived("e100"),
            json!({"balance": 7}),
            "h1",
        )
    }

    #[test]
    fn a_sealed_snapshot_is_usable_until_something_changes() {
        let id = Some(EventId::derived("e100"));
        assert_eq!(sealed().check("h1", id, None), Ok(()));
        let mut edited = sealed();
        edited.state = json!({"balance": 1_000_000});
        assert!(matches!(
            edited.check("h1", id, None),
            Err(SkipReason::Tampered { .. })
        ));
        assert!(matches!(
            sealed().check("h1", Some(EventId::derived("other")), None),
            Err(SkipReason::EventChanged { .. })
        ));
        assert!(matches!(
            sealed().check("h1", None, None),
            Err(SkipReason::EventChanged { now: None, .. })
        ));
        assert!(matches!(
            sealed().check("h2", id, None),
            Err(SkipReason::StaleRules { .. })
        ));
        assert_eq!(
            sealed().check("h1", id, Some(50)),
            Err(SkipReason::IncludesExcluded {
                excluded_version: 50
            })
        );
        let unsealed = Snapshot {
            checksum: None,
            ..sealed()
        };
        assert!(matches!(
            unsealed.check("h1", id, None),
            Err(SkipReason::Tampered { .. })
        ));
    }

    #[test]
    fn snapshots_are_due_every_interval() {
        // (interval, newest snapshot, version reached, due)
        let table = [
            (100, 0, 99, false),
            (100, 0, 100, true),
            (100, 0, 150, true),
            (100, 100, 150, false),
            (100, 100, 200, true),
            (100, 200, 250, false),
            (0, 0, 1_000, false),
            (1, 0, 1, true),
            (1, 1, 1, false),
        ];
        for (interval, newest, version, due) in table {
            assert_eq!(
                is_due(interval, newest, version),
                due,
                "interval {interval}, newest {newest}, version {version}"
            );
        }
    }
}
