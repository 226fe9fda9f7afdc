//! The sandbox: a scenario's rules over an event store. Executes commands, appends events, replays,
//! snapshots, and seeds an empty store.

mod requests;
mod seed;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rhai::Dynamic;

pub use requests::{CommandRequest, Committed, NewEvent};
pub use seed::plan_seed;

use crate::domain::{AggregateKind, Domain};
use crate::error::SandboxError;
use crate::event::{EventId, Metadata, ProposedEvent, StoredEvent, Timestamp};
use crate::expected::ExpectedVersion;
use crate::projection::{
    Projected, ProjectedEvent, ProjectionStatus, QueryLimits, QueryResult, ReadModel,
};
use crate::replay::{
    Replay, ReplayOptions, SkippedSnapshot, Start, Trace, fold_events, state_to_json,
    version_at_time,
};
use crate::rules::{CommandContext, DecideError};
use crate::scenario::{ProjectionSpec, Scenario};
use crate::script::ScriptError;
use crate::snapshot::{self, Snapshot};
use crate::store::{EventStore, ReadAll, StoreError, StreamInfo, VersionRange};

/// An aggregate's state at a version, kept so commands need not replay.
#[derive(Clone)]
struct HeadState {
    version: u64,
    state: Dynamic,
}

/// A scenario running over a store.
pub struct Sandbox<S> {
    store: S,
    domain: Domain,
    /// States at the last known version of each aggregate; an entry is used only while the
    /// store's version still matches.
    heads: RefCell<HashMap<String, HeadState>>,
    /// The newest snapshot version this sandbox saved (or is saving) per aggregate, so that
    /// concurrent appends do not all take the same automatic snapshot.
    snapshotting: RefCell<HashMap<String, u64>>,
    /// The read model the projections feed; in memory, rebuilt from the log.
    read_model: RefCell<ReadModel>,
}

impl<S: EventStore> Sandbox<S> {
    /// Compiles a scenario over a store, seeding the store if it is empty.
    pub async fn open(store: S, scenario: Scenario) -> Result<Self, SandboxError> {
        let domain = Domain::compile(scenario)?;
        let read_model = ReadModel::open(&domain.scenario().projections)?;
        let sandbox = Sandbox {
            store,
            domain,
            read_model: RefCell::new(read_model),
            heads: RefCell::new(HashMap::new()),
            snapshotting: RefCell::new(HashMap::new()),
        };
        sandbox.seed_if_empty().await?;
        Ok(sandbox)
    }

    /// The compiled scenario.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Gives the store back, for example to open it with other rules.
    pub fn into_store(self) -> S {
        self.store
    }

    /// Appends the scenario's seed if the store has no events. Seed events have fixed ids, so two
    /// tabs seeding the same store at once store them once. Returns whether it seeded.
    pub async fn seed_if_empty(&self) -> Result<bool, SandboxError> {
        if self.store.head_position().await? > 0 {
            return Ok(false);
        }
        for (aggregate_id, events) in plan_seed(&self.domain)? {
            self.store
                .append(&aggregate_id, ExpectedVersion::Any, events)
                .await?;
        }
        Ok(true)
    }

