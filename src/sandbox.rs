//! The sandbox: a scenario's write side and read side over one store. Commands and appends go to
//! the write side ([`WriteSide`]); the read side ([`ReadModel`]) follows the log when asked to
//! project. The two meet only here: projecting reads the log and feeds the read model, and a
//! what-if read model is built from the log without some events.

use std::cell::{Ref, RefCell, RefMut};
use std::rc::Rc;

use crate::domain::Domain;
use crate::error::SandboxError;
use crate::event::EventId;
use crate::read_side::{self, Projected, ReadModel};
use crate::scenario::Scenario;
use crate::store::{EventStore, ReadAll};
use crate::write_side::WriteSide;

/// A scenario running over a store: its write side and its read side.
pub struct Sandbox<S> {
    domain: Rc<Domain>,
    write: WriteSide<S>,
    read: RefCell<ReadModel>,
}

impl<S: EventStore> Sandbox<S> {
    /// Compiles a scenario over a store, seeding the store if it is empty. The read model starts
    /// empty: [`Sandbox::project`] fills it from the log.
    pub async fn open(store: S, scenario: Scenario) -> Result<Self, SandboxError> {
        let domain = Rc::new(Domain::compile(scenario)?);
        let read = ReadModel::open(&domain.scenario().projections)?;
        let write = WriteSide::open(store, Rc::clone(&domain)).await?;
        Ok(Sandbox {
            domain,
            write,
            read: RefCell::new(read),
        })
    }

    /// The compiled scenario.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// The write side: commands, appends, replays, snapshots.
    pub fn write(&self) -> &WriteSide<S> {
        &self.write
    }

    /// The read side, to look at: projections' status, generation.
    pub fn read(&self) -> Ref<'_, ReadModel> {
        self.read.borrow()
    }

    /// The read side, to change or query: pause, resume, rebuild, redefine, query.
    pub fn read_mut(&self) -> RefMut<'_, ReadModel> {
        self.read.borrow_mut()
    }

    /// The store.
    pub fn store(&self) -> &S {
        self.write.store()
    }

    /// Gives the store back, for example to open it with other rules.
    pub fn into_store(self) -> S {
        self.write.into_store()
    }

    /// Brings the running projections forward by up to `max_events` events (from the lowest
    /// checkpoint), each projection in its own transaction with its checkpoint.
    pub async fn project(&self, max_events: usize) -> Result<Projected, SandboxError> {
        let Some(checkpoint) = self.read.borrow().needs_from() else {
            return Ok(Projected::default());
        };
        let events = self
            .store()
            .read_all(&ReadAll::from_position(checkpoint + 1, max_events))
            .await?;
        Ok(self.read.borrow_mut().project(&self.domain, events))
    }

    /// Every projection recomputed from the log without some events, in a read model of its
    /// own: the real one is not touched.
    pub async fn what_if(&self, exclude: &[EventId]) -> Result<ReadModel, SandboxError> {
        let events = self
            .store()
            .read_all(&ReadAll::from_position(1, usize::MAX))
            .await?;
        Ok(read_side::what_if(&self.domain, events, exclude)?)
    }
}
