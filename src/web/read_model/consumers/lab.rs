//! The consumers lab on the page (`ConsumersLab` to JS), opened from a sandbox over its log: the
//! core's lab, and a reference read model of the same projections fed every event the lab's
//! store knows once, in order (a perfect consumer: the log's truth the consumers' answers are
//! held against). It says what happens next; the page hands deliveries to the workers and
//! brings back what they did.

use std::cell::RefCell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use super::NodeOptions;
use super::node::HandledJs;
use crate::consumers::{
    Action, CrashPoint, Delivery, Handled, Handler, Happening, Lab, LabSettings, Reply, Scripted,
    kurrent_body,
};
use crate::read_side::ConsumerModel;
use crate::sandbox::{Sandbox, SandboxError};
use crate::scenario::ProjectionSpec;
use crate::store::ReadAll;
use crate::web::browser_segments::BrowserStore;
use crate::web::class::JsSandbox;
use crate::web::convert::{from_json, options, to_js};
use crate::web::read_model::dto::{QueryAnswer, QueryOptions};
use crate::web::read_model::projecting::clock_ms;
use crate::web::runtime::promise;

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
    /// Or their definitions, whole (a shared run's: they may differ from the scenario's).
    definitions: Vec<ProjectionSpec>,
    /// Whether an update or delete that changes no row fails (default: yes).
    strict: Option<bool>,
    /// What keeps this lab's workers' files apart from another's (an embed's).
    namespace: String,
}

/// A lab's state for a share link: the same state reproduces the same run.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LabState<'a> {
    settings: &'a LabSettings,
    script: &'a [Scripted],
    head: u64,
    definitions: &'a [ProjectionSpec],
    strict: bool,
}

/// What happens next, as JS sees it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
enum HappeningJs<'a> {
    Deliver {
        consumer: usize,
        arrow: u64,
        delivery: &'a Delivery,
    },
    Start {
        consumer: usize,
    },
    Arm {
        consumer: usize,
        point: CrashPoint,
    },
    Internal,
}

fn happening_js(happening: &Happening) -> HappeningJs<'_> {
    match happening {
        Happening::Deliver {
            consumer,
            arrow,
            delivery,
        } => HappeningJs::Deliver {
            consumer: *consumer,
            arrow: *arrow,
            delivery,
        },
        Happening::Start { consumer } => HappeningJs::Start {
            consumer: *consumer,
        },
        Happening::Arm { consumer, point } => HappeningJs::Arm {
            consumer: *consumer,
            point: *point,
        },
        Happening::Internal => HappeningJs::Internal,
    }
}

/// A consumers lab over a sandbox's log.
#[wasm_bindgen(js_name = ConsumersLab)]
pub struct JsLab {
    sandbox: Rc<Sandbox<BrowserStore>>,
    /// Shared with a `refresh` in flight, which takes the log in when it has read it.
    core: Rc<RefCell<LabCore>>,
}

impl LabCore {
    /// The projections consumers run now: the last redeploy's, or those of the start.
    fn deployed(&self) -> Vec<ProjectionSpec> {
        self.lab
            .deployed()
            .and_then(|d| serde_json::from_value(d.clone()).ok())
            .unwrap_or_else(|| self.specs.clone())
    }
}

/// The lab and what it keeps beside it.
struct LabCore {
    lab: Lab,
    truth: ConsumerModel,
    fed: u64,
    /// The projections consumers ran at the start.
    specs: Vec<ProjectionSpec>,
    strict: bool,
    head: u64,
    /// Where this run's workers keep their files.
    directory: String,
}

#[wasm_bindgen(js_class = Sandbox)]
impl JsSandbox {
    /// A consumers lab over this sandbox's log: `{ settings?, script?, head?, projections?,
    /// strict?, namespace? }`.
    #[wasm_bindgen(js_name = consumersLab, unchecked_return_type = "Promise<ConsumersLab>")]
    pub fn consumers_lab(
        &self,
        #[wasm_bindgen(unchecked_param_type = "object | undefined")] lab_options: JsValue,
    ) -> js_sys::Promise {
        let lab_options: Result<LabOptions, _> = options(lab_options, "lab options");
        let sandbox = Rc::clone(&self.inner);
        let future = self.guarded(async move {
            let lab_options = lab_options?;
            let log = sandbox
                .write()
                .events(&ReadAll::from_position(1, usize::MAX))
                .await?;
            let domain = sandbox.shared_domain();
            let all = &domain.scenario().projections;
            let projections: Vec<String> =
                if lab_options.projections.is_empty() && lab_options.definitions.is_empty() {
                    all.iter().map(|p| p.name.clone()).collect()
                } else {
                    lab_options.projections.clone()
                };
            if let Some(unknown) = projections
                .iter()
                .find(|n| !all.iter().any(|p| &p.name == *n))
            {
                return Err(SandboxError::bad_input(
                    "lab options",
                    format!("the scenario has no projection {unknown:?}"),
                ));
            }
            let specs: Vec<_> = all
                .iter()
                .filter(|p| projections.contains(&p.name))
                .cloned()
                .collect();
            let strict = lab_options.strict.unwrap_or(true);
            let truth = ConsumerModel::open(Rc::clone(&domain), &specs, ":memory:", None, strict)?;
            let head = lab_options.head.unwrap_or(log.len() as u64);
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
                fed: 0,
                specs,
                strict,
                head,
                directory: format!("es-sandbox-consumers/{namespace}/{}", &run[..12]),
            };
            Ok(JsLab {
                sandbox,
                core: Rc::new(RefCell::new(core)),
            })
        });
        wasm_bindgen_futures::future_to_promise(async move { Ok(future.await?.into()) })
    }
}