    /// Runs a command: replays the aggregate, lets its handler decide, and appends what it decided
    /// with the replayed version as the expected version.
    pub async fn execute(
        &self,
        request: CommandRequest,
        now: Timestamp,
    ) -> Result<Committed, SandboxError> {
        let aggregate_id = request.aggregate_id.as_str();
        let kind = self.kind_of(aggregate_id)?;
        // A command re-sent with the ids of events it already stored is a retry: it gets those
        // events back, whatever its timestamp, expected version or the state since.
        if let Some(originals) = self
            .stored_with_ids(aggregate_id, &request.event_ids)
            .await?
        {
            return self.retried(kind, aggregate_id, originals).await;
        }
        let mut head = self.head_state(kind, aggregate_id).await?;
        if let Some(expected) = request.expected {
            head = self
                .check_expected(kind, aggregate_id, expected, head)
                .await?;
        }
        let timestamp = request.timestamp.unwrap_or(now);
        let context = CommandContext {
            aggregate_id,
            version: head.version,
            timestamp,
        };
        let decided = self
            .domain
            .decide(
                kind,
                head.state.clone(),
                &request.command,
                &request.payload,
                context,
            )
            .map_err(|e| decide_error(kind, aggregate_id, &request.command, e))?;
        if decided.is_empty() {
            return Ok(Committed {
                aggregate_id: aggregate_id.to_string(),
                events: Vec::new(),
                already_stored: false,
                state: state_to_json(kind, &head.state)?,
                version: head.version,
                snapshot_taken: None,
                snapshot_error: None,
            });
        }
        if !request.event_ids.is_empty() && request.event_ids.len() != decided.len() {
            return Err(SandboxError::bad_input(
                "eventIds",
                format!(
                    "{} ids given, but {} decided on {} events",
                    request.event_ids.len(),
                    request.command,
                    decided.len()
                ),
            ));
        }
        let metadata = Metadata {
            timestamp,
            correlation_id: request.correlation_id.clone(),
            causation_id: request.causation_id.clone(),
        };
        let mut ids = request.event_ids.iter().copied();
        let proposed = decided
            .into_iter()
            .map(|d| ProposedEvent {
                event_id: ids.next().unwrap_or_else(EventId::new_random),
                schema_version: self.domain.current_schema_version(&d.event_type),
                event_type: d.event_type.into(),
                data: d.data,
                metadata: metadata.clone(),
            })
            .collect();
        let expected = ExpectedVersion::Exact(head.version);
        self.commit(kind, aggregate_id, head, expected, proposed)
            .await
    }

    /// Appends events as they are, bypassing command handlers. The events must still be ones the
    /// rules can apply: each is folded onto the current state first, and a batch with an event
    /// that fails is refused whole.
    pub async fn append(
        &self,
        aggregate_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        now: Timestamp,
    ) -> Result<Committed, SandboxError> {
        let kind = self.kind_of(aggregate_id)?;
        let proposed = events
            .into_iter()
            .enumerate()
            .map(|(index, event)| self.propose(kind, index, event, now))
            .collect::<Result<Vec<_>, _>>()?;
        // An id already stored: the store decides (idempotency before the expected version)
        // whether this is a retry, which gets the originals back, or a misuse of the id.
        if let Some(first) = proposed.first()
            && self.store.read_event(first.event_id).await?.is_some()
        {
            let outcome = self.store.append(aggregate_id, expected, proposed).await?;
            return self.retried(kind, aggregate_id, outcome.events).await;
        }
        let head = self.head_state(kind, aggregate_id).await?;
        let head = self
            .check_expected(kind, aggregate_id, expected, head)
            .await?;
        self.commit(kind, aggregate_id, head, expected, proposed)
            .await
    }

    /// The stored events with these ids, if every one is stored, for this aggregate; `None` if
    /// none is. Some but not all, or one stored for another aggregate, is a misuse of ids.
    async fn stored_with_ids(
        &self,
        aggregate_id: &str,
        ids: &[EventId],
    ) -> Result<Option<Vec<StoredEvent>>, SandboxError> {
        let mut stored = Vec::with_capacity(ids.len());
        for id in ids {
            stored.push((*id, self.store.read_event(*id).await?));
        }
        let found: Vec<&StoredEvent> = stored.iter().filter_map(|(_, e)| e.as_ref()).collect();
        let Some(first) = found.first() else {
            return Ok(None);
        };
        if let Some(elsewhere) = found.iter().find(|e| *e.aggregate_id != *aggregate_id) {
            return Err(StoreError::EventIdReused {
                event_id: elsewhere.event_id,
                position: elsewhere.position,
            }
            .into());
        }
        if found.len() < ids.len() {
            return Err(StoreError::PartlyStored {
                event_id: first.event_id,
                position: first.position,
            }
            .into());
        }
        Ok(Some(stored.into_iter().filter_map(|(_, e)| e).collect()))
    }

