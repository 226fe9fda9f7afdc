//! The sandbox: a scenario's write side and read side over one store, and their errors' union
//! (`error`). Commands and appends go to the write side ([`WriteSide`]); the read side follows
//! the log when asked to project. The two meet only here: projecting reads the log and feeds
//! the read model, and a what-if read model is built from the log without some events. The
//! read side is composed in `projecting`, or, in the lean module built without the
//! `read-model` feature, in `no_projecting` (none): the one switch for the read model.

mod error;
#[cfg(feature = "read-model")]
pub mod projecting;
#[cfg(not(feature = "read-model"))]
#[path = "no_projecting.rs"]
pub mod projecting;

use std::rc::Rc;

use crate::domain::Domain;
use crate::scenario::Scenario;
use crate::store::EventStore;
use crate::write_side::WriteSide;

pub use error::SandboxError;

/// A scenario running over a store: its write side and its read side.
pub struct Sandbox<S> {
    domain: Rc<Domain>,
    write: WriteSide<S>,
    // The lean module has no read side to read.
    #[cfg_attr(not(feature = "read-model"), allow(dead_code))]
    read: projecting::ReadSide,
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
        let read = projecting::open(&domain)?;
        let write = WriteSide::open(store, Rc::clone(&domain)).await?;
        if stored.as_ref() != Some(&document) {
            write.store().record_scenario(&document).await?;
        }
        Ok(Sandbox {
            domain,
            write,
            read,
        })
    }

    /// The compiled scenario.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// The compiled scenario, shared (for what outlives a call: a lab's reference read model).
    pub fn shared_domain(&self) -> Rc<Domain> {
        Rc::clone(&self.domain)
    }

    /// The write side: commands, appends, replays, snapshots.
    pub fn write(&self) -> &WriteSide<S> {
        &self.write
    }

    /// The store.
    pub fn store(&self) -> &S {
        self.write.store()
    }

    /// Gives the store back, for example to open it with other rules.
    pub fn into_store(self) -> S {
        self.write.into_store()
    }
}

/// Checks a scenario as opening a sandbox would, without a store: its rules and upcasters
/// compile, its shapes and projections check, its seed runs. The error names the script, line
/// and column where there is one (what the rules editor points at).
pub fn check_scenario(scenario: Scenario) -> Result<(), SandboxError> {
    let domain = Domain::compile(scenario)?;
    projecting::check(&domain)?;
    crate::write_side::plan_seed(&domain)?;
    Ok(())
}
