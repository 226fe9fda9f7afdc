//! Upcasters: Rhai scripts that turn an event's data from one schema version to the next, applied
//! on every read so that stored events never change.
//!
//! An upcaster for (`UserRegistered`, from version 1) defines `fn upcast(data)` (or
//! `fn upcast(data, event)`) and returns the version-2 data. Upcasters chain: a version-1 event
//! read by rules at version 3 goes through the 1→2 and then the 2→3 upcaster.

use std::collections::BTreeMap;

use rhai::Dynamic;

use crate::event::StoredEvent;
use crate::rules::event_map;
use crate::script::{CallError, Script, ScriptEngine, ScriptError};

const UPCAST: &str = "upcast";

/// One upcaster as written in a scenario.
#[derive(Debug, Clone, Copy)]
pub struct UpcasterSource<'a> {
    /// The event type it upcasts.
    pub event_type: &'a str,
    /// The schema version it reads; it produces `from_version + 1`.
    pub from_version: u32,
    /// Its Rhai source.
    pub source: &'a str,
}

/// Why a set of upcasters does not form chains.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpcasterError {
    /// A script failed to compile or lacks `fn upcast`.
    #[error(transparent)]
    Script(#[from] ScriptError),
    /// The versions of one event type do not run 1, 2, 3 … without gaps or repeats.
    #[error(
        "upcasters for {event_type} must start at version 1 and go up by one; found versions {found:?}"
    )]
    BrokenChain {
        /// The event type.
        event_type: String,
        /// The `fromVersion`s given, sorted.
        found: Vec<u32>,
    },
}

#[derive(Debug, Clone)]
struct Step {
    script: Script,
    takes_event: bool,
}

/// All upcasters of a scenario, chained per event type.
#[derive(Debug, Clone, Default)]
pub struct Upcasters {
    /// Event type → steps; the step at index `i` reads version `i + 1`.
    chains: BTreeMap<String, Vec<Step>>,
}

impl Upcasters {
    /// Compiles upcasters and checks that each event type's versions form a chain from 1.
    pub fn compile<'a>(
        engine: &ScriptEngine,
        sources: impl IntoIterator<Item = UpcasterSource<'a>>,
    ) -> Result<Self, UpcasterError> {
        let mut by_type: BTreeMap<String, BTreeMap<u32, Step>> = BTreeMap::new();
        let mut versions: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for upcaster in sources {
            let name = format!(
                "upcaster {} v{}",
                upcaster.event_type, upcaster.from_version
            );
            let script = engine.compile(&name, upcaster.source)?;
            let takes_event = match script.arity(UPCAST) {
                Some(1) => false,
                Some(2) => true,
                _ => {
                    return Err(ScriptError::contract(
                        &name,
                        None,
                        "an upcaster must define `fn upcast(data)` or `fn upcast(data, event)` returning the new data",
                    )
                    .into());
                }
            };
            versions
                .entry(upcaster.event_type.to_string())
                .or_default()
                .push(upcaster.from_version);
            by_type
                .entry(upcaster.event_type.to_string())
                .or_default()
                .insert(
                    upcaster.from_version,
                    Step {
                        script,
                        takes_event,
                    },
                );
        }
        for (event_type, mut found) in versions {
            found.sort_unstable();
            if !found.iter().copied().eq(1..=found.len() as u32) {
                return Err(UpcasterError::BrokenChain { event_type, found });
            }
        }
        let chains = by_type
            .into_iter()
            .map(|(event_type, steps)| (event_type, steps.into_values().collect()))
            .collect();
        Ok(Upcasters { chains })
    }

    /// The schema version the rules read for an event type: one past its last upcaster.
    pub fn current_version(&self, event_type: &str) -> u32 {
        self.chains
            .get(event_type)
            .map_or(1, |steps| steps.len() as u32 + 1)
    }

    /// Event types that have upcasters.
    pub fn event_types(&self) -> impl Iterator<Item = &str> {
        self.chains.keys().map(String::as_str)
    }

    /// The sources of an event type's upcasters, in chain order (for hashing).
    pub fn sources(&self, event_type: &str) -> impl Iterator<Item = &str> {
        self.chains
            .get(event_type)
            .into_iter()
            .flatten()
            .map(|step| step.script.source())
    }

    /// Brings an event's data up to the current schema version of its type.
    pub fn upcast(
        &self,
        engine: &ScriptEngine,
        event: &StoredEvent,
        mut data: Dynamic,
    ) -> Result<Dynamic, ScriptError> {
        let current = self.current_version(&event.event_type);
        if event.schema_version >= current {
            if event.schema_version > current {
                return Err(ScriptError::contract(
                    &format!("upcasters of {}", event.event_type),
                    None,
                    format!(
                        "event {} has schema version {}, newer than the {} the rules read",
                        event.event_id, event.schema_version, current
                    ),
                ));
            }
            return Ok(data);
        }
        let steps = self.chains.get(&*event.event_type).into_iter().flatten();
        let pending = steps.skip(event.schema_version.saturating_sub(1) as usize);
        for step in pending {
            let result = if step.takes_event {
                engine.call(&step.script, UPCAST, (data, event_map(event)))
            } else {
                engine.call(&step.script, UPCAST, (data,))
            };
            data = result.map_err(CallError::into_script_error)?;
            if !data.is_map() {
                return Err(ScriptError::contract(
                    step.script.name(),
                    Some(UPCAST),
                    format!(
                        "must return the new data as an object map, returned {}",
                        data.type_name()
                    ),
                ));
            }
        }
        Ok(data)
    }
}