    /// What a retry returns: the originally stored events, and the aggregate as it is now.
    async fn retried(
        &self,
        kind: &AggregateKind,
        aggregate_id: &str,
        originals: Vec<StoredEvent>,
    ) -> Result<Committed, SandboxError> {
        let head = self.head_state(kind, aggregate_id).await?;
        Ok(Committed {
            aggregate_id: aggregate_id.to_string(),
            events: originals,
            already_stored: true,
            state: state_to_json(kind, &head.state)?,
            version: head.version,
            snapshot_taken: None,
            snapshot_error: None,
        })
    }

    /// Refuses early, before any script runs, an append whose expected version does not match.
    /// Versions only grow, so expecting less than this tab's version is a sure conflict; expecting
    /// more may mean this tab is behind another, so that is confirmed after catching up. The
    /// store checks again when it writes.
    async fn check_expected(
        &self,
        kind: &AggregateKind,
        aggregate_id: &str,
        expected: ExpectedVersion,
        mut head: HeadState,
    ) -> Result<HeadState, SandboxError> {
        if expected.is_satisfied_by(head.version) {
            return Ok(head);
        }
        let surely_behind = match expected {
            ExpectedVersion::Exact(version) => version < head.version,
            ExpectedVersion::NoStream => head.version > 0,
            ExpectedVersion::Any | ExpectedVersion::StreamExists => false,
        };
        if !surely_behind {
            self.store.refresh().await?;
            head = self.head_state(kind, aggregate_id).await?;
            if expected.is_satisfied_by(head.version) {
                return Ok(head);
            }
        }
        Err(StoreError::Conflict {
            aggregate_id: aggregate_id.to_string(),
            expected,
            actual: head.version,
        }
        .into())
    }

    /// Checks a caller's event against the rules and fills in its defaults.
    fn propose(
        &self,
        kind: &AggregateKind,
        index: usize,
        event: NewEvent,
        now: Timestamp,
    ) -> Result<ProposedEvent, SandboxError> {
        let schema_version =
            self.domain
                .check_event_type(kind, &event.event_type, event.schema_version)?;
        let proposed = ProposedEvent {
            event_id: event.event_id.unwrap_or_else(EventId::new_random),
            event_type: event.event_type.into(),
            schema_version,
            data: event.data,
            metadata: Metadata {
                timestamp: event.timestamp.unwrap_or(now),
                correlation_id: event.correlation_id,
                causation_id: event.causation_id,
            },
        };
        proposed
            .check()
            .map_err(|source| SandboxError::InvalidEvent { index, source })?;
        Ok(proposed)
    }

    /// Folds the batch onto the head state to prove the rules can apply it, appends it, and keeps
    /// the folded state as the new head when the store placed the events where expected.
    async fn commit(
        &self,
        kind: &AggregateKind,
        aggregate_id: &str,
        head: HeadState,
        expected: ExpectedVersion,
        proposed: Vec<ProposedEvent>,
    ) -> Result<Committed, SandboxError> {
        let head_position = self.store.head_position().await?;
        let provisional = provisional_events(aggregate_id, head.version, head_position, &proposed);
        let state = fold_batch(&self.domain, kind, head.state, &provisional)?;
        let outcome = self.store.append(aggregate_id, expected, proposed).await?;
        let placed_as_folded = !outcome.already_stored
            && outcome.events.len() == provisional.len()
            && outcome
                .events
                .iter()
                .zip(&provisional)
                .all(|(stored, folded)| {
                    stored.version == folded.version && stored.position == folded.position
                });
        let new_head = if placed_as_folded {
            let new_head = HeadState {
                version: outcome.last_version(),
                state,
            };
            let mut heads = self.heads.borrow_mut();
            // Keep the newest state: concurrent appends may finish out of order.
            if heads
                .get(aggregate_id)
                .is_none_or(|h| h.version < new_head.version)
            {
                heads.insert(aggregate_id.to_string(), new_head.clone());
            }
            new_head
        } else {
            // Another writer got in between (or this was a retry): the folded state is not the
            // head's. Fold what is really there.
            self.head_state(kind, aggregate_id).await?
        };
        let (snapshot_taken, snapshot_error) = if outcome.already_stored {
            (None, None)
        } else {
            self.auto_snapshot(kind, aggregate_id, &new_head).await
        };
        Ok(Committed {
            aggregate_id: aggregate_id.to_string(),
            events: outcome.events,
            already_stored: outcome.already_stored,
            state: state_to_json(kind, &new_head.state)?,
            version: new_head.version,
            snapshot_taken,
            snapshot_error,
        })
    }

