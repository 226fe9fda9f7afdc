//! The consumers lab on the page (`ConsumersLab` to JS), opened from a sandbox over its log
//! (`opening`): the core's lab, and the log's truth (`truth`) the consumers' answers are held
//! against. It says what happens next; the page hands deliveries to the workers and brings back
//! what they did.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::NodeOptions;
use super::dto::{AnswerJs, TruthAnswer, VerdictsJs};
use super::node::HandledJs;
use super::shared_run::SharedRun;
use super::truth::Truth;
use crate::consumers::{Action, Handled, Lab, Reply, judge, kurrent_body, kurrent_streams};
use crate::sandbox::{Sandbox, SandboxError};
use crate::scenario::ProjectionSpec;
use crate::store::ReadAll;
use crate::web::browser_segments::BrowserStore;
use crate::web::class::JsSandbox;
use crate::web::convert::{from_json, options, to_js};
use crate::web::read_model::dto::{QueryAnswer, QueryOptions};
use crate::web::runtime::clock_ms;
use crate::web::runtime::promise;

/// The group's name in KurrentDB.
const KURRENT_GROUP: &str = "es-sandbox-lab";

/// A consumers lab over a sandbox's log.
#[wasm_bindgen(js_name = ConsumersLab)]
pub struct JsLab {
    pub(super) sandbox: Rc<Sandbox<BrowserStore>>,
    /// Shared with a `refresh` in flight, which takes the log in when it has read it.
    pub(super) core: Rc<RefCell<LabCore>>,
}

/// The lab and what it keeps beside it.
pub(super) struct LabCore {
    pub lab: Lab,
    pub truth: Truth,
    /// The projections consumers ran at the start.
    pub specs: Vec<ProjectionSpec>,
    pub strict: bool,
    pub head: u64,
    /// Where this run's workers keep their files.
    pub directory: String,
    /// The shared run this one reproduces, if it does.
    pub shared: Option<SharedRun>,
}

impl LabCore {
    /// The projections consumers run now: the last redeploy's, or those of the start.
    fn deployed(&self) -> Vec<ProjectionSpec> {
        self.lab
            .deployed()
            .and_then(|d| serde_json::from_value(d.clone()).ok())
            .unwrap_or_else(|| self.specs.clone())
    }

    /// The reference read model, up to date with the store and the deployed projections.
    fn truth(&mut self, sandbox: &Sandbox<BrowserStore>) -> Result<&mut Truth, SandboxError> {
        let deployed = self.deployed();
        self.truth.follow(sandbox.shared_domain(), deployed)?;
        self.truth.catch_up(self.lab.known_events());
        Ok(&mut self.truth)
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

    /// What happens next up to simulated time `untilMs` (default: whenever), with the lab's
    /// clock moved to it (`{ kind: "deliver" | "start" | "arm" | "internal", … }`); `null`
    /// when nothing is scheduled by then.
    #[wasm_bindgen(js_name = next)]
    pub fn next_happening(&mut self, until_ms: Option<f64>) -> Result<JsValue, JsValue> {
        let until = until_ms.unwrap_or(f64::INFINITY);
        match self.core.borrow_mut().lab.next_happening(until) {
            Some(happening) => Ok(to_js(&happening)?),
            None => Ok(JsValue::NULL),
        }
    }

    /// The deliveries that can be handed to the workers now, together (at most `limit`, none
    /// after simulated time `untilMs`).
    pub fn deliveries(&mut self, limit: usize, until_ms: f64) -> Result<JsValue, JsValue> {
        let batch = self
            .core
            .borrow_mut()
            .lab
            .deliveries(limit.max(1), until_ms);
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

    /// Does an action at simulated time `atMs` (default: the lab's now): `{ action:
    /// "partition", consumer, cut }`, `{ action: "crash", consumer, point }`, `{ action:
    /// "replayParked", stopAt? }`, `{ action: "restartGroup" }`. It goes into the run's script.
    pub fn act(&mut self, action: JsValue, at_ms: Option<f64>) -> Result<(), JsValue> {
        let action: Action = from_json(action, "action")?;
        let mut core = self.core.borrow_mut();
        let at = at_ms.unwrap_or_else(|| core.lab.now());
        core.lab.act_at(action, at).map_err(|e| bad("action", e))
    }

    /// Reads the sandbox's log: what was appended since, the lab's store knows from simulated
    /// time `atMs` (default: the lab's now). Resolves to the log's head.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn refresh(&self, at_ms: Option<f64>) -> js_sys::Promise {
        let (sandbox, core) = (Rc::clone(&self.sandbox), Rc::clone(&self.core));
        promise(async move {
            let log = sandbox
                .write()
                .events(&ReadAll::from_position(1, usize::MAX))
                .await?;
            let head = log.len();
            let mut core = core.borrow_mut();
            let at = at_ms.unwrap_or_else(|| core.lab.now());
            core.lab.log_grew_at(log, at);
            Ok(head)
        })
    }

    /// Goes on over a sandbox opened again (the same store under edited rules): if the
    /// projections the consumers run changed, every consumer is redeployed with the new ones
    /// (stopped, started again over its files: its tables stay, its handlers are new), and the
    /// log's truth follows them. Resolves to whether they changed.
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
        let definitions = serde_json::to_value(&fresh).map_err(|e| bad("projections", e))?;
        core.lab
            .act(Action::Redeploy { definitions })
            .map_err(|e| bad("redeploy", e))?;
        Ok(true)
    }

