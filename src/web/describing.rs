//! What a sandbox says about itself: its scenario, where its events live and what they survive,
//! the aggregate type of an id, the scenario document.

use wasm_bindgen::prelude::*;

use super::class::JsSandbox;
use super::convert::to_js;
use super::dto::StoreInfo;
use super::store::{Durable, PageOrigin};

#[wasm_bindgen(js_class = Sandbox)]
impl JsSandbox {
    /// The scenario: names, help, rules, commands, event types, upcasters, queries.
    #[wasm_bindgen(unchecked_return_type = "ScenarioInfo")]
    pub fn scenario(&self) -> Result<JsValue, JsValue> {
        self.guard()?;
        Ok(to_js(&self.inner.domain().describe())?)
    }

    /// Where the events live, and what they survive.
    #[wasm_bindgen(js_name = storeInfo, unchecked_return_type = "StoreInfo")]
    pub fn store_info(&self) -> Result<JsValue, JsValue> {
        self.guard()?;
        let info = StoreInfo {
            storage: self.backend.as_str(),
            name: self.name.clone(),
            location: self.inner.store().io().location(&self.name),
            durability: self.durability.as_str(),
            durable: Durable::of(self.backend, self.durability, PageOrigin::current()),
        };
        Ok(to_js(&info)?)
    }

    /// The aggregate type an id belongs to (by id prefix), or `undefined` if none.
    #[wasm_bindgen(js_name = aggregateType, unchecked_return_type = "AggregateInfo | undefined")]
    pub fn aggregate_type(
        &self,
        #[wasm_bindgen(js_name = aggregateId)] aggregate_id: &str,
    ) -> Result<JsValue, JsValue> {
        self.guard()?;
        let domain = self.inner.domain();
        let Some(aggregate) = domain.aggregate_type_of(aggregate_id) else {
            return Ok(JsValue::UNDEFINED);
        };
        let info = domain.describe();
        let found = info
            .aggregates
            .iter()
            .find(|a| a.name == aggregate.rules.name());
        Ok(to_js(&found)?)
    }

    /// The scenario document as JSON text, to edit or export.
    #[wasm_bindgen(js_name = scenarioJson)]
    pub fn scenario_json(&self) -> Result<String, JsValue> {
        self.guard()?;
        Ok(self.inner.domain().scenario().to_json())
    }
}