    /// Takes a snapshot when the aggregate has passed a multiple of the snapshot interval since
    /// its newest snapshot. (Comparing with the newest snapshot, not with the version before
    /// this append, keeps a burst of concurrent appends from each taking one.)
    async fn auto_snapshot(
        &self,
        kind: &AggregateKind,
        aggregate_id: &str,
        head: &HeadState,
    ) -> (Option<u64>, Option<String>) {
        let interval = self.domain.scenario().snapshot_interval;
        if !snapshot::is_due(interval, 0, head.version) {
            return (None, None);
        }
        let stored = match self.store.snapshots(aggregate_id).await {
            Ok(snapshots) => snapshots.last().map_or(0, |s| s.version),
            Err(e) => return (None, Some(e.to_string())),
        };
        {
            let mut marks = self.snapshotting.borrow_mut();
            let newest = marks.get(aggregate_id).copied().unwrap_or(0).max(stored);
            if !snapshot::is_due(interval, newest, head.version) {
                return (None, None);
            }
            // Claimed before the write is awaited: a concurrent append sees it.
            marks.insert(aggregate_id.to_string(), head.version);
        }
        match self.save_snapshot(kind, aggregate_id, head).await {
            Ok(snapshot) => (Some(snapshot.version), None),
            Err(e) => (None, Some(e.to_string())),
        }
    }

    async fn save_snapshot(
        &self,
        kind: &AggregateKind,
        aggregate_id: &str,
        head: &HeadState,
    ) -> Result<Snapshot, SandboxError> {
        let event_id = self
            .event_id_at(aggregate_id, head.version)
            .await?
            .ok_or_else(|| {
                SandboxError::bad_input(
                    "snapshot",
                    format!("{aggregate_id} has no version {}", head.version),
                )
            })?;
        let snapshot = Snapshot::new(
            aggregate_id,
            head.version,
            event_id,
            state_to_json(kind, &head.state)?,
            &kind.rules_hash,
        );
        self.store.save_snapshot(snapshot.clone()).await?;
        Ok(snapshot)
    }

    /// The id of the event at a version of an aggregate.
    async fn event_id_at(
        &self,
        aggregate_id: &str,
        version: u64,
    ) -> Result<Option<EventId>, SandboxError> {
        let range = VersionRange {
            from: version,
            to: Some(version),
        };
        let events = self.store.read_stream(aggregate_id, range).await?;
        Ok(events.first().map(|e| e.event_id))
    }

    /// The newest snapshot at or below `target` that may be used (sealed, unchanged, made by
    /// the current rules, taken after the event that holds its version, older than the first
    /// excluded version), and why newer ones were passed over.
    async fn usable_snapshot(
        &self,
        kind: &AggregateKind,
        aggregate_id: &str,
        target: u64,
        first_excluded: Option<u64>,
    ) -> Result<(Option<Start>, Vec<SkippedSnapshot>), SandboxError> {
        let snapshots = self.store.snapshots(aggregate_id).await?;
        let mut skipped = Vec::new();
        for snapshot in snapshots.iter().rev().filter(|s| s.version <= target) {
            let now = self.event_id_at(aggregate_id, snapshot.version).await?;
            let usable = snapshot
                .check(&kind.rules_hash, now, first_excluded)
                .and_then(|()| Start::from_snapshot(snapshot));
            match usable {
                Ok(start) => return Ok((Some(start), skipped)),
                Err(reason) => skipped.push(SkippedSnapshot::new(snapshot.version, reason)),
            }
        }
        Ok((None, skipped))
    }

    /// Takes a snapshot of an aggregate at its last version, now.
    pub async fn snapshot(&self, aggregate_id: &str) -> Result<Snapshot, SandboxError> {
        let kind = self.kind_of(aggregate_id)?;
        let head = self.head_state(kind, aggregate_id).await?;
        if head.version == 0 {
            return Err(SandboxError::bad_input(
                "snapshot",
                format!("{aggregate_id} has no events to snapshot"),
            ));
        }
        self.save_snapshot(kind, aggregate_id, &head).await
    }

