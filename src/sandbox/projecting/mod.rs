//! The read side where it meets the write side (with the `read-model` feature): the read model
//! a sandbox keeps, projecting the log into it, skipping an event a projection failed on, a
//! read model without some events or as of a position, and the schedule that follows the log
//! on its own (`following`).

mod following;

use std::cell::{OnceCell, Ref, RefCell, RefMut};

pub use following::{CHUNK, Following, MAX_DELAY_MS, Timer};

use super::{Sandbox, SandboxError};
use crate::domain::Domain;
use crate::event::EventId;
use crate::read_error::ProjectionError;
use crate::read_side::{self, Projected, ReadModel};
use crate::scenario::ships_projections;
use crate::store::{EventStore, ReadAll};

/// A sandbox's read side: its read model, the schedule of its catch-ups, and the last read
/// model as of a past position (time travel).
pub struct ReadSide {
    /// The read model, or why it could not be set up. Opened with the sandbox, or on first use
    /// when its projections are known to set up (see [`open`]).
    model: OnceCell<Result<RefCell<ReadModel>, ProjectionError>>,
    /// Told once when the read model is opened on first use (a page starts following then).
    on_opened: RefCell<Option<Box<dyn FnOnce()>>>,
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

/// Opens the read side of a compiled scenario: its projections' tables, empty. A shipped
/// scenario's projections are known to set up (a test opens each), so their read model opens on
/// first use instead: setting up SQLite (its code compiled cold, the tables made) is not on
/// the way to a page's first drawing. Any other scenario's opens now, so that a projection
/// whose setup fails refuses the sandbox.
pub(super) fn open(domain: &Domain) -> Result<ReadSide, SandboxError> {
    let scenario = domain.scenario();
    let side = ReadSide {
        model: OnceCell::new(),
        on_opened: RefCell::new(None),
        following: Following::new(true),
        past: RefCell::new(None),
    };
    if !ships_projections(&scenario.name, &scenario.projections) {
        let model = ReadModel::open(&scenario.projections)?;
        let _ = side.model.set(Ok(RefCell::new(model)));
    }
    Ok(side)
}

/// Checks that a compiled scenario's projections set up, by opening a read model of them.
pub(super) fn check(domain: &Domain) -> Result<(), SandboxError> {
    ReadModel::open(&domain.scenario().projections)?;
    Ok(())
}

impl<S: EventStore> Sandbox<S> {
    /// The read model, opened now if it was not yet.
    fn model(&self) -> Result<&RefCell<ReadModel>, SandboxError> {
        let mut opened = false;
        let model = self.read.model.get_or_init(|| {
            opened = true;
            ReadModel::open(&self.domain.scenario().projections).map(RefCell::new)
        });
        if opened {
            // Taken out first: whoever is told may look at the read side again.
            let told = self.read.on_opened.borrow_mut().take();
            if let Some(told) = told {
                told();
            }
        }
        model.as_ref().map_err(|error| error.clone().into())
    }

    /// Whether the read model is open (it opens on first use for a shipped scenario).
    pub fn read_model_open(&self) -> bool {
        self.read.model.get().is_some()
    }

    /// Calls `told` once, when the read model opens on first use (at once if it is open); one
    /// at a time: a later call replaces an earlier one that was not told yet.
    pub fn when_read_model_opens(&self, told: impl FnOnce() + 'static) {
        if self.read_model_open() {
            told();
        } else {
            *self.read.on_opened.borrow_mut() = Some(Box::new(told));
        }
    }

    /// The read side, to look at: projections' status, generation.
    pub fn read(&self) -> Result<Ref<'_, ReadModel>, SandboxError> {
        Ok(self.model()?.borrow())
    }

    /// The read side, to change or query: pause, resume, rebuild, redefine, query.
    pub fn read_mut(&self) -> Result<RefMut<'_, ReadModel>, SandboxError> {
        Ok(self.model()?.borrow_mut())
    }

    /// The schedule that makes the read model follow the log on its own.
    pub fn following(&self) -> &Following {
        &self.read.following
    }

    /// Brings the running projections forward by up to `max_events` events (from the lowest
    /// checkpoint), each projection in its own transaction with its checkpoint.
    pub async fn project(&self, max_events: usize) -> Result<Projected, SandboxError> {
        let Some(checkpoint) = self.read()?.needs_from() else {
            return Ok(Projected::default());
        };
        let events = self
            .store()
            .read_all(&ReadAll::from_position(checkpoint + 1, max_events))
            .await?;
        Ok(self.read_mut()?.project(&self.domain, events))
    }

    /// Skips the event a failed projection stopped at: parks it in `parked_events` with its error
    /// and lets the projection go on after it.
    pub async fn skip(&self, projection: &str) -> Result<(), SandboxError> {
        let position = self.read_mut()?.failed_at(projection)?;
        let events = self
            .store()
            .read_all(&ReadAll::from_position(position, 1))
            .await?;
        let event = events.first().ok_or_else(|| {
            SandboxError::bad_input("skip", format!("the log has no position {position}"))
        })?;
        Ok(self.read_mut()?.park(projection, event)?)
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
