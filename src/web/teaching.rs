//! What the teaching page asks beyond commands and queries: snapshot markers and the interval
//! knob, generating commands, storage sizes, replay costs, state series, an upcast beside its
//! stored bytes, counting a filtered log, the changes between two states, and checking an
//! edited scenario before it is applied.

use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::class::JsSandbox;
use super::convert::{from_json, required, scenario_from, to_js};
use super::runtime::{now, promise};
use crate::diff::changes;
use crate::event::EventId;
use crate::sandbox::SandboxError;
use crate::sandbox::check_scenario;
use crate::store::ReadAll;

/// Options of `generate`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GenerateOptions {
    /// How many accepted commands.
    count: usize,
    /// The seed number: the same seed over the same log gives the same commands.
    #[serde(default)]
    seed: u64,
}

#[wasm_bindgen(js_class = Sandbox)]
impl JsSandbox {
    /// Every stored snapshot, placed in the log (`position`: of the event it was taken after),
    /// with `stale` saying why a replay would skip it (`null`: usable) and its size.
    #[wasm_bindgen(js_name = snapshotMarkers, unchecked_return_type = "Promise<SnapshotMarker[]>")]
    pub fn snapshot_markers(&self) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        promise(self.guarded(async move { Ok(sandbox.write().snapshot_markers().await?) }))
    }

    /// Events per aggregate between automatic snapshots (0: never).
    #[wasm_bindgen(js_name = snapshotInterval)]
    pub fn snapshot_interval(&self) -> Result<f64, JsValue> {
        self.guard()?;
        Ok(self.inner.write().snapshot_interval() as f64)
    }

    /// Sets the snapshot interval for this sandbox (0 to 100000; 0: never); it applies to the
    /// appends from now on.
    #[wasm_bindgen(js_name = setSnapshotInterval)]
    pub fn set_snapshot_interval(&self, interval: f64) -> Result<(), JsValue> {
        self.guard()?;
        if !(interval.is_finite() && interval >= 0.0 && interval.fract() == 0.0) {
            return Err(SandboxError::bad_input(
                "snapshot interval",
                format!("must be a whole number of events, got {interval}"),
            )
            .into());
        }
        Ok(self.inner.write().set_snapshot_interval(interval as u64)?)
    }

    /// Appends `count` commands the rules accept, random but the same for the same `seed` over
    /// the same log: `{ count, seed? }`. Resolves to what was stored.
    #[wasm_bindgen(unchecked_return_type = "Promise<Generated>")]
    pub fn generate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "{ count: number; seed?: number }")]
        generate: JsValue,
    ) -> js_sys::Promise {
        let generate: Result<GenerateOptions, _> = required(generate, "generate options");
        let (sandbox, news, crud) = (
            Rc::clone(&self.inner),
            Rc::clone(&self.news),
            Rc::clone(&self.crud),
        );
        promise(self.guarded(async move {
            let generate = generate?;
            let outcome = sandbox
                .write()
                .generate(generate.count, generate.seed, now())
                .await;
            news.pump();
            // Generated commands did not pass through the CRUD table: it starts again from the log.
            crud.clear();
            Ok(outcome?)
        }))
    }

    /// How much the log and its snapshots store, in all and per aggregate (largest first).
    #[wasm_bindgen(unchecked_return_type = "Promise<Storage>")]
    pub fn storage(&self) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        promise(self.guarded(async move { Ok(sandbox.write().storage().await?) }))
    }

    /// What replaying an aggregate folds at each version, from the start and from the newest
    /// usable snapshot (the corners of the saw-tooth).
    #[wasm_bindgen(js_name = replayCosts, unchecked_return_type = "Promise<ReplayCosts>")]
    pub fn replay_costs(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
    ) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        promise(self.guarded(async move { Ok(sandbox.write().replay_costs(&aggregate_id).await?) }))
    }

    /// An aggregate's numeric state fields over its versions (at most 500 points).
    #[wasm_bindgen(js_name = stateSeries, unchecked_return_type = "Promise<StateSeries>")]
    pub fn state_series(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: String,
    ) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        promise(self.guarded(async move { Ok(sandbox.write().state_series(&aggregate_id).await?) }))
    }

    /// An event exactly as stored, beside the form the rules read (upcast), with the upcasters
    /// it goes through.
    #[wasm_bindgen(js_name = upcastView, unchecked_return_type = "Promise<UpcastView>")]
    pub fn upcast_view(
        &self,
        #[wasm_bindgen(js_name = eventId)] event_id: String,
    ) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        promise(self.guarded(async move {
            let id = EventId::parse(&event_id)
                .map_err(|e| SandboxError::bad_input("event id", e.to_string()))?;
            Ok(sandbox.write().upcast_view(id).await?)
        }))
    }

    /// How many events a read of the log matches (`events` with the same query pages through
    /// them with `skip`).
    #[wasm_bindgen(js_name = countEvents, unchecked_return_type = "Promise<number>")]
    pub fn count_events(
        &self,
        #[wasm_bindgen(unchecked_param_type = "EventQuery | undefined")] query: JsValue,
    ) -> js_sys::Promise {
        let query = if query.is_undefined() || query.is_null() {
            Ok(ReadAll::from_position(1, usize::MAX))
        } else {
            required::<ReadAll>(query, "event query")
        };
        let sandbox = Rc::clone(&self.inner);
        promise(self.guarded(async move { Ok(sandbox.write().count(&query?).await?) }))
    }

    /// What changed from one state to another, field by field (nested fields as `a.b`):
    /// `{ field, kind: "added" | "removed" | "increased" | "decreased" | "changed", before?,
    /// after? }[]`.
    #[wasm_bindgen(js_name = diffStates, unchecked_return_type = "Change[]")]
    pub fn diff_states(before: JsValue, after: JsValue) -> Result<JsValue, JsValue> {
        let before: serde_json::Value = from_json(before, "before")?;
        let after: serde_json::Value = from_json(after, "after")?;
        Ok(to_js(&changes(&before, &after))?)
    }

    /// Checks a scenario (a document, its JSON text or a shipped name) as opening would: rules
    /// and upcasters compile, shapes and projections check, the seed runs. Throws the error
    /// opening would, with the script, line and column in its details.
    #[wasm_bindgen(js_name = checkScenario)]
    pub fn check_scenario(
        #[wasm_bindgen(unchecked_param_type = "string | object")] scenario: JsValue,
    ) -> Result<(), JsValue> {
        let document: serde_json::Value = from_json(scenario, "scenario")?;
        Ok(check_scenario(scenario_from(document)?)?)
    }
}