    /// An aggregate's snapshots, oldest first.
    pub async fn snapshots(&self, aggregate_id: &str) -> Result<Vec<Snapshot>, SandboxError> {
        Ok(self.store.snapshots(aggregate_id).await?)
    }

    /// Replays an aggregate: at its head, a version or a time, optionally leaving events out and
    /// tracing every step.
    pub async fn replay(
        &self,
        aggregate_id: &str,
        options: &ReplayOptions,
    ) -> Result<Replay, SandboxError> {
        let kind = self.kind_of(aggregate_id)?;
        let (replay, state) = self.replay_kind(kind, aggregate_id, options).await?;
        if replay.version == replay.head_version && replay.excluded_versions.is_empty() {
            self.heads.borrow_mut().insert(
                aggregate_id.to_string(),
                HeadState {
                    version: replay.version,
                    state,
                },
            );
        }
        Ok(replay)
    }

    /// A replay and the state it reached as a script value.
    async fn replay_kind(
        &self,
        kind: &AggregateKind,
        aggregate_id: &str,
        options: &ReplayOptions,
    ) -> Result<(Replay, Dynamic), SandboxError> {
        let head_version = self.store.stream_version(aggregate_id).await?;
        // Time travel and what-if need the whole stream to find versions; other replays read only
        // the tail after the snapshot.
        let whole = if options.time.is_some() || !options.exclude.is_empty() {
            Some(
                self.store
                    .read_stream(aggregate_id, VersionRange::ALL)
                    .await?,
            )
        } else {
            None
        };
        let target = match (options.version, options.time, &whole) {
            (Some(_), Some(_), _) => {
                return Err(SandboxError::bad_input(
                    "replay options",
                    "give a version or a time, not both",
                ));
            }
            (Some(version), None, _) if version > head_version => {
                return Err(SandboxError::VersionOutOfRange {
                    aggregate_id: aggregate_id.to_string(),
                    asked: version,
                    head: head_version,
                });
            }
            (Some(version), None, _) => version,
            (None, Some(time), Some(events)) => version_at_time(events, time),
            _ => head_version,
        };
        let excluded: HashSet<EventId> = options.exclude.iter().copied().collect();
        let excluded_versions: Vec<u64> = whole
            .iter()
            .flatten()
            .filter(|e| e.version <= target && excluded.contains(&e.event_id))
            .map(|e| e.version)
            .collect();
        let (start, skipped_snapshots) = if options.use_snapshots {
            self.usable_snapshot(
                kind,
                aggregate_id,
                target,
                excluded_versions.first().copied(),
            )
            .await?
        } else {
            (None, Vec::new())
        };
        let (from_snapshot, start_version, start_state) = match start {
            Some(start) => (Some(start.version), start.version, start.state),
            None => (None, 0, self.domain.initial_state(kind)?),
        };
        let initial_state = if options.trace {
            Some(state_to_json(kind, &start_state)?)
        } else {
            None
        };
        let tail = match whole {
            Some(events) => events
                .into_iter()
                .filter(|e| e.version > start_version && e.version <= target)
                .collect(),
            None => {
                let range = VersionRange {
                    from: start_version + 1,
                    to: Some(target),
                };
                self.store.read_stream(aggregate_id, range).await?
            }
        };
        let folded = fold_events(
            &self.domain,
            kind,
            start_state,
            &tail,
            &excluded,
            options.trace,
        )?;
        let replay = Replay {
            aggregate_id: aggregate_id.to_string(),
            kind: kind.rules.name().to_string(),
            state: state_to_json(kind, &folded.state)?,
            version: target,
            head_version,
            from_snapshot,
            skipped_snapshots,
            events_replayed: folded.replayed,
            excluded_versions,
            trace: initial_state.map(|initial_state| Trace {
                initial_state,
                steps: folded.steps.unwrap_or_default(),
            }),
        };
        Ok((replay, folded.state))
    }

    /// Events across aggregates, in position order, as stored (not upcast).
    pub async fn events(&self, query: &ReadAll) -> Result<Vec<StoredEvent>, SandboxError> {
        Ok(self.store.read_all(query).await?)
    }

