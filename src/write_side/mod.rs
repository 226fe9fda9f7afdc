//! The write side: commands and appends over an event store. A command is decided by the
//! aggregate's rules against its current state (cached, see `heads`), the decided events are
//! appended with that state's version as the expected version, and a snapshot is taken when one
//! is due. Replays (`replaying`) and snapshots (`snapshots`) are read from here too, since they
//! serve the write side first: the state a command is decided on.

mod error;
mod generate;
mod heads;
mod replaying;
mod requests;
mod seed;
mod sizes;
mod snapshots;
mod views;

use std::rc::Rc;

pub use error::WriteSideError;
pub use generate::{Generated, MAX_GENERATED};
pub use requests::{CommandOptions, CommandRequest, Committed, NewEvent};
pub use seed::plan_seed;
pub use views::{
    AggregateStorage, ReplayCosts, SeriesPoint, SnapshotMarker, StateSeries, Storage, UpcastView,
};

use crate::aggregate::{self, Placement, state_to_json};
use crate::domain::{AggregateType, Domain, DomainError};
use crate::event::{EventId, Metadata, ProposedEvent, StoredEvent, Timestamp};
use crate::expected::ExpectedVersion;
use crate::store::{EventStore, ReadAll, StoreError, StreamInfo};

use heads::{HeadState, Heads};

/// A scenario's rules over an event store: everything that writes events.
pub struct WriteSide<S> {
    store: S,
    domain: Rc<Domain>,
    heads: Heads,
    /// The JSON size of each aggregate's events, for the storage view.
    sizes: sizes::StreamSizes,
    snapshots: snapshots::Claims,
    /// Take a snapshot every this many events per aggregate (0: never automatically); the
    /// scenario's at first, a knob on the page.
    snapshot_interval: std::cell::Cell<u64>,
}

impl<S: EventStore> WriteSide<S> {
    /// The write side of a compiled scenario over a store, seeding the store if it is empty.
    pub async fn open(store: S, domain: Rc<Domain>) -> Result<Self, WriteSideError> {
        let write = Self::open_unseeded(store, domain);
        write.seed_if_empty().await?;
        Ok(write)
    }

