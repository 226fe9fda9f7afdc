//! How a consumers lab starts (`Sandbox.consumersLab`): from options on the page, or from a
//! shared run's link data (`shared_run`).

use std::cell::RefCell;
use std::rc::Rc;

use serde::Deserialize;
use wasm_bindgen::prelude::*;

use super::lab::{JsLab, LabCore};
use super::shared_run::SharedRun;
use super::truth::Truth;
use crate::consumers::{Lab, LabSettings, Scripted};
use crate::sandbox::SandboxError;
use crate::scenario::ProjectionSpec;
use crate::store::ReadAll;
use crate::web::class::JsSandbox;
use crate::web::convert::options;

/// Options of `Sandbox.consumersLab`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
struct LabOptions {
    /// The run's settings (seed, subscription, link, …).
    settings: LabSettings,
    /// What is done during the run (an earlier run's, to reproduce it).
    script: Vec<Scripted>,
    /// How far the lab's store knows the log at the start (default: all of it).
    head: Option<u64>,
    /// The projections the consumers run, by name (default: all of the scenario's).
    projections: Vec<String>,
    /// Or their definitions, whole (they may differ from the scenario's).
    definitions: Vec<ProjectionSpec>,
    /// Whether an update or delete that changes no row fails (default: yes).
    strict: Option<bool>,
    /// What keeps this lab's workers' files apart from another's (an embed's).
    namespace: String,
    /// A shared run's link data (`ConsumersLab.shareData`): it decides everything above but
    /// the namespace.
    shared: Option<String>,
}

#[wasm_bindgen(js_class = Sandbox)]
impl JsSandbox {
    /// A consumers lab over this sandbox's log: `{ settings?, script?, head?, projections?,
    /// definitions?, strict?, namespace?, shared? }`.
    #[wasm_bindgen(js_name = consumersLab, unchecked_return_type = "Promise<ConsumersLab>")]
    pub fn consumers_lab(
        &self,
        #[wasm_bindgen(unchecked_param_type = "object | undefined")] lab_options: JsValue,
    ) -> js_sys::Promise {
        let lab_options: Result<LabOptions, _> = options(lab_options, "lab options");
        let sandbox = Rc::clone(&self.inner);
        let future = self.guarded(async move {
            let mut lab_options = lab_options?;
            let shared = match lab_options.shared.take() {
                Some(data) => Some(SharedRun::unpack(&data)?),
                None => None,
            };
            if let Some(run) = &shared {
                lab_options.settings = run.settings.clone();
                lab_options.script = run.script.clone();
                lab_options.head = Some(run.head);
                lab_options.definitions = run.definitions.clone();
                lab_options.strict = Some(run.strict);
            }
            let log = sandbox
                .write()
                .events(&ReadAll::from_position(1, usize::MAX))
                .await?;
            let domain = sandbox.shared_domain();
            let specs = chosen_projections(&domain.scenario().projections, &lab_options)?;
            let strict = lab_options.strict.unwrap_or(true);
            let truth = Truth::open(Rc::clone(&domain), specs.clone(), strict)?;
            let head = lab_options.head.unwrap_or(log.len() as u64);
            if head > log.len() as u64 {
                return Err(SandboxError::bad_input(
                    "lab options",
                    format!(
                        "the run starts at position {head}, but this log ends at {}",
                        log.len()
                    ),
                ));
            }
            let lab = Lab::new(lab_options.settings, log, head, lab_options.script)
                .map_err(|e| SandboxError::bad_input("lab settings", e.to_string()))?;
            let run = uuid::Uuid::new_v4().simple().to_string();
            let namespace = if lab_options.namespace.is_empty() {
                "page".to_string()
            } else {
                lab_options.namespace
            };
            let core = LabCore {
                lab,
                truth,
                specs,
                strict,
                head,
                directory: format!("es-sandbox-consumers/{namespace}/{}", &run[..12]),
                shared,
            };
            Ok(JsLab {
                sandbox,
                core: Rc::new(RefCell::new(core)),
            })
        });
        wasm_bindgen_futures::future_to_promise(async move { Ok(future.await?.into()) })
    }
}

/// The projections a lab's consumers run: the definitions given, or the scenario's named ones
/// (all of them when none is named).
fn chosen_projections(
    all: &[ProjectionSpec],
    lab_options: &LabOptions,
) -> Result<Vec<ProjectionSpec>, SandboxError> {
    if !lab_options.definitions.is_empty() {
        return Ok(lab_options.definitions.clone());
    }
    if let Some(unknown) = lab_options
        .projections
        .iter()
        .find(|n| !all.iter().any(|p| &p.name == *n))
    {
        return Err(SandboxError::bad_input(
            "lab options",
            format!("the scenario has no projection {unknown:?}"),
        ));
    }
    Ok(all
        .iter()
        .filter(|p| lab_options.projections.is_empty() || lab_options.projections.contains(&p.name))
        .cloned()
        .collect())
}