    /// Brings the running projections forward by up to `max_events` events (from the lowest
    /// checkpoint), each projection in its own transaction with its checkpoint. Events pass
    /// through the upcasters first.
    pub async fn project(&self, max_events: usize) -> Result<Projected, SandboxError> {
        let Some(checkpoint) = self.read_model.borrow().needs_from() else {
            return Ok(Projected::default());
        };
        let events = self
            .store
            .read_all(&ReadAll::from_position(checkpoint + 1, max_events))
            .await?;
        let events = self.projected_events(events);
        Ok(self.read_model.borrow_mut().apply(&events))
    }

    fn projected_events(&self, events: Vec<StoredEvent>) -> Vec<ProjectedEvent> {
        events
            .into_iter()
            .map(|event| {
                if self.domain.is_current(&event) {
                    return ProjectedEvent::current(event);
                }
                let upcast = self.domain.upcast_event(&event).map_err(|e| e.to_string());
                ProjectedEvent::upcast(event, upcast)
            })
            .collect()
    }

    /// Every projection's checkpoint and state.
    pub fn projections(&self) -> Vec<ProjectionStatus> {
        self.read_model.borrow().status()
    }

    /// Pauses a projection: queries keep seeing its tables as they are.
    pub fn pause_projection(&self, name: &str) -> Result<(), SandboxError> {
        Ok(self.read_model.borrow_mut().pause(name)?)
    }

    /// Restarts a paused, crashed or failed projection from its checkpoint.
    pub fn resume_projection(&self, name: &str) -> Result<(), SandboxError> {
        Ok(self.read_model.borrow_mut().resume(name)?)
    }

    /// Makes a projection crash in its next round, after `after` events and before committing,
    /// losing that round.
    pub fn crash_projection(&self, name: &str, after: usize) -> Result<(), SandboxError> {
        Ok(self.read_model.borrow_mut().crash_next(name, after)?)
    }

    /// Drops a projection's tables and replays it from position 0 (on the next `project`).
    pub fn rebuild_projection(&self, name: &str) -> Result<(), SandboxError> {
        Ok(self.read_model.borrow_mut().rebuild(name)?)
    }

    /// Replaces the projection definitions; changed ones wait for a rebuild.
    pub fn redefine_projections(&self, specs: &[ProjectionSpec]) -> Result<(), SandboxError> {
        Ok(self.read_model.borrow_mut().redefine(specs)?)
    }

    /// Runs one read-only SQL statement against the read model as it is now (possibly behind
    /// the log: compare the checkpoints with the head).
    pub fn query(&self, sql: &str, limits: &QueryLimits) -> Result<QueryResult, SandboxError> {
        Ok(self.read_model.borrow_mut().query(sql, limits)?)
    }

    /// Runs a query against a read model built from scratch, in a separate in-memory database,
    /// from the whole log without the excluded events: the real read model is not touched.
    pub async fn query_what_if(
        &self,
        sql: &str,
        exclude: &[EventId],
        limits: &QueryLimits,
    ) -> Result<QueryResult, SandboxError> {
        Ok(self.what_if_model(exclude).await?.query(sql, limits)?)
    }

    /// A copy of the read model in SQLite's file format (see [`query_copy`]); with `exclude`,
    /// of the what-if read model without those events.
    ///
    /// [`query_copy`]: crate::projection::query_copy
    pub async fn read_model_bytes(&self, exclude: &[EventId]) -> Result<Vec<u8>, SandboxError> {
        if exclude.is_empty() {
            return Ok(self.read_model.borrow_mut().to_bytes()?);
        }
        Ok(self.what_if_model(exclude).await?.to_bytes()?)
    }

    /// Every projection recomputed without some events, in a database of its own.
    async fn what_if_model(&self, exclude: &[EventId]) -> Result<ReadModel, SandboxError> {
        let excluded: HashSet<EventId> = exclude.iter().copied().collect();
        let events = self
            .store
            .read_all(&ReadAll::from_position(1, usize::MAX))
            .await?
            .into_iter()
            .filter(|e| !excluded.contains(&e.event_id))
            .collect();
        let mut model = ReadModel::open(&self.domain.scenario().projections)?;
        model.apply(&self.projected_events(events));
        Ok(model)
    }

