//! The read side where it meets the write side (with the `read-model` feature): the read model
//! a sandbox keeps, projecting the log into it, skipping an event a projection failed on, a
//! read model without some events or as of a position, and the schedule that follows the log
//! on its own (`following`).

mod following;

use std::cell::{Ref, RefCell, RefMut};

pub use following::{CHUNK, Following, MAX_DELAY_MS, Timer};

use super::{Sandbox, SandboxError};
use crate::domain::Domain;
use crate::event::EventId;
use crate::read_side::{self, Projected, ReadModel};
use crate::store::{EventStore, ReadAll};

/// A sandbox's read side: its read model and the schedule of its catch-ups.
pub struct ReadSide {
    model: RefCell<ReadModel>,
    following: Following,
}

/// Opens the read side of a compiled scenario: its projections' tables, empty.
pub(super) fn open(domain: &Domain) -> Result<ReadSide, SandboxError> {
    Ok(ReadSide {
        model: RefCell::new(ReadModel::open(&domain.scenario().projections)?),
        following: Following::new(true),
    })
}

impl<S: EventStore> Sandbox<S> {
    /// The read side, to look at: projections' status, generation.
    pub fn read(&self) -> Ref<'_, ReadModel> {
        self.read.model.borrow()
    }

    /// The read side, to change or query: pause, resume, rebuild, redefine, query.
    pub fn read_mut(&self) -> RefMut<'_, ReadModel> {
        self.read.model.borrow_mut()
    }

    /// The schedule that makes the read model follow the log on its own.
    pub fn following(&self) -> &Following {
        &self.read.following
    }

    /// Brings the running projections forward by up to `max_events` events (from the lowest
    /// checkpoint), each projection in its own transaction with its checkpoint.
    pub async fn project(&self, max_events: usize) -> Result<Projected, SandboxError> {
        let Some(checkpoint) = self.read.model.borrow().needs_from() else {
            return Ok(Projected::default());
        };
        let events = self
            .store()
            .read_all(&ReadAll::from_position(checkpoint + 1, max_events))
            .await?;
        Ok(self.read.model.borrow_mut().project(&self.domain, events))
    }

    /// Skips the event a failed projection stopped at: parks it in `parked_events` with its error
    /// and lets the projection go on after it.
    pub async fn skip(&self, projection: &str) -> Result<(), SandboxError> {
        let position = self.read.model.borrow_mut().failed_at(projection)?;
        let events = self
            .store()
            .read_all(&ReadAll::from_position(position, 1))
            .await?;
        let event = events.first().ok_or_else(|| {
            SandboxError::bad_input("skip", format!("the log has no position {position}"))
        })?;
        Ok(self.read.model.borrow_mut().park(projection, event)?)
    }

    /// Every projection recomputed from the log without some events, in a read model of its
    /// own: the real one is not touched.
    pub async fn what_if(&self, exclude: &[EventId]) -> Result<ReadModel, SandboxError> {
        self.hypothetical(exclude, None).await
    }

    /// Every projection recomputed from the log up to a position (time travel: what the read
    /// model said when the log ended there) and without some events, in a read model of its own.
    pub async fn hypothetical(
        &self,
        exclude: &[EventId],
        as_of: Option<u64>,
    ) -> Result<ReadModel, SandboxError> {
        let until = as_of.map_or(usize::MAX, |p| usize::try_from(p).unwrap_or(usize::MAX));
        let events = self
            .store()
            .read_all(&ReadAll::from_position(1, until))
            .await?;
        Ok(read_side::what_if(&self.domain, events, exclude)?)
    }
}
