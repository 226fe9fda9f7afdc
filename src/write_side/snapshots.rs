//! Snapshots on the write side: taken automatically when one is due (the policy is
//! `snapshot::is_due`), or on request; and chosen for a replay, newest usable first.

use std::cell::RefCell;
use std::collections::HashMap;

use super::WriteSide;
use super::WriteSideError;
use super::heads::HeadState;
use crate::aggregate::{Placement, state_to_json};
use crate::domain::{AggregateType, MAX_SNAPSHOT_INTERVAL};
use crate::event::{EventId, ProposedEvent};
use crate::expected::ExpectedVersion;
use crate::replay::{SkippedSnapshot, Start};
use crate::snapshot::{self, Snapshot};
use crate::store::{AppendOutcome, EventStore, SnapshotFate, VersionRange};

/// The newest snapshot version this tab saved (or is saving) per aggregate, so that concurrent
/// appends do not all take the same automatic snapshot.
#[derive(Default)]
pub(super) struct Claims(RefCell<HashMap<String, u64>>);

/// An automatic snapshot claimed and not written yet: the claim it replaced, to give back if
/// it is not written after all.
struct Claim {
    version: u64,
    previous: Option<u64>,
}

impl<S: EventStore> WriteSide<S> {
    /// Takes a snapshot when one is due; says which one, or why it could not be taken (the
    /// events are stored regardless).
    pub(super) async fn auto_snapshot(
        &self,
        aggregate: &AggregateType,
        aggregate_id: &str,
        head: &HeadState,
    ) -> (Option<u64>, Option<String>) {
        match self.claim_if_due(aggregate_id, head.version).await {
            Ok(Some(_)) => {}
            Ok(None) => return (None, None),
            Err(e) => return (None, Some(e.to_string())),
        }
        match self.save_snapshot(aggregate, aggregate_id, head).await {
            Ok(snapshot) => (Some(snapshot.version), None),
            Err(e) => (None, Some(e.to_string())),
        }
    }

    /// Appends a batch folded onto the head as `folded` (placed at `at`), with the automatic
    /// snapshot due at its end if one is, in one write where the store can. Returns the outcome
    /// and what became of that snapshot: written (its version), failed (why), or `None` when
    /// none went with the batch (none was due, or the events landed elsewhere).
    pub(super) async fn append_with_due_snapshot(
        &self,
        aggregate: &AggregateType,
        at: &Placement<'_>,
        expected: ExpectedVersion,
        proposed: Vec<ProposedEvent>,
        folded: &HeadState,
    ) -> Result<(AppendOutcome, Option<Result<u64, String>>), WriteSideError> {
        let planned = match proposed.last() {
            Some(last) => {
                self.snapshot_for_batch(aggregate, at.aggregate_id, folded, last.event_id)
                    .await
            }
            None => None,
        };
        let Some((snapshot, claim)) = planned else {
            let outcome = self
                .store
                .append(at.aggregate_id, expected, proposed)
                .await?;
            return Ok((outcome, None));
        };
        // Where the batch's last event lands if nobody appends first: where it was folded.
        let last_position = at.position + proposed.len() as u64;
        let appended = self
            .store
            .append_with_snapshot(
                at.aggregate_id,
                expected,
                proposed,
                (snapshot, last_position),
            )
            .await;
        match appended {
            Ok((outcome, SnapshotFate::Saved)) => Ok((outcome, Some(Ok(folded.version)))),
            Ok((outcome, SnapshotFate::Failed(e))) => Ok((outcome, Some(Err(e.to_string())))),
            Ok((outcome, SnapshotFate::NotPlaced)) => {
                self.release(at.aggregate_id, claim);
                Ok((outcome, None))
            }
            Err(e) => {
                self.release(at.aggregate_id, claim);
                Err(e.into())
            }
        }
    }

    /// The automatic snapshot due at the end of a batch not appended yet, claimed, to be written
    /// with the batch: the state `folded` at the batch's `last` event. `None` when none is due
    /// (or it cannot be made now: the append then takes it the usual way, after the write).
    async fn snapshot_for_batch(
        &self,
        aggregate: &AggregateType,
        aggregate_id: &str,
        folded: &HeadState,
        last: EventId,
    ) -> Option<(Snapshot, Claim)> {
        let claim = self
            .claim_if_due(aggregate_id, folded.version)
            .await
            .ok()??;
        match snapshot_of(aggregate, aggregate_id, folded, last) {
            Ok(snapshot) => Some((snapshot, claim)),
            Err(_) => {
                self.release(aggregate_id, claim);
                None
            }
        }
    }

    /// Claims the automatic snapshot at `version` if one is due there, counting from the newest
    /// snapshot stored or claimed; `None` when none is due.
    async fn claim_if_due(
        &self,
        aggregate_id: &str,
        version: u64,
    ) -> Result<Option<Claim>, WriteSideError> {
        let interval = self.snapshot_interval.get();
        if !snapshot::is_due(interval, 0, version) {
            return Ok(None);
        }
        let stored = self
            .store
            .newest_snapshot(aggregate_id, u64::MAX)
            .await?
            .map_or(0, |s| s.version);
        let mut claims = self.snapshots.0.borrow_mut();
        let previous = claims.get(aggregate_id).copied();
        if !snapshot::is_due(interval, previous.unwrap_or(0).max(stored), version) {
            return Ok(None);
        }
        // Claimed before the write is awaited: a concurrent append sees it.
        claims.insert(aggregate_id.to_string(), version);
        Ok(Some(Claim { version, previous }))
    }