    /// Catches up with events other writers (tabs) stored; returns them.
    pub async fn refresh(&self) -> Result<Vec<StoredEvent>, SandboxError> {
        Ok(self.store.refresh().await?)
    }

    /// Every aggregate in the store with its version.
    pub async fn streams(&self) -> Result<Vec<StreamInfo>, SandboxError> {
        Ok(self.store.streams().await?)
    }

    fn kind_of(&self, aggregate_id: &str) -> Result<&AggregateKind, SandboxError> {
        self.domain
            .kind_of(aggregate_id)
            .ok_or_else(|| SandboxError::UnknownAggregate {
                aggregate_id: aggregate_id.to_string(),
                prefixes: self.domain.id_prefixes(),
            })
    }

    /// The aggregate's state at its last version: cached; or the cached state with the events
    /// since folded in (another writer appended); or replayed from the newest snapshot.
    async fn head_state(
        &self,
        kind: &AggregateKind,
        aggregate_id: &str,
    ) -> Result<HeadState, SandboxError> {
        let version = self.store.stream_version(aggregate_id).await?;
        let cached = self.heads.borrow().get(aggregate_id).cloned();
        let head = match cached {
            Some(head) if head.version == version => return Ok(head),
            Some(head) if head.version < version => {
                let range = VersionRange {
                    from: head.version + 1,
                    to: Some(version),
                };
                let missing = self.store.read_stream(aggregate_id, range).await?;
                let state = fold_events(
                    &self.domain,
                    kind,
                    head.state,
                    &missing,
                    &HashSet::new(),
                    false,
                )?
                .state;
                HeadState { version, state }
            }
            _ if version == 0 => {
                return Ok(HeadState {
                    version,
                    state: self.domain.initial_state(kind)?,
                });
            }
            _ => {
                let (replay, state) = self
                    .replay_kind(kind, aggregate_id, &ReplayOptions::default())
                    .await?;
                HeadState {
                    version: replay.version,
                    state,
                }
            }
        };
        self.heads
            .borrow_mut()
            .insert(aggregate_id.to_string(), head.clone());
        Ok(head)
    }
}

/// A command handler's refusal as a sandbox error.
pub(crate) fn decide_error(
    kind: &AggregateKind,
    aggregate_id: &str,
    command: &str,
    error: DecideError,
) -> SandboxError {
    match error {
        DecideError::Rejected { message } => SandboxError::Rejected {
            aggregate_id: aggregate_id.to_string(),
            command: command.to_string(),
            message,
        },
        DecideError::UnknownCommand { command, known } => SandboxError::UnknownCommand {
            kind: kind.rules.name().to_string(),
            command,
            known,
        },
        DecideError::Script(e) => e.into(),
    }
}

/// Folds a batch not yet stored onto a state, naming the event the rules cannot apply.
pub(crate) fn fold_batch(
    domain: &Domain,
    kind: &AggregateKind,
    mut state: Dynamic,
    provisional: &[StoredEvent],
) -> Result<Dynamic, ScriptError> {
    for (index, event) in provisional.iter().enumerate() {
        state = domain.fold(kind, state, event).map_err(|mut e| {
            e.message = format!(
                "event {index} ({}) cannot be applied: {}",
                event.event_type, e.message
            );
            e
        })?;
    }
    Ok(state)
}

/// The events a batch would become if the store places it right after `version` and `position`:
/// what the rules fold before the store is asked.
pub(crate) fn provisional_events(
    aggregate_id: &str,
    version: u64,
    position: u64,
    batch: &[ProposedEvent],
) -> Vec<StoredEvent> {
    let aggregate_id: Arc<str> = aggregate_id.into();
    batch
        .iter()
        .zip(1u64..)
        .map(|(event, offset)| StoredEvent {
            position: position + offset,
            event_id: event.event_id,
            aggregate_id: Arc::clone(&aggregate_id),
            version: version + offset,
            event_type: event.event_type.clone(),
            schema_version: event.schema_version,
            data: event.data.clone(),
            metadata: event.metadata.clone(),
        })
        .collect()
}