    /// The run's settings.
    #[wasm_bindgen(unchecked_return_type = "object")]
    pub fn settings(&self) -> Result<JsValue, JsValue> {
        Ok(to_js(self.core.borrow().lab.settings())?)
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
    /// order, through the projections consumers run now) answers a read-only statement.
    pub fn truth(
        &mut self,
        sql: &str,
        #[wasm_bindgen(unchecked_param_type = "QueryOptions | undefined")] query_options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let query_options: QueryOptions = options(query_options, "query options")?;
        let mut core = self.core.borrow_mut();
        let truth = core.truth(&self.sandbox)?;
        let answer = answer(truth, sql, &query_options)?;
        Ok(to_js(&TruthAnswer {
            answer,
            failed: truth.failed(),
        })?)
    }

    /// Each consumer's verdict on a question: `answers[i]` is consumer `i`'s answer (from its
    /// worker: a query answer, `{ error }`, or `null` while it is down), held against the
    /// log's truth. Resolves to `{ truth, consumers, together }`.
    pub fn verdicts(
        &mut self,
        sql: &str,
        #[wasm_bindgen(unchecked_param_type = "(object | null)[]")] answers: JsValue,
    ) -> Result<JsValue, JsValue> {
        let answers: Vec<Option<AnswerJs>> = from_json(answers, "answers")?;
        let mut core = self.core.borrow_mut();
        let status = core.lab.status();
        let truth = core.truth(&self.sandbox)?;
        let answer = answer(truth, sql, &QueryOptions::default())?;
        let answered: Vec<_> = answers.into_iter().map(AnswerJs::into_answered).collect();
        let verdicts = judge(&status, &answer.result.rows, &answered);
        Ok(to_js(&VerdictsJs {
            truth: TruthAnswer {
                answer,
                failed: truth.failed(),
            },
            consumers: verdicts.consumers,
            together: verdicts.together,
        })?)
    }

    /// The run as link data (`Sandbox.consumersLab({ shared })` makes it again), up to
    /// simulated time `untilMs`; `undefined` when it would not fit in a link.
    #[wasm_bindgen(js_name = shareData)]
    pub fn share_data(&self, until_ms: f64) -> Option<String> {
        let core = self.core.borrow();
        SharedRun::pack(&core.lab, core.head, &core.specs, core.strict, until_ms)
    }

    /// The shared run this one reproduces: `{ untilMs, digest, arrows }`, or `undefined`.
    #[wasm_bindgen(js_name = sharedRun, unchecked_return_type = "object | undefined")]
    pub fn shared_run(&self) -> Result<JsValue, JsValue> {
        match &self.core.borrow().shared {
            Some(run) => Ok(to_js(&serde_json::json!({
                "untilMs": run.until_ms,
                "digest": run.digest,
                "arrows": run.arrows,
            }))?),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    /// The group as KurrentDB would create it: `{ group, requests: [{ method, path, body }] }`,
    /// one `PUT /subscriptions/{stream}/{group}` per stream the log's aggregates are in.
    #[wasm_bindgen(js_name = kurrentSubscription, unchecked_return_type = "object")]
    pub fn kurrent_subscription(&self) -> Result<JsValue, JsValue> {
        let core = self.core.borrow();
        let settings = core.lab.settings();
        let body = kurrent_body(&settings.group, settings.consumers);
        let ids = core.lab.known_events().iter().map(|e| &*e.aggregate_id);
        let requests: Vec<_> = kurrent_streams(ids)
            .into_iter()
            .map(|stream| {
                serde_json::json!({
                    "method": "PUT",
                    "path": format!("/subscriptions/{stream}/{KURRENT_GROUP}"),
                    "body": body,
                })
            })
            .collect();
        Ok(to_js(
            &serde_json::json!({ "group": KURRENT_GROUP, "requests": requests }),
        )?)
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

/// The truth's answer to a statement, timed.
fn answer(
    truth: &mut Truth,
    sql: &str,
    query_options: &QueryOptions,
) -> Result<QueryAnswer, SandboxError> {
    let started = clock_ms();
    let result = truth.query(sql, &query_options.limits(clock_ms))?;
    Ok(QueryAnswer {
        ms: clock_ms() - started,
        what_if: false,
        as_of: None,
        sources: Vec::new(),
        result,
    })
}