    /// The write side of a compiled scenario over a store, as the store is: an empty store stays
    /// empty (for imports, which bring their own first events).
    pub fn open_unseeded(store: S, domain: Rc<Domain>) -> Self {
        WriteSide {
            store,
            snapshot_interval: std::cell::Cell::new(domain.scenario().snapshot_interval),
            domain,
            heads: Heads::default(),
            sizes: sizes::StreamSizes::default(),
            snapshots: snapshots::Claims::default(),
        }
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
    pub async fn seed_if_empty(&self) -> Result<bool, WriteSideError> {
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

    /// Runs a command: the aggregate's rules decide on its current state, and what they decided
    /// is appended with that state's version as the expected version.
    pub async fn execute(
        &self,
        request: CommandRequest,
        now: Timestamp,
    ) -> Result<Committed, WriteSideError> {
        let aggregate_id = request.aggregate_id.as_str();
        let options = &request.options;
        let aggregate = self.aggregate_type(aggregate_id)?;
        // A command re-sent with the ids of events it already stored is a retry: it gets those
        // events back, whatever its timestamp, expected version or the state since.
        if let Some(originals) = self
            .stored_with_ids(aggregate_id, &options.event_ids)
            .await?
        {
            return self.retried(aggregate, aggregate_id, originals).await;
        }
        let metadata = Metadata {
            timestamp: options.timestamp.unwrap_or(now),
            correlation_id: options.correlation_id.as_deref().map(Box::from),
            causation_id: options.causation_id.as_deref().map(Box::from),
        };
        let expected = options.expected.unwrap_or(ExpectedVersion::Any);
        let (head, at) = self
            .expected_head(aggregate, aggregate_id, expected, metadata)
            .await?;
        let ids = |index: usize| {
            options
                .event_ids
                .get(index)
                .copied()
                .unwrap_or_else(EventId::new_random)
        };
        let decision = aggregate::decide(
            &self.domain,
            aggregate,
            head.state.clone(),
            &request.command,
            &request.payload,
            &at,
            ids,
        )?;
        if decision.events.is_empty() {
            return Ok(Committed {
                aggregate_id: aggregate_id.to_string(),
                events: Vec::new(),
                already_stored: false,
                state: state_to_json(aggregate, &head.state)?,
                version: head.version,
                snapshot_taken: None,
                snapshot_error: None,
            });
        }
        if !options.event_ids.is_empty() && options.event_ids.len() != decision.events.len() {
            return Err(WriteSideError::bad_input(
                "eventIds",
                format!(
                    "{} ids given, but {} decided on {} events",
                    options.event_ids.len(),
                    request.command,
                    decision.events.len()
                ),
            ));
        }
        let expected = ExpectedVersion::Exact(head.version);
        let folded = HeadState {
            version: head.version + decision.events.len() as u64,
            state: decision.state,
        };
        self.commit(aggregate, &at, expected, decision.events, folded)
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
    ) -> Result<Committed, WriteSideError> {
        let aggregate = self.aggregate_type(aggregate_id)?;
        let batch = events.len();
        let proposed = events
            .into_iter()
            .enumerate()
            .map(|(index, event)| self.propose(aggregate, (index, batch), event, now))
            .collect::<Result<Vec<_>, _>>()?;
        // An id already stored: the store decides (idempotency before the expected version)
        // whether this is a retry, which gets the originals back, or a misuse of the id.
        if let Some(first) = proposed.first()
            && self.store.read_event(first.event_id).await?.is_some()
        {
            let outcome = self.store.append(aggregate_id, expected, proposed).await?;
            return self.retried(aggregate, aggregate_id, outcome.events).await;
        }
        let (head, at) = self
            .expected_head(aggregate, aggregate_id, expected, Metadata::at(now))
            .await?;
        let state = aggregate::fold_batch(&self.domain, aggregate, head.state, &at, &proposed)?;
        let folded = HeadState {
            version: head.version + proposed.len() as u64,
            state,
        };
        self.commit(aggregate, &at, expected, proposed, folded)
            .await
    }

    /// The aggregate's head state, if it is at the expected version, and where events decided on
    /// it would land.
    async fn expected_head<'a>(
        &self,
        aggregate: &AggregateType,
        aggregate_id: &'a str,
        expected: ExpectedVersion,
        metadata: Metadata,
    ) -> Result<(HeadState, Placement<'a>), WriteSideError> {
        let head = self.head_state(aggregate, aggregate_id).await?;
        let head = self
            .check_expected(aggregate, aggregate_id, expected, head)
            .await?;
        let at = Placement {
            aggregate_id,
            version: head.version,
            position: self.store.head_position().await?,
            metadata,
        };
        Ok((head, at))
    }

    /// Refuses early, before any script runs, an append whose expected version does not match.
    /// Versions only grow, so expecting less than this tab's version is a sure conflict; expecting
    /// more may mean this tab is behind another, so that is confirmed after catching up. The
    /// store checks again when it writes.
    async fn check_expected(
        &self,
        aggregate: &AggregateType,
        aggregate_id: &str,
        expected: ExpectedVersion,
        mut head: HeadState,
    ) -> Result<HeadState, WriteSideError> {
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
            head = self.head_state(aggregate, aggregate_id).await?;
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

    /// Checks a caller's event (at `index` of a batch of `len`) against the rules and its
    /// declared shape, and fills in its defaults.
    fn propose(
        &self,
        aggregate: &AggregateType,
        (index, len): (usize, usize),
        event: NewEvent,
        now: Timestamp,
    ) -> Result<ProposedEvent, WriteSideError> {
        let schema_version =
            self.domain
                .check_event_type(aggregate, &event.event_type, event.schema_version)?;
        self.domain
            .check_event_data(aggregate, &event.event_type, schema_version, &event.data)
            .map_err(|e| match e {
                DomainError::Shape {
                    what,
                    field,
                    expected,
                    found,
                } if len > 1 => DomainError::Shape {
                    what: format!("{what}, event {} of the batch", index + 1),
                    field,
                    expected,
                    found,
                },
                other => other,
            })?;
        let proposed = ProposedEvent {
            event_id: event.event_id.unwrap_or_else(EventId::new_random),
            event_type: event.event_type.into(),
            schema_version,
            data: event.data,
            metadata: Metadata {
                timestamp: event.timestamp.unwrap_or(now),
                correlation_id: event.correlation_id.map(String::into_boxed_str),
                causation_id: event.causation_id.map(String::into_boxed_str),
            },
        };
        proposed
            .check()
            .map_err(|source| DomainError::InvalidEvent { index, source })?;
        Ok(proposed)
    }

    /// Appends a batch already folded onto the head state, keeps the folded state as the new
    /// head when the store placed the events where they were folded, and takes a snapshot when
    /// one is due.
    async fn commit(
        &self,
        aggregate: &AggregateType,
        at: &Placement<'_>,
        expected: ExpectedVersion,
        proposed: Vec<ProposedEvent>,
        folded: HeadState,
    ) -> Result<Committed, WriteSideError> {
        let (outcome, written) = self
            .append_with_due_snapshot(aggregate, at, expected, proposed, &folded)
            .await?;
        let placed_as_folded = !outcome.already_stored
            && outcome.events.first().map(|e| (e.version, e.position))
                == Some((at.version + 1, at.position + 1))
            && outcome.last_version() == folded.version;
        let head = if placed_as_folded {
            self.heads.keep_newest(at.aggregate_id, folded.clone());
            folded
        } else {
            // Another writer got in between (or this was a retry): the folded state is not the
            // head's. Fold what is really there.
            self.head_state(aggregate, at.aggregate_id).await?
        };
        let (snapshot_taken, snapshot_error) = match written {
            Some(Ok(version)) => (Some(version), None),
            Some(Err(error)) => (None, Some(error)),
            None if outcome.already_stored => (None, None),
            // None was planned, or the events did not land where it was: take it now.
            None => self.auto_snapshot(aggregate, at.aggregate_id, &head).await,
        };
        Ok(Committed {
            aggregate_id: at.aggregate_id.to_string(),
            events: outcome.events,
            already_stored: outcome.already_stored,
            state: state_to_json(aggregate, &head.state)?,
            version: head.version,
            snapshot_taken,
            snapshot_error,
        })
    }

    /// The stored events with these ids, if every one is stored, for this aggregate; `None` if
    /// none is. Some but not all, or one stored for another aggregate, is a misuse of ids.
    async fn stored_with_ids(
        &self,
        aggregate_id: &str,
        ids: &[EventId],
    ) -> Result<Option<Vec<StoredEvent>>, WriteSideError> {
        let mut stored = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(event) = self.store.read_event(*id).await? {
                stored.push(event);
            }
        }
        let Some(first) = stored.first() else {
            return Ok(None);
        };
        if let Some(elsewhere) = stored.iter().find(|e| *e.aggregate_id != *aggregate_id) {
            return Err(StoreError::EventIdReused {
                event_id: elsewhere.event_id,
                position: elsewhere.position,
            }
            .into());
        }
        if stored.len() < ids.len() {
            return Err(StoreError::PartlyStored {
                event_id: first.event_id,
                position: first.position,
            }
            .into());
        }
        Ok(Some(stored))
    }

    /// What a retry returns: the originally stored events, and the aggregate as it is now.
    async fn retried(
        &self,
        aggregate: &AggregateType,
        aggregate_id: &str,
        originals: Vec<StoredEvent>,
    ) -> Result<Committed, WriteSideError> {
        let head = self.head_state(aggregate, aggregate_id).await?;
        Ok(Committed {
            aggregate_id: aggregate_id.to_string(),
            events: originals,
            already_stored: true,
            state: state_to_json(aggregate, &head.state)?,
            version: head.version,
            snapshot_taken: None,
            snapshot_error: None,
        })
    }

    /// Events across aggregates, in position order, as stored (not upcast).
    pub async fn events(&self, query: &ReadAll) -> Result<Vec<StoredEvent>, WriteSideError> {
        Ok(self.store.read_all(query).await?)
    }

    /// Catches up with events other writers (tabs) stored; returns them.
    pub async fn refresh(&self) -> Result<Vec<StoredEvent>, WriteSideError> {
        Ok(self.store.refresh().await?)
    }

    /// Every aggregate in the store with its version.
    pub async fn streams(&self) -> Result<Vec<StreamInfo>, WriteSideError> {
        Ok(self.store.streams().await?)
    }

    /// The aggregate type an id belongs to.
    fn aggregate_type(&self, aggregate_id: &str) -> Result<&AggregateType, WriteSideError> {
        Ok(self.domain.aggregate_type_for(aggregate_id)?)
    }
}