fn bad(what: &str, error: impl std::fmt::Display) -> JsValue {
    SandboxError::bad_input(what, error.to_string()).into()
}

#[wasm_bindgen(js_class = ConsumersLab)]
impl JsLab {
    /// What a worker needs to open consumer `consumer`'s node (`fresh`: at the run's start; a
    /// restart opens the files the crashed node left).
    #[wasm_bindgen(js_name = nodeOptions)]
    pub fn node_options(&self, consumer: usize, fresh: bool) -> Result<JsValue, JsValue> {
        let core = self.core.borrow();
        let settings = core.lab.settings();
        let options = NodeOptions {
            scenario: self.sandbox.domain().scenario().to_json(),
            projections: core.deployed(),
            kind: settings.kind,
            commit: settings.commit,
            inbox: settings.inbox,
            on_failure: settings.on_failure,
            strict: core.strict,
            directory: format!("{}/c{consumer}", core.directory),
            fresh,
        };
        Ok(to_js(&options)?)
    }

    /// What happens next (`{ kind: "deliver" | "start" | "arm" | "internal", … }`), with the
    /// lab's clock moved to it; `null` when nothing is scheduled.
    #[wasm_bindgen(js_name = next)]
    pub fn next_happening(&mut self) -> Result<JsValue, JsValue> {
        match self.core.borrow_mut().lab.next_happening() {
            Some(happening) => Ok(to_js(&happening_js(&happening))?),
            None => Ok(JsValue::NULL),
        }
    }

    /// The deliveries that can be handed to the workers now, together (at most `limit`).
    pub fn deliveries(&mut self, limit: usize) -> Result<JsValue, JsValue> {
        let batch = self.core.borrow_mut().lab.deliveries(limit.max(1));
        let batch: Vec<HappeningJs<'_>> = batch.iter().map(happening_js).collect();
        Ok(to_js(&batch)?)
    }

    /// What a node did with a delivery (`null`: its worker was gone).
    pub fn handled(
        &mut self,
        consumer: usize,
        arrow: f64,
        handled: JsValue,
    ) -> Result<(), JsValue> {
        let handled: Option<HandledJs> = if handled.is_null() || handled.is_undefined() {
            None
        } else {
            Some(from_json(handled, "handled")?)
        };
        let handled = handled.map(|h| Handled {
            outcome: h.outcome,
            replies: h.replies,
        });
        self.core
            .borrow_mut()
            .lab
            .handled(consumer, arrow as u64, handled);
        Ok(())
    }

    /// A node started: what it says (`ConsumerNode.start()`).
    pub fn started(&mut self, consumer: usize, replies: JsValue) -> Result<(), JsValue> {
        let replies: Vec<Reply> = from_json(replies, "replies")?;
        self.core.borrow_mut().lab.started(consumer, replies);
        Ok(())
    }

    /// Does an action now: `{ action: "partition", consumer, cut }`, `{ action: "crash",
    /// consumer, point }`, `{ action: "replayParked", stopAt? }`, `{ action: "restartGroup" }`.
    pub fn act(&mut self, action: JsValue) -> Result<(), JsValue> {
        let action: Action = from_json(action, "action")?;
        self.core
            .borrow_mut()
            .lab
            .act(action)
            .map_err(|e| bad("action", e))
    }

