//! What the page shows of the log beyond its events: where the snapshots are and whether each
//! may be used, how much is stored, what a replay costs at each version, how an aggregate's
//! numbers moved, and an old event beside its upcast form.

use rhai::Dynamic;
use serde::Serialize;

use super::WriteSide;
use super::WriteSideError;
use super::sizes::json_size;
use crate::aggregate::{fold, initial_state};
use crate::event::{EventId, StoredEvent};
use crate::replay::SkippedSnapshot;
use crate::scenario::UpcasterSpec;
use crate::store::{EventStore, ReadAll, VersionRange};

/// A stored snapshot, placed in the log.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotMarker {
    /// Its aggregate.
    pub aggregate_id: String,
    /// The version it was taken after.
    pub version: u64,
    /// The position of the event at that version now (none: the log no longer reaches it).
    pub position: Option<u64>,
    /// Why a replay would skip it (none: it is usable).
    pub stale: Option<SkippedSnapshot>,
    /// Its size as stored, in bytes.
    pub bytes: usize,
}

/// How much one aggregate stores.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregateStorage {
    /// The aggregate.
    pub aggregate_id: String,
    /// Its events.
    pub events: u64,
    /// Their size as JSON, in bytes.
    pub bytes: usize,
    /// Its snapshots.
    pub snapshots: usize,
    /// Their size as JSON, in bytes.
    pub snapshot_bytes: usize,
}

/// How much the log stores, in all and per aggregate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Storage {
    /// Events in the log.
    pub events: u64,
    /// Their size as JSON, in bytes.
    pub bytes: usize,
    /// Snapshots stored.
    pub snapshots: usize,
    /// Their size as JSON, in bytes.
    pub snapshot_bytes: usize,
    /// Per aggregate, the largest first.
    pub aggregates: Vec<AggregateStorage>,
}

/// What replaying an aggregate costs at each version: events folded from the start, and from
/// the newest usable snapshot at or below that version (the saw-tooth).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayCosts {
    /// The aggregate's last version: a replay without snapshots folds as many events as the
    /// version it stops at.
    pub versions: u64,
    /// The usable snapshots' versions.
    pub snapshots: Vec<u64>,
    /// The corners of the with-snapshots line: (version, events folded).
    pub with_snapshots: Vec<(u64, u64)>,
}

/// An aggregate's numeric fields over its versions (at most `MAX_POINTS`, evenly spread).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateSeries {
    /// The numeric top-level fields of its state, in order of first appearance.
    pub fields: Vec<String>,
    /// One point per sampled version.
    pub points: Vec<SeriesPoint>,
}

/// The numeric fields after one version.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesPoint {
    /// The version.
    pub version: u64,
    /// The position of its event.
    pub position: u64,
    /// Each field's value (`null` where it is not a number then), in `fields` order.
    pub values: Vec<Option<f64>>,
}

/// An event as stored and as the rules read it, with the upcasters between.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpcastView {
    /// The event exactly as stored.
    pub stored: StoredEvent,
    /// The event as the rules read it (current schema version).
    pub upcast: Option<StoredEvent>,
    /// Why it cannot be read so, if it cannot.
    pub error: Option<String>,
    /// The upcasters it goes through, in order.
    pub upcasters: Vec<UpcasterSpec>,
}

/// Most points of a state series.
const MAX_POINTS: usize = 500;

impl<S: EventStore> WriteSide<S> {
    /// Every stored snapshot of every aggregate, placed in the log, each saying whether a
    /// replay may use it and why not.
    pub async fn snapshot_markers(&self) -> Result<Vec<SnapshotMarker>, WriteSideError> {
        let mut markers = Vec::new();
        for stream in self.store.streams().await? {
            let Some(aggregate) = self.domain.aggregate_type_of(&stream.aggregate_id) else {
                continue;
            };
            for snapshot in self.store.snapshots(&stream.aggregate_id).await? {
                let range = VersionRange {
                    from: snapshot.version,
                    to: Some(snapshot.version),
                };
                let at = self.store.read_stream(&stream.aggregate_id, range).await?;
                let event = at.first();
                let stale = snapshot
                    .check(&aggregate.rules_hash, event.map(|e| e.event_id), None)
                    .err()
                    .map(|reason| SkippedSnapshot::new(snapshot.version, reason));
                markers.push(SnapshotMarker {
                    aggregate_id: stream.aggregate_id.clone(),
                    version: snapshot.version,
                    position: event.map(|e| e.position),
                    stale,
                    bytes: json_size(&snapshot),
                });
            }
        }
        Ok(markers)
    }

