//! Replays, as the write side serves them: it fetches what a replay needs (the stream, or only
//! its tail after the newest usable snapshot) and hands it to the pure fold in `replay`.

use std::collections::HashSet;

use rhai::Dynamic;

use super::WriteSide;
use super::WriteSideError;
use crate::domain::AggregateType;
use crate::event::EventId;
use crate::replay::{self, Replay, ReplayInput, ReplayOptions};
use crate::store::{EventStore, ReadAll, VersionRange};

use super::heads::HeadState;

impl<S: EventStore> WriteSide<S> {
    /// Replays an aggregate: at its head, a version or a time, optionally leaving events out and
    /// tracing every step.
    pub async fn replay(
        &self,
        aggregate_id: &str,
        options: &ReplayOptions,
    ) -> Result<Replay, WriteSideError> {
        let aggregate = self.aggregate_type(aggregate_id)?;
        let (replay, state) = self.replay_state(aggregate, aggregate_id, options).await?;
        if replay.version == replay.head_version && replay.excluded_versions.is_empty() {
            let head = HeadState {
                version: replay.version,
                state,
            };
            self.heads.put(aggregate_id, head);
        }
        Ok(replay)
    }

    /// A replay and the state it reached as a script value.
    pub(super) async fn replay_state(
        &self,
        aggregate: &AggregateType,
        aggregate_id: &str,
        options: &ReplayOptions,
    ) -> Result<(Replay, Dynamic), WriteSideError> {
        let head_version = self.store.stream_version(aggregate_id).await?;
        // Time travel by position is a replay up to the version the aggregate had there: the
        // events after that position are counted through the stream's index, not read.
        let by_position;
        let options = match options.position {
            Some(position) if options.version.is_none() && options.time.is_none() => {
                let later = ReadAll {
                    aggregate_id: Some(aggregate_id.to_string()),
                    ..ReadAll::from_position(position.saturating_add(1), usize::MAX)
                };
                let after = self.store.count(&later).await? as u64;
                by_position = ReplayOptions {
                    version: Some(head_version.saturating_sub(after)),
                    position: None,
                    ..options.clone()
                };
                &by_position
            }
            _ => options,
        };
        // Time travel by time and what-if need the whole stream to find versions; other replays
        // read only the tail after the snapshot.
        let whole = if options.time.is_some()
            || options.position.is_some()
            || !options.exclude.is_empty()
        {
            Some(
                self.store
                    .read_stream(aggregate_id, VersionRange::ALL)
                    .await?,
            )
        } else {
            None
        };
        let target = replay::target_version(aggregate_id, options, head_version, whole.as_deref())?;
        let excluded: HashSet<EventId> = options.exclude.iter().copied().collect();
        let excluded_versions: Vec<u64> = whole
            .iter()
            .flatten()
            .filter(|e| e.version <= target && excluded.contains(&e.event_id))
            .map(|e| e.version)
            .collect();
        let (start, skipped) = if options.use_snapshots {
            let first_excluded = excluded_versions.first().copied();
            self.usable_snapshot(aggregate, aggregate_id, target, first_excluded)
                .await?
        } else {
            (None, Vec::new())
        };
        let from = start.as_ref().map_or(0, |s| s.version);
        let events = match whole {
            Some(events) => events
                .into_iter()
                .filter(|e| e.version > from && e.version <= target)
                .collect(),
            None => {
                let range = VersionRange {
                    from: from + 1,
                    to: Some(target),
                };
                self.store.read_stream(aggregate_id, range).await?
            }
        };
        let input = ReplayInput {
            aggregate_id,
            head_version,
            target,
            start,
            skipped,
            events: &events,
            excluded: &excluded,
            excluded_versions,
            trace: options.trace,
        };
        Ok(replay::replay(&self.domain, aggregate, input).await?)
    }
}