    /// Gives back a claim whose snapshot was not written, unless a later one replaced it.
    fn release(&self, aggregate_id: &str, claim: Claim) {
        let mut claims = self.snapshots.0.borrow_mut();
        if claims.get(aggregate_id) == Some(&claim.version) {
            match claim.previous {
                Some(previous) => claims.insert(aggregate_id.to_string(), previous),
                None => claims.remove(aggregate_id),
            };
        }
    }

    pub(super) async fn save_snapshot(
        &self,
        aggregate: &AggregateType,
        aggregate_id: &str,
        head: &HeadState,
    ) -> Result<Snapshot, WriteSideError> {
        let event_id = self
            .event_id_at(aggregate_id, head.version)
            .await?
            .ok_or_else(|| {
                WriteSideError::bad_input(
                    "snapshot",
                    format!("{aggregate_id} has no version {}", head.version),
                )
            })?;
        let snapshot = snapshot_of(aggregate, aggregate_id, head, event_id)?;
        self.store.save_snapshot(snapshot.clone()).await?;
        Ok(snapshot)
    }

    /// How many events per aggregate between automatic snapshots (0: never).
    pub fn snapshot_interval(&self) -> u64 {
        self.snapshot_interval.get()
    }

    /// Sets it, from 0 (never) to [`MAX_SNAPSHOT_INTERVAL`]; it applies to the next appends.
    pub fn set_snapshot_interval(&self, interval: u64) -> Result<(), WriteSideError> {
        if interval > MAX_SNAPSHOT_INTERVAL {
            return Err(WriteSideError::bad_input(
                "snapshot interval",
                format!("must be 0 (never) to {MAX_SNAPSHOT_INTERVAL} events, got {interval}"),
            ));
        }
        self.snapshot_interval.set(interval);
        Ok(())
    }

    /// Takes a snapshot of an aggregate at its last version, now.
    pub async fn snapshot(&self, aggregate_id: &str) -> Result<Snapshot, WriteSideError> {
        let aggregate = self.aggregate_type(aggregate_id)?;
        let head = self.head_state(aggregate, aggregate_id).await?;
        if head.version == 0 {
            return Err(WriteSideError::bad_input(
                "snapshot",
                format!("{aggregate_id} has no events to snapshot"),
            ));
        }
        self.save_snapshot(aggregate, aggregate_id, &head).await
    }

    /// An aggregate's snapshots, oldest first.
    pub async fn snapshots(&self, aggregate_id: &str) -> Result<Vec<Snapshot>, WriteSideError> {
        Ok(self.store.snapshots(aggregate_id).await?)
    }

    /// The id of the event at a version of an aggregate.
    async fn event_id_at(
        &self,
        aggregate_id: &str,
        version: u64,
    ) -> Result<Option<EventId>, WriteSideError> {
        let range = VersionRange {
            from: version,
            to: Some(version),
        };
        let events = self.store.read_stream(aggregate_id, range).await?;
        Ok(events.first().map(|e| e.event_id))
    }

    /// The newest snapshot at or below `target` that may be used (see [`Snapshot::check`]), and
    /// why newer ones were passed over.
    pub(super) async fn usable_snapshot(
        &self,
        aggregate: &AggregateType,
        aggregate_id: &str,
        target: u64,
        first_excluded: Option<u64>,
    ) -> Result<(Option<Start>, Vec<SkippedSnapshot>), WriteSideError> {
        let mut skipped = Vec::new();
        let mut at_most = target;
        // Newest first, one at a time: usually the first one is usable.
        while let Some(snapshot) = self.store.newest_snapshot(aggregate_id, at_most).await? {
            let now = self.event_id_at(aggregate_id, snapshot.version).await?;
            let usable = snapshot
                .check(&aggregate.rules_hash, now, first_excluded)
                .and_then(|()| Start::from_snapshot(&snapshot));
            match usable {
                Ok(start) => return Ok((Some(start), skipped)),
                Err(reason) => skipped.push(SkippedSnapshot::new(snapshot.version, reason)),
            }
            let Some(below) = snapshot.version.checked_sub(1) else {
                break;
            };
            at_most = below;
        }
        Ok((None, skipped))
    }
}

/// The snapshot of an aggregate's state `head`, taken at the event `event_id` (its version).
fn snapshot_of(
    aggregate: &AggregateType,
    aggregate_id: &str,
    head: &HeadState,
    event_id: EventId,
) -> Result<Snapshot, WriteSideError> {
    Ok(Snapshot::new(
        aggregate_id,
        head.version,
        event_id,
        state_to_json(aggregate, &head.state)?,
        &aggregate.rules_hash,
    ))
}
