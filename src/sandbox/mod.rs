//! The sandbox: a scenario's write side and read side over one store. Commands and appends go to
//! the write side ([`WriteSide`]); the read side ([`ReadModel`]) follows the log when asked to
//! project. The two meet only here: projecting reads the log and feeds the read model, and a
//! what-if read model is built from the log without some events.

mod error;

#[cfg(feature = "read-model")]
use std::cell::{Ref, RefCell, RefMut};
use std::rc::Rc;

use crate::domain::Domain;
#[cfg(feature = "read-model")]
use crate::event::EventId;
#[cfg(feature = "read-model")]
use crate::read_side::{self, Projected, ReadModel};
use crate::scenario::Scenario;
use crate::store::EventStore;
#[cfg(feature = "read-model")]
use crate::store::ReadAll;
use crate::write_side::WriteSide;

pub use error::SandboxError;

/// A scenario running over a store: its write side and its read side.
pub struct Sandbox<S> {
    domain: Rc<Domain>,
    write: WriteSide<S>,
    #[cfg(feature = "read-model")]
    read: RefCell<ReadModel>,
}

/// What to do when a store's events were written under another scenario than the one given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OnOtherScenario {
    /// Refuse to open, saying which scenario the store holds.
    #[default]
    Refuse,
    /// Open with the store's own scenario (its rules as they were recorded).
    UseStored,
    /// Open with the scenario given, and record it with the store from now on.
    UseGiven,
}

impl<S: EventStore> Sandbox<S> {
    /// Compiles a scenario over a store, seeding the store if it is empty. A store whose events
    /// were written under another scenario is refused ([`SandboxError::OtherScenario`]). The
    /// read model starts empty: [`Sandbox::project`] fills it from the log.
    pub async fn open(store: S, scenario: Scenario) -> Result<Self, SandboxError> {
        Self::open_as(store, scenario, OnOtherScenario::Refuse).await
    }

    /// Like [`Sandbox::open`], saying what to do when the store remembers another scenario.
    pub async fn open_as(
        store: S,
        scenario: Scenario,
        other: OnOtherScenario,
    ) -> Result<Self, SandboxError> {
        Self::open_compiled(store, Rc::new(Domain::compile(scenario)?), other).await
    }

    /// Like [`Sandbox::open_as`], with the scenario already compiled (an import compiled it to
    /// check its events): it is compiled again only if the store's own scenario is chosen.
    pub async fn open_compiled(
        store: S,
        domain: Rc<Domain>,
        other: OnOtherScenario,
    ) -> Result<Self, SandboxError> {
        let given = domain.scenario().to_json();
        let stored = store.scenario().await?;
        let domain = match (&stored, other) {
            (Some(document), _) if *document == given => domain,
            (None, _) | (Some(_), OnOtherScenario::UseGiven) => domain,
            (Some(document), OnOtherScenario::UseStored) => {
                Rc::new(Domain::compile(Scenario::from_json(document)?)?)
            }
            (Some(document), OnOtherScenario::Refuse) => {
                let stored_name = Scenario::from_json(document)
                    .map(|s| s.name)
                    .unwrap_or_else(|_| "an unreadable scenario".into());
                return Err(SandboxError::OtherScenario {
                    stored: stored_name,
                    given: domain.scenario().name.clone(),
                });
            }
        };
        let document = domain.scenario().to_json();
        #[cfg(feature = "read-model")]
        let read = ReadModel::open(&domain.scenario().projections)?;
        let write = WriteSide::open(store, Rc::clone(&domain)).await?;
        if stored.as_ref() != Some(&document) {
            write.store().record_scenario(&document).await?;
        }
        Ok(Sandbox {
            domain,
            write,
            #[cfg(feature = "read-model")]
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
    #[cfg(feature = "read-model")]
    pub fn read(&self) -> Ref<'_, ReadModel> {
        self.read.borrow()
    }

    /// The read side, to change or query: pause, resume, rebuild, redefine, query.
    #[cfg(feature = "read-model")]
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
    #[cfg(feature = "read-model")]
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

    /// Skips the event a failed projection stopped at: parks it in `parked_events` with its error
    /// and lets the projection go on after it.
    #[cfg(feature = "read-model")]
    pub async fn skip(&self, projection: &str) -> Result<(), SandboxError> {
        let position = self.read.borrow_mut().failed_at(projection)?;
        let events = self
            .store()
            .read_all(&ReadAll::from_position(position, 1))
            .await?;
        let event = events.first().ok_or_else(|| {
            SandboxError::bad_input("skip", format!("the log has no position {position}"))
        })?;
        Ok(self.read.borrow_mut().park(projection, event)?)
    }

    /// Every projection recomputed from the log without some events, in a read model of its
    /// own: the real one is not touched.
    #[cfg(feature = "read-model")]
    pub async fn what_if(&self, exclude: &[EventId]) -> Result<ReadModel, SandboxError> {
        self.hypothetical(exclude, None).await
    }

    /// Every projection recomputed from the log up to a position (time travel: what the read
    /// model said when the log ended there) and without some events, in a read model of its own.
    #[cfg(feature = "read-model")]
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

/// Checks a scenario as opening a sandbox would, without a store: its rules and upcasters
/// compile, its shapes and projections check, its seed runs. The error names the script, line
/// and column where there is one (what the rules editor points at).
pub fn check_scenario(scenario: Scenario) -> Result<(), SandboxError> {
    let domain = Domain::compile(scenario)?;
    #[cfg(feature = "read-model")]
    ReadModel::open(&domain.scenario().projections)?;
    crate::write_side::plan_seed(&domain)?;
    Ok(())
}