    /// Reads the sandbox's log: what was appended since, the lab's store knows from now.
    /// Resolves to the log's head.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn refresh(&self) -> js_sys::Promise {
        let (sandbox, core) = (Rc::clone(&self.sandbox), Rc::clone(&self.core));
        promise(async move {
            let log = sandbox
                .write()
                .events(&ReadAll::from_position(1, usize::MAX))
                .await?;
            let head = log.len();
            let mut core = core.borrow_mut();
            if head > core.lab.known_events().len() {
                core.lab.log_grew(log);
            }
            Ok(head)
        })
    }

    /// Goes on over a sandbox opened again (the same store under edited rules): if the
    /// projections the consumers run changed, every consumer is redeployed with the new ones
    /// (stopped, started again over its files: its tables stay, its handlers are new), and the
    /// reference read model is built again with them. Resolves to whether they changed.
    #[wasm_bindgen(js_name = followSandbox)]
    pub fn follow_sandbox(&mut self, sandbox: &JsSandbox) -> Result<bool, JsValue> {
        self.sandbox = Rc::clone(&sandbox.inner);
        let domain = self.sandbox.shared_domain();
        let mut core = self.core.borrow_mut();
        let deployed = core.deployed();
        let fresh: Vec<ProjectionSpec> = deployed
            .iter()
            .filter_map(|old| {
                domain
                    .scenario()
                    .projections
                    .iter()
                    .find(|p| p.name == old.name)
                    .cloned()
            })
            .collect();
        if fresh == deployed {
            return Ok(false);
        }
        core.truth = ConsumerModel::open(domain, &fresh, ":memory:", None, core.strict)
            .map_err(SandboxError::from)?;
        core.fed = 0;
        let definitions = serde_json::to_value(&fresh).map_err(|e| bad("projections", e))?;
        core.lab
            .act(Action::Redeploy { definitions })
            .map_err(|e| bad("redeploy", e))?;
        Ok(true)
    }

    /// How the run is doing.
    #[wasm_bindgen(unchecked_return_type = "object")]
    pub fn status(&self) -> Result<JsValue, JsValue> {
        Ok(to_js(&self.core.borrow().lab.status())?)
    }

    /// The arrows that overlap `from..to` in simulated time.
    pub fn arrows(&self, from: f64, to: f64) -> Result<JsValue, JsValue> {
        Ok(to_js(&self.core.borrow().lab.arrows_between(from, to))?)
    }

    /// One arrow, if it is still kept.
    pub fn arrow(&self, id: f64) -> Result<JsValue, JsValue> {
        Ok(to_js(&self.core.borrow().lab.arrow_by_id(id as u64))?)
    }

    /// The log's truth: the reference read model (every event the lab's store knows, once, in
    /// order) answers a read-only statement.
    pub fn truth(
        &mut self,
        sql: &str,
        #[wasm_bindgen(unchecked_param_type = "QueryOptions | undefined")] query_options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let query_options: QueryOptions = options(query_options, "query options")?;
        let mut core = self.core.borrow_mut();
        let LabCore {
            lab, truth, fed, ..
        } = &mut *core;
        let known = lab.known_events();
        for event in &known[*fed as usize..] {
            truth
                .apply(event, false)
                .map_err(|e| bad("the reference read model", e))?;
        }
        *fed = known.len() as u64;
        let started = clock_ms();
        let result = truth
            .query(sql, &query_options.limits(clock_ms))
            .map_err(SandboxError::from)?;
        Ok(to_js(&QueryAnswer {
            ms: clock_ms() - started,
            what_if: false,
            as_of: None,
            sources: Vec::new(),
            result,
        })?)
    }

    /// The run's state for a share link: its settings, its script so far, the head it started
    /// at, its projections and strictness.
    #[wasm_bindgen(unchecked_return_type = "object")]
    pub fn state(&self) -> Result<JsValue, JsValue> {
        let core = self.core.borrow();
        Ok(to_js(&LabState {
            settings: core.lab.settings(),
            script: core.lab.script(),
            head: core.head,
            definitions: &core.specs,
            strict: core.strict,
        })?)
    }

    /// The group's settings as KurrentDB takes them (`PUT /subscriptions/{stream}/{group}`),
    /// as pretty JSON.
    #[wasm_bindgen(js_name = kurrentBody)]
    pub fn kurrent_body(&self) -> String {
        let core = self.core.borrow();
        let settings = core.lab.settings();
        serde_json::to_string_pretty(&kurrent_body(&settings.group, settings.consumers))
            .unwrap_or_default()
    }

    /// When the next thing happens, in simulated milliseconds (`undefined`: nothing is to).
    #[wasm_bindgen(js_name = nextAt)]
    pub fn next_at(&self) -> Option<f64> {
        self.core.borrow().lab.next_at()
    }

    /// Simulated milliseconds since the start.
    pub fn now(&self) -> f64 {
        self.core.borrow().lab.now()
    }
}
