//! The head-state cache: each aggregate's state at its last known version, so that a command
//! need not replay. An entry is used only while the store's version still matches; behind it,
//! the missing events are folded in; without one, the aggregate is replayed.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use rhai::Dynamic;

use super::WriteSide;
use super::WriteSideError;
use crate::aggregate::initial_state;
use crate::domain::AggregateType;
use crate::replay::{ReplayOptions, fold_events};
use crate::store::{EventStore, VersionRange};

/// An aggregate's state at a version.
#[derive(Clone)]
pub(super) struct HeadState {
    pub version: u64,
    pub state: Dynamic,
}

/// States at the last known version of each aggregate.
#[derive(Default)]
pub(super) struct Heads(RefCell<HashMap<String, HeadState>>);

impl Heads {
    fn get(&self, aggregate_id: &str) -> Option<HeadState> {
        self.0.borrow().get(aggregate_id).cloned()
    }

    /// Remembers a state.
    pub fn put(&self, aggregate_id: &str, head: HeadState) {
        self.0.borrow_mut().insert(aggregate_id.to_string(), head);
    }

    /// Remembers a state unless a newer one is known: concurrent appends may finish out of order.
    pub fn keep_newest(&self, aggregate_id: &str, head: HeadState) {
        let mut heads = self.0.borrow_mut();
        if heads
            .get(aggregate_id)
            .is_none_or(|h| h.version < head.version)
        {
            heads.insert(aggregate_id.to_string(), head);
        }
    }
}

impl<S: EventStore> WriteSide<S> {
    /// The aggregate's state at its last version: cached; or the cached state with the events
    /// since folded in (another writer appended); or replayed from the newest usable snapshot.
    pub(super) async fn head_state(
        &self,
        aggregate: &AggregateType,
        aggregate_id: &str,
    ) -> Result<HeadState, WriteSideError> {
        let version = self.store.stream_version(aggregate_id).await?;
        let head = match self.heads.get(aggregate_id) {
            Some(head) if head.version == version => return Ok(head),
            Some(head) if head.version < version => {
                let range = VersionRange {
                    from: head.version + 1,
                    to: Some(version),
                };
                let missing = self.store.read_stream(aggregate_id, range).await?;
                let state = fold_events(
                    &self.domain,
                    aggregate,
                    head.state,
                    &missing,
                    &HashSet::new(),
                    false,
                )
                .await?
                .state;
                HeadState { version, state }
            }
            _ if version == 0 => {
                return Ok(HeadState {
                    version,
                    state: initial_state(&self.domain, aggregate)?,
                });
            }
            _ => {
                let (replay, state) = self
                    .replay_state(aggregate, aggregate_id, &ReplayOptions::default())
                    .await?;
                HeadState {
                    version: replay.version,
                    state,
                }
            }
        };
        self.heads.put(aggregate_id, head.clone());
        Ok(head)
    }
}