    /// How much the log and its snapshots store, in all and per aggregate.
    pub async fn storage(&self) -> Result<Storage, WriteSideError> {
        let mut aggregates = Vec::new();
        for stream in self.store.streams().await? {
            let bytes = self
                .sizes
                .bytes(&self.store, &stream.aggregate_id, stream.version)
                .await?;
            let snapshots = self.store.snapshots(&stream.aggregate_id).await?;
            aggregates.push(AggregateStorage {
                aggregate_id: stream.aggregate_id,
                events: stream.version,
                bytes,
                snapshots: snapshots.len(),
                snapshot_bytes: snapshots.iter().map(json_size).sum(),
            });
        }
        aggregates.sort_by_key(|a| std::cmp::Reverse(a.bytes));
        Ok(Storage {
            events: self.store.head_position().await?,
            bytes: aggregates.iter().map(|a| a.bytes).sum(),
            snapshots: aggregates.iter().map(|a| a.snapshots).sum(),
            snapshot_bytes: aggregates.iter().map(|a| a.snapshot_bytes).sum(),
            aggregates,
        })
    }

    /// What replaying an aggregate costs at each of its versions, with and without snapshots.
    pub async fn replay_costs(&self, aggregate_id: &str) -> Result<ReplayCosts, WriteSideError> {
        let versions = self.store.stream_version(aggregate_id).await?;
        let usable: Vec<u64> = self
            .snapshot_markers()
            .await?
            .into_iter()
            .filter(|m| m.aggregate_id == aggregate_id && m.stale.is_none())
            .map(|m| m.version)
            .collect();
        // Between two snapshots the cost climbs by one per version, then drops to 0.
        let mut with_snapshots = vec![(0, 0)];
        let mut from = 0;
        for &snapshot in &usable {
            let before = snapshot.saturating_sub(1);
            with_snapshots.push((before, before.saturating_sub(from)));
            with_snapshots.push((snapshot, 0));
            from = snapshot;
        }
        with_snapshots.push((versions, versions.saturating_sub(from)));
        with_snapshots.dedup();
        Ok(ReplayCosts {
            versions,
            snapshots: usable,
            with_snapshots,
        })
    }

    /// An aggregate's numeric state fields over its versions, folded from the start.
    pub async fn state_series(&self, aggregate_id: &str) -> Result<StateSeries, WriteSideError> {
        let aggregate = self.aggregate_type(aggregate_id)?;
        let events = self
            .store
            .read_stream(aggregate_id, VersionRange::ALL)
            .await?;
        let every = events.len().div_ceil(MAX_POINTS).max(1);
        let mut state = initial_state(&self.domain, aggregate)?;
        let mut fields: Vec<String> = Vec::new();
        let mut points = Vec::new();
        for (index, event) in events.iter().enumerate() {
            state = fold(&self.domain, aggregate, state, event)?;
            self.domain.pacer().breathe().await?;
            if index % every != 0 && index + 1 != events.len() {
                continue;
            }
            let numbers = numeric_fields(&state);
            for (name, _) in &numbers {
                if !fields.contains(name) {
                    fields.push(name.clone());
                }
            }
            points.push((event.version, event.position, numbers));
        }
        let points = points
            .into_iter()
            .map(|(version, position, numbers)| SeriesPoint {
                version,
                position,
                values: fields
                    .iter()
                    .map(|f| numbers.iter().find(|(n, _)| n == f).map(|(_, v)| *v))
                    .collect(),
            })
            .collect();
        Ok(StateSeries { fields, points })
    }

    /// An event as stored beside its upcast form, with the upcasters in between.
    pub async fn upcast_view(&self, event_id: EventId) -> Result<UpcastView, WriteSideError> {
        let stored = self.store.read_event(event_id).await?.ok_or_else(|| {
            WriteSideError::bad_input("event id", format!("no event {event_id} is stored"))
        })?;
        let (upcast, error) = match self.domain.upcast_event(&stored) {
            Ok(upcast) => (Some(upcast), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let upcasters = self
            .domain
            .scenario()
            .upcasters
            .iter()
            .filter(|u| {
                *u.event_type == *stored.event_type && u.from_version >= stored.schema_version
            })
            .cloned()
            .collect();
        Ok(UpcastView {
            stored,
            upcast,
            error,
            upcasters,
        })
    }

    /// How many events match a read of the log (paging through a filtered table).
    pub async fn count(&self, query: &ReadAll) -> Result<usize, WriteSideError> {
        Ok(self.store.count(query).await?)
    }
}

/// The top-level fields of a state that are numbers, in the state's order.
fn numeric_fields(state: &Dynamic) -> Vec<(String, f64)> {
    let Some(map) = state.read_lock::<rhai::Map>() else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(name, value)| {
            let number = value
                .as_int()
                .map(|i| i as f64)
                .or_else(|_| value.as_float())
                .ok()?;
            Some((name.to_string(), number))
        })
        .collect()
}
