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

/// A sandbox's read side: its read model, the schedule of its catch-ups, and the last read
/// model as of a past position (time travel).
pub struct ReadSide {
    model: RefCell<ReadModel>,
    following: Following,
    past: RefCell<Option<Past>>,
}

/// A read model projected from the log up to a position. Positions up to it never change while
/// a sandbox is open (the log only grows, and the scenario's projections are the sandbox's
/// own), so a later position needs only the events after it: a slider moved forward costs the
/// events it passes, not the whole log again.
struct Past {
    position: u64,
    model: ReadModel,
}

/// Opens the read side of a compiled scenario: its projections' tables, empty.
pub(super) fn open(domain: &Domain) -> Result<ReadSide, SandboxError> {
    Ok(ReadSide {
        model: RefCell::new(ReadModel::open(&domain.scenario().projections)?),
        following: Following::new(true),
        past: RefCell::new(None),
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

    /// Runs `look` on the read model without `exclude` and as of `as_of` (as
    /// [`Sandbox::hypothetical`] makes it). As of a position with nothing left out, it is the
    /// read model kept from the last such look, brought forward when the position is later
    /// (only the events in between are projected), made anew when it is earlier.
    pub async fn with_hypothetical<T>(
        &self,
        exclude: &[EventId],
        as_of: Option<u64>,
        look: impl FnOnce(&mut ReadModel) -> Result<T, SandboxError>,
    ) -> Result<T, SandboxError> {
        let Some(position) = as_of.filter(|_| exclude.is_empty()) else {
            return look(&mut self.hypothetical(exclude, as_of).await?);
        };
        let head = self.store().head_position().await?;
        let position = position.min(head);
        let kept = self.read.past.borrow_mut().take();
        let mut past = match kept {
            Some(past) if past.position <= position => past,
            _ => Past {
                position: 0,
                model: ReadModel::open(&self.domain.scenario().projections)?,
            },
        };
        let missing = usize::try_from(position - past.position).unwrap_or(usize::MAX);
        if missing > 0 {
            let events = self
                .store()
                .read_all(&ReadAll::from_position(past.position + 1, missing))
                .await?;
            past.model.project(&self.domain, events);
            past.position = position;
        }
        let answer = look(&mut past.model);
        *self.read.past.borrow_mut() = Some(past);
        answer
    }
}
