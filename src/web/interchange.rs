//! Events out of a sandbox (into one, they go through `Sandbox.open`'s `import` and `share`:
//! `opening`): export in a format, a given/when/then fixture of a range, a share link.

use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::class::JsSandbox;
use super::convert::{required, to_js};
use super::runtime::promise;
use crate::interchange::{self, Format, fixture_of, share_link};
use crate::sandbox::SandboxError;
use crate::store::{EventStore, ReadAll, VersionRange};

/// Options of `fixture`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FixtureOptions {
    aggregate_id: String,
    from: u64,
    to: u64,
}

#[wasm_bindgen(js_class = Sandbox)]
impl JsSandbox {
    /// The whole log as a file: `"ndjson"` (the sandbox's own, exact), `"kurrent"` (KurrentDB's
    /// HTTP append body per stream) or `"cloudEvents"` (a CloudEvents JSON batch).
    #[wasm_bindgen(js_name = exportEvents, unchecked_return_type = "Promise<string>")]
    pub fn export_events(
        &self,
        #[wasm_bindgen(unchecked_param_type = "\"ndjson\" | \"kurrent\" | \"cloudEvents\"")]
        format: JsValue,
    ) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        let format: Result<Format, _> = required(format, "format");
        promise(self.guarded(async move {
            let format = format?;
            let events = sandbox
                .write()
                .events(&ReadAll::from_position(1, usize::MAX))
                .await?;
            Ok(interchange::write(format, sandbox.domain(), &events))
        }))
    }

    /// A given/when/then fixture (JSON text) of an aggregate's versions `from` to `to`: given the
    /// events before, when these, then this state.
    #[wasm_bindgen(unchecked_return_type = "Promise<string>")]
    pub fn fixture(
        &self,
        #[wasm_bindgen(unchecked_param_type = "{ aggregateId: string; from: number; to: number }")]
        range: JsValue,
    ) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        let range: Result<FixtureOptions, _> = required(range, "fixture range");
        promise(self.guarded(async move {
            let range = range?;
            let stream = sandbox
                .store()
                .read_stream(&range.aggregate_id, VersionRange::from(1))
                .await
                .map_err(SandboxError::from)?;
            Ok(fixture_of(sandbox.domain(), &stream, range.from, range.to)?.to_json())
        }))
    }

    /// The scenario a file says its events belong to (NDJSON's header, CloudEvents' `source`), or
    /// `undefined`: which scenario to import it under.
    #[wasm_bindgen(js_name = fileScenario)]
    pub fn file_scenario(
        #[wasm_bindgen(unchecked_param_type = "\"ndjson\" | \"kurrent\" | \"cloudEvents\"")]
        format: JsValue,
        text: &str,
    ) -> Result<Option<String>, JsValue> {
        let format: Format = required(format, "format")?;
        Ok(interchange::scenario_named(format, text.as_bytes()))
    }

    /// The format a file is in, from its first characters: `"ndjson"` (its first line is the
    /// sandbox's header), `"cloudEvents"` (an array, or one CloudEvent), else `"kurrent"`.
    #[wasm_bindgen(js_name = fileFormat, unchecked_return_type = "\"ndjson\" | \"kurrent\" | \"cloudEvents\"")]
    pub fn file_format(text: &str) -> Result<JsValue, JsValue> {
        Ok(to_js(&interchange::sniff_format(text.as_bytes()))?)
    }

    /// The share link data (what follows `#share=`) for the scenario and the whole log, or
    /// `null` when it would be longer than browsers take (then export a file instead).
    #[wasm_bindgen(js_name = shareLink, unchecked_return_type = "Promise<string | null>")]
    pub fn share_link(&self) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        promise(self.guarded(async move {
            let events = sandbox
                .write()
                .events(&ReadAll::from_position(1, usize::MAX))
                .await?;
            Ok(share_link(sandbox.domain(), &events))
        }))
    }
}
