//! Browser tests (wasm-bindgen-test in headless Chromium): the module opens the bank scenario
//! through the JS API, and errors reach JS as `Error`s with a kind.
#![cfg(target_arch = "wasm32")]

use es_sandbox::web::JsSandbox;
use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

fn options(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap_or(JsValue::UNDEFINED)
}

async fn open_bank() -> JsSandbox {
    JsSandbox::open(options(r#"{"scenario": "bank"}"#))
        .await
        .unwrap_or_else(|e| panic!("open failed: {e:?}"))
}

#[wasm_bindgen_test]
async fn the_module_opens_the_bank_scenario() {
    let sandbox = open_bank().await;
    let events = JsFuture::from(sandbox.events(JsValue::UNDEFINED))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let events: Array = events
        .dyn_into()
        .unwrap_or_else(|_| panic!("events is not an array"));
    let types: Vec<String> = events
        .iter()
        .filter_map(|e| get(&e, "type").as_string())
        .collect();
    assert_eq!(types, ["Created", "Deducted", "Deposited"]);

    let replay = JsFuture::from(sandbox.replay("acc-001".into(), JsValue::UNDEFINED))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(get(&get(&replay, "state"), "balance").as_f64(), Some(120.0));
    assert_eq!(get(&replay, "version").as_f64(), Some(3.0));
}

#[wasm_bindgen_test]
async fn errors_reach_js_with_a_kind_and_details() {
    let sandbox = open_bank().await;
    let rejected = JsFuture::from(sandbox.execute(
        "acc-001".into(),
        "Deduct".into(),
        options(r#"{"amount": 500}"#),
        JsValue::UNDEFINED,
    ))
    .await
    .err()
    .unwrap_or_else(|| panic!("overdraw was accepted"));
    assert!(rejected.is_instance_of::<js_sys::Error>());
    assert_eq!(
        get(&rejected, "kind").as_string().as_deref(),
        Some("businessRule")
    );
    assert_eq!(
        get(&get(&rejected, "details"), "message")
            .as_string()
            .as_deref(),
        Some("insufficient funds: balance 120, asked 500")
    );

    let events = options(r#"[{"type": "Deposited", "data": {"amount": 1}}]"#);
    let conflict =
        JsFuture::from(sandbox.append("acc-001".into(), events, options(r#"{"expected": 5}"#)))
            .await
            .err()
            .unwrap_or_else(|| panic!("stale append was accepted"));
    assert_eq!(
        get(&conflict, "kind").as_string().as_deref(),
        Some("conflict")
    );
    let details = get(&conflict, "details");
    assert_eq!(
        (
            get(&details, "expected").as_f64(),
            get(&details, "actual").as_f64()
        ),
        (Some(5.0), Some(3.0))
    );

    let bad = JsFuture::from(sandbox.append(
        "acc-001".into(),
        options(r#"{"not": "a list"}"#),
        JsValue::UNDEFINED,
    ))
    .await
    .err()
    .unwrap_or_else(|| panic!("a malformed batch was accepted"));
    assert_eq!(get(&bad, "kind").as_string().as_deref(), Some("badInput"));
}

/// Waits until every projection has caught up with the log.
async fn projected(sandbox: &JsSandbox) {
    JsFuture::from(sandbox.project())
        .await
        .unwrap_or_else(|e| panic!("project failed: {e:?}"));
}

async fn query(sandbox: &JsSandbox, sql: &str) -> Result<JsValue, JsValue> {
    JsFuture::from(sandbox.query(sql.into(), JsValue::UNDEFINED)).await
}

#[wasm_bindgen_test]
async fn sqlite_runs_in_wasm_with_json_functions_and_read_only_queries() {
    let sandbox = open_bank().await;
    projected(&sandbox).await;
    let answer = query(
        &sandbox,
        "SELECT account, balance FROM balances WHERE balance > 50",
    )
    .await
    .unwrap_or_else(|e| panic!("{e:?}"));
    let rows: Array = get(&answer, "rows")
        .dyn_into()
        .unwrap_or_else(|_| panic!("no rows"));
    let first: Array = rows
        .get(0)
        .dyn_into()
        .unwrap_or_else(|_| panic!("no first row"));
    assert_eq!(first.get(0).as_string().as_deref(), Some("acc-001"));
    assert_eq!(first.get(1).as_f64(), Some(120.0));
    assert!(get(&answer, "ms").as_f64().is_some_and(|ms| ms >= 0.0));

    let json = query(
        &sandbox,
        "SELECT sum(json_extract(data, '$.amount')) FROM events WHERE type != 'Created'",
    )
    .await
    .unwrap_or_else(|e| panic!("{e:?}"));
    let rows: Array = get(&json, "rows")
        .dyn_into()
        .unwrap_or_else(|_| panic!("no rows"));
    let total: Array = rows.get(0).dyn_into().unwrap_or_else(|_| panic!("no row"));
    assert_eq!(total.get(0).as_f64(), Some(80.0));

    let refused = query(&sandbox, "DELETE FROM balances")
        .await
        .err()
        .unwrap_or_else(|| panic!("a write was run"));
    assert_eq!(get(&refused, "kind").as_string().as_deref(), Some("query"));
    assert!(
        get(&get(&refused, "details"), "refused")
            .as_string()
            .is_some_and(|r| r.contains("DELETE"))
    );

    let options = options(r#"{"timeLimitMs": 100}"#);
    let runaway = JsFuture::from(sandbox.query(
        "WITH RECURSIVE f(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM f) SELECT count(*) FROM f".into(),
        options,
    ))
    .await
    .err()
    .unwrap_or_else(|| panic!("the runaway query finished"));
    assert_eq!(
        get(&get(&runaway, "details"), "limitMs").as_f64(),
        Some(100.0)
    );
}

#[wasm_bindgen_test]
async fn a_read_model_copy_answers_like_the_read_model() {
    let sandbox = open_bank().await;
    projected(&sandbox).await;
    let copy: js_sys::Uint8Array = JsFuture::from(sandbox.read_model_copy(JsValue::UNDEFINED))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"))
        .dyn_into()
        .unwrap_or_else(|_| panic!("the copy is not bytes"));
    let sql = "SELECT account, balance, updated_at FROM balances ORDER BY account";
    let direct = query(&sandbox, sql)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let answer = es_sandbox::web::read_model::query_copy(&copy.to_vec(), sql, JsValue::UNDEFINED)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        js_sys::JSON::stringify(&get(&answer, "rows")).ok(),
        js_sys::JSON::stringify(&get(&direct, "rows")).ok()
    );
    let refused = es_sandbox::web::read_model::query_copy(
        &copy.to_vec(),
        "DROP TABLE balances",
        JsValue::UNDEFINED,
    )
    .err()
    .unwrap_or_else(|| panic!("a write was run on the copy"));
    assert_eq!(get(&refused, "kind").as_string().as_deref(), Some("query"));
}

/// An NDJSON file of the bank: its seed, then three more runs of events (acc-100, acc-200,
/// acc-100 again), so that importing it takes four writes.
async fn bank_file() -> String {
    use es_sandbox::interchange::{self, Format};
    use es_sandbox::{CommandRequest, MemoryStore, ReadAll, Sandbox, shipped};
    let scenario = shipped("bank").unwrap_or_else(|e| panic!("{e}"));
    let sandbox = Sandbox::open(MemoryStore::new(), scenario)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for (id, command, payload) in [
        ("acc-100", "Create", r#"{"balance": 10}"#),
        ("acc-200", "Create", r#"{"balance": 20}"#),
        ("acc-100", "Deposit", r#"{"amount": 5}"#),
    ] {
        let payload = serde_json::from_str(payload).unwrap_or_default();
        let request = CommandRequest::new(id, command, payload);
        sandbox
            .write()
            .execute(request, 0)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let events = sandbox
        .write()
        .events(&ReadAll::from_position(1, 100))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    interchange::write(Format::Ndjson, sandbox.domain(), &events)
}

#[wasm_bindgen_test]
async fn an_import_whose_storage_fails_part_way_leaves_no_store_behind() {
    let name = format!("test-import-abort-{}", js_sys::Date::now() as u64);
    let open = |extra: &str| {
        let text = serde_json::to_string(&name).unwrap_or_default();
        options(&format!(
            r#"{{"storage": "indexeddb", "name": {text}, "scenario": "bank"{extra}}}"#
        ))
    };
    let file = serde_json::to_string(&bank_file().await).unwrap_or_default();
    // The second of the import's four writes aborts.
    let failed = JsSandbox::open(open(&format!(
        r#", "import": {{"format": "ndjson", "text": {file}}}, "abortImportWriteAfter": 1"#
    )))
    .await
    .err()
    .unwrap_or_else(|| panic!("the import went through"));
    assert_eq!(get(&failed, "kind").as_string().as_deref(), Some("storage"));
    // Nothing of it is left: the store was deleted, not left holding the first run.
    let store = options(&format!(
        r#"{{"storage": "indexeddb", "name": {}}}"#,
        serde_json::to_string(&name).unwrap_or_default()
    ));
    let inspection = JsFuture::from(JsSandbox::inspect_store(store))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        get(&inspection, "records").as_f64(),
        Some(0.0),
        "{inspection:?}"
    );
    // And the same import without the failure goes through whole.
    let sandbox = JsSandbox::open(open(&format!(
        r#", "import": {{"format": "ndjson", "text": {file}}}"#
    )))
    .await
    .unwrap_or_else(|e| panic!("{e:?}"));
    let head = JsFuture::from(sandbox.head_position())
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(head.as_f64(), Some(6.0));
    JsFuture::from(sandbox.destroy())
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
}
