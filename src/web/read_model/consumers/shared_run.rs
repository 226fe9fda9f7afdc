//! A shared run of the consumers lab as link data (`&lab=…` after a share link's log): everything
//! that decides a run (its settings and seed, what was done when, the head it started at, the
//! projections), and how far it had gone with which digest, so that the same link makes the
//! same run, message for message, and says so.

use serde::{Deserialize, Serialize};

use crate::consumers::{Lab, LabSettings, Scripted};
use crate::interchange::{pack_link, unpack_link};
use crate::sandbox::SandboxError;
use crate::scenario::ProjectionSpec;

/// The `format` of a shared run's data.
const FORMAT: &str = "es-sandbox/consumers-lab";

/// A shared run: what decides it, and how far it had gone with which digest.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SharedRun {
    format: String,
    pub settings: LabSettings,
    pub script: Vec<Scripted>,
    pub head: u64,
    pub definitions: Vec<ProjectionSpec>,
    pub strict: bool,
    /// The simulated time the run had reached.
    pub until_ms: f64,
    /// Its trace's digest then.
    pub digest: String,
    /// Its arrows then.
    pub arrows: u64,
}

impl SharedRun {
    /// A run's link data: its lab as it is (up to simulated time `until_ms`), the head it
    /// started at, the projections it started with and its strictness.
    pub fn pack(
        lab: &Lab,
        head: u64,
        definitions: &[ProjectionSpec],
        strict: bool,
        until_ms: f64,
    ) -> Option<String> {
        let status = lab.status();
        let run = SharedRun {
            format: FORMAT.to_string(),
            settings: lab.settings().clone(),
            script: lab.script().to_vec(),
            head,
            definitions: definitions.to_vec(),
            strict,
            until_ms,
            digest: status.digest,
            arrows: status.arrows,
        };
        pack_link(&serde_json::to_value(&run).ok()?)
    }

    /// Reads a run's link data.
    pub fn unpack(data: &str) -> Result<SharedRun, SandboxError> {
        let value = unpack_link(data, "shared run")?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(SandboxError::bad_input(
                "shared run",
                "it is not an es-sandbox consumers lab run",
            ));
        }
        serde_json::from_value(value)
            .map_err(|e| SandboxError::bad_input("shared run", e.to_string()))
    }
}
