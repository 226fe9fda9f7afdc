//! The script sandbox: bad scripts are stopped with clear errors that carry line and column, and
//! bad scenario documents are refused with errors, never a panic.
#![cfg(not(target_arch = "wasm32"))]

use es_sandbox::domain::Domain;
use es_sandbox::scenario::{Scenario, ScenarioError, shipped};
use es_sandbox::script::{ScriptError, ScriptErrorKind};
use es_sandbox::{DomainError, ErrorKind};
use serde_json::{Value, json};

/// A one-aggregate scenario with the given rules lines.
fn scenario_with_rules(lines: &[&str]) -> Scenario {
    let value = json!({
        "name": "t",
        "aggregates": [{ "name": "thing", "idPrefix": "t-", "rules": lines }]
    });
    serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"))
}

fn compile(lines: &[&str]) -> Result<Domain, ScenarioError> {
    Domain::compile(scenario_with_rules(lines))
}

fn script_error(result: Result<Domain, ScenarioError>) -> ScriptError {
    match result {
        Err(ScenarioError::Script(e)) => e,
        Err(other) => panic!("expected a script error, got {other}"),
        Ok(_) => panic!("expected a script error, got a domain"),
    }
}

const BASE: [&str; 2] = [
    "fn initial() { #{ n: 0 } }",
    "fn apply_Happened(s, d) { s.n += 1; s }",
];

/// Runs `handle_Go` of rules made of BASE plus `extra`, given one Happened event.
fn run_command(extra: &[&str], payload: Value) -> DomainError {
    let lines: Vec<&str> = BASE.iter().chain(extra).copied().collect();
    let domain = compile(&lines).unwrap_or_else(|e| panic!("{e}"));
    let outcome = domain
        .given("t-1", &[("Happened", json!({}))])
        .when("Go", payload);
    match outcome.result() {
        Err(e) => e.clone(),
        Ok(decision) => panic!("expected an error, got {decision:?}"),
    }
}

fn as_script(error: DomainError) -> ScriptError {
    match error {
        DomainError::Script(e) => e,
        other => panic!("expected a script error, got {other}"),
    }
}

#[test]
fn an_endless_loop_is_stopped_with_a_clear_error() {
    let error = as_script(run_command(
        &["fn handle_Go(s, c) {", "    loop { s.n += 1; }", "}"],
        json!({}),
    ));
    assert_eq!(error.kind, ScriptErrorKind::Limit);
    assert!(error.message.contains("operations"), "{error}");
    assert!(error.message.contains("endless loop"), "{error}");
    assert_eq!(error.function.as_deref(), Some("handle_Go"));
    // Rhai gives no position for this limit; we point at the function's definition.
    assert_eq!((error.line, error.column), (Some(3), Some(1)));
}

#[test]
fn endless_recursion_is_stopped() {
    let error = as_script(run_command(
        &[
            "fn deeper(n) { deeper(n + 1) }",
            "fn handle_Go(s, c) { deeper(0) }",
        ],
        json!({}),
    ));
    assert_eq!(error.kind, ScriptErrorKind::Limit);
    assert!(error.message.contains("nested too deeply"), "{error}");
    assert!(error.line.is_some() && error.column.is_some(), "{error:?}");
}

#[test]
fn oversized_values_are_stopped() {
    let error = as_script(run_command(
        &["fn handle_Go(s, c) { let x = \"ab\"; loop { x += x; } }"],
        json!({}),
    ));
    assert_eq!(error.kind, ScriptErrorKind::Limit, "{error}");
    let error = as_script(run_command(
        &["fn handle_Go(s, c) { let a = []; loop { a.push(1); } }"],
        json!({}),
    ));
    assert_eq!(error.kind, ScriptErrorKind::Limit, "{error}");
}

#[test]
fn a_syntax_error_reports_line_and_column() {
    let error = script_error(compile(&[
        "fn initial() { #{ n: 0 } }",
        "fn apply_Happened(s, d) {",
        "    s.n = ;",
        "}",
    ]));
    assert_eq!(error.kind, ScriptErrorKind::Syntax);
    assert_eq!((error.line, error.column), (Some(3), Some(11)));
    assert_eq!(error.script, "thing rules");
    assert_eq!(
        error.to_string(),
        "thing rules: Unexpected ';' (line 3, column 11)"
    );
}

#[test]
fn runtime_errors_report_line_and_column() {
    let error = as_script(run_command(
        &[
            "fn handle_Go(s, c) {",
            "    let x = c.missing;",
            "    []",
            "}",
        ],
        json!({}),
    ));
    assert_eq!(error.kind, ScriptErrorKind::Runtime);
    assert_eq!(error.line, Some(4));
    assert!(error.column.is_some());
    assert!(error.message.contains("missing"), "{error}");
}

#[test]
fn errors_inside_helpers_point_at_the_helper() {
    let error = as_script(run_command(
        &[
            "fn helper(c) {",
            "  c.nope",
            "}",
            "fn handle_Go(s, c) { helper(c); [] }",
        ],
        json!({}),
    ));
    assert_eq!(error.function.as_deref(), Some("helper"));
    assert_eq!(error.line, Some(4));
}

#[test]
fn eval_and_undefined_variables_are_refused_at_compile_time() {
    let error = script_error(compile(&[
        "fn initial() { eval(\"1\") }",
        "fn apply_Happened(s, d) { s }",
    ]));
    assert_eq!(error.kind, ScriptErrorKind::Syntax, "{error}");
    let error = script_error(compile(&[
        "fn initial() { #{ n: undefined_thing } }",
        "fn apply_Happened(s, d) { s }",
    ]));
    assert_eq!(error.kind, ScriptErrorKind::Syntax, "{error}");
    assert_eq!(error.line, Some(1));
}

#[test]
fn the_rules_contract_is_checked() {
    // (rules, what the message must say)
    let table: Vec<(Vec<&str>, &str)> = vec![
        (vec!["fn apply_Happened(s, d) { s }"], "fn initial()"),
        (
            vec!["fn initial() { 1 }"],
            "no `apply_<EventType>` function",
        ),
        (
            vec!["fn initial() { 1 }", "fn apply_Happened(s) { s }"],
            "1 parameters",
        ),
        (
            vec![
                "fn initial() { 1 }",
                "fn apply_Happened(s, d) { s }",
                "fn handle_Go(s) { [] }",
            ],
            "1 parameters",
        ),
    ];
    for (rules, message) in table {
        let error = script_error(compile(&rules));
        assert_eq!(error.kind, ScriptErrorKind::Contract, "{error}");
        assert!(
            error.message.contains(message),
            "{error} should say {message}"
        );
    }
}

#[test]
fn handler_results_are_checked() {
    let table: Vec<(&str, &str)> = vec![
        (
            "fn handle_Go(s, c) { 42 }",
            "must return an array of events",
        ),
        (
            "fn handle_Go(s, c) { [#{ data: #{} }] }",
            "has no `type` string",
        ),
        (
            "fn handle_Go(s, c) { [#{ type: \"Unknown\" }] }",
            "no `apply_Unknown`",
        ),
        (
            "fn handle_Go(s, c) { [#{ type: \"Happened\", extra: 1 }] }",
            "unknown field `extra`",
        ),
        (
            "fn handle_Go(s, c) { [#{ type: \"Happened\", data: 5 }] }",
            "must be a JSON object",
        ),
        ("fn handle_Go(s, c) { [1] }", "is not an object map"),
    ];
    for (handler, message) in table {
        let error = as_script(run_command(&[handler], json!({})));
        assert_eq!(error.kind, ScriptErrorKind::Contract, "{error}");
        assert!(
            error.message.contains(message),
            "{error} should say {message}"
        );
    }
}

#[test]
fn throw_in_a_handler_is_a_rejection_but_in_apply_a_script_error() {
    let rejected = run_command(&["fn handle_Go(s, c) { throw `no: ${s.n}`; }"], json!({}));
    assert_eq!(rejected.kind(), ErrorKind::BusinessRule);
    assert_eq!(rejected.to_string(), "Go on t-1 was rejected: no: 1");

    let domain = compile(&[
        "fn initial() { 0 }",
        "fn apply_Happened(s, d) { throw \"refused\"; }",
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    let state = domain.given("t-1", &[("Happened", json!({}))]).state();
    match state {
        Err(DomainError::Script(e)) => {
            assert_eq!(e.kind, ScriptErrorKind::Runtime);
            assert!(e.message.contains("threw refused"), "{e}");
        }
        other => panic!("expected a script error, got {other:?}"),
    }
}

#[test]
fn apply_must_return_the_state() {
    let domain = compile(&["fn initial() { 0 }", "fn apply_Happened(s, d) { }"])
        .unwrap_or_else(|e| panic!("{e}"));
    match domain.given("t-1", &[("Happened", json!({}))]).state() {
        Err(DomainError::Script(e)) => {
            assert!(e.message.contains("must return the new state"), "{e}")
        }
        other => panic!("expected a script error, got {other:?}"),
    }
}

#[test]
fn malformed_scenario_documents_are_errors() {
    let table: Vec<(&str, &str)> = vec![
        ("", "EOF"),
        ("{", "EOF"),
        ("[]", "is a JSON object"),
        ("42", "invalid type"),
        (r#"{"name": "x"}"#, "missing field `aggregates`"),
        (
            r#"{"name": "x", "aggregates": [], "colour": 1}"#,
            "unknown field `colour`",
        ),
        (
            r#"{"name": "x", "aggregates": [{"name": "a", "idPrefix": "a-", "rules": 5}]}"#,
            "did not match",
        ),
    ];
    for (text, message) in table {
        match Scenario::from_json(text) {
            Err(e @ ScenarioError::Json { .. }) => {
                assert!(e.to_string().contains(message), "{e} should say {message}")
            }
            other => panic!("{text:?}: expected a JSON error, got {other:?}"),
        }
    }
    match Scenario::from_json("{\n  \"name\": 5\n}") {
        Err(ScenarioError::Json { line, column, .. }) => assert_eq!((line, column), (2, 11)),
        other => panic!("expected a JSON error, got {other:?}"),
    }
    let huge = " ".repeat(es_sandbox::scenario::MAX_SCENARIO_LEN + 1);
    assert!(matches!(
        Scenario::from_json(&huge),
        Err(ScenarioError::TooLarge { .. })
    ));
    assert!(matches!(
        shipped("nope"),
        Err(ScenarioError::UnknownShipped { .. })
    ));
}

#[test]
fn scenario_checks_table() {
    let rules = json!(["fn initial() { 0 }", "fn apply_Happened(s, d) { s }"]);
    let base =
        json!({ "name": "t", "aggregates": [{ "name": "a", "idPrefix": "a-", "rules": rules }] });
    let with = |patch: Value| {
        let mut doc = base.clone();
        if let (Some(doc), Some(patch)) = (doc.as_object_mut(), patch.as_object()) {
            for (k, v) in patch {
                doc.insert(k.clone(), v.clone());
            }
        }
        doc
    };
    let table: Vec<(Value, &str)> = vec![
        (with(json!({"name": "has space"})), "name"),
        (with(json!({"aggregates": []})), "at least one aggregate"),
        (
            with(json!({"snapshotInterval": 10_000_000})),
            "snapshotInterval",
        ),
        (
            with(json!({"aggregates": [{ "name": "a", "idPrefix": "", "rules": rules }]})),
            "idPrefix",
        ),
        (
            with(
                json!({"aggregates": [{ "name": "a", "idPrefix": "a-", "rules": rules }, { "name": "b", "idPrefix": "a-", "rules": rules }]}),
            ),
            "same id prefix",
        ),
        (
            with(
                json!({"aggregates": [{ "name": "a", "idPrefix": "a-", "rules": rules, "commands": {"Go": {}} }]}),
            ),
            "handle_Go",
        ),
        (
            with(json!({"seed": [{"aggregateId": "a-1", "timestamp": 0}]})),
            "exactly one of",
        ),
        (
            with(json!({"seed": [{"aggregateId": "zz", "event": "Happened", "timestamp": 0}]})),
            "no aggregate has ids like",
        ),
        (
            with(json!({"seed": [{"aggregateId": "a-1", "event": "Other", "timestamp": 0}]})),
            "cannot apply events of type",
        ),
        (
            with(
                json!({"upcasters": [{"eventType": "Happened", "fromVersion": 2, "script": "fn upcast(d) { d }"}]}),
            ),
            "must start at version 1",
        ),
        (
            with(
                json!({"upcasters": [{"eventType": "Nobody", "fromVersion": 1, "script": "fn upcast(d) { d }"}]}),
            ),
            "would never run",
        ),
        (
            with(
                json!({"upcasters": [{"eventType": "Happened", "fromVersion": 1, "script": "fn up(d) { d }"}]}),
            ),
            "fn upcast(data)",
        ),
    ];
    for (doc, message) in table {
        let scenario: Scenario =
            serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("{e}"));
        let opened = futures::executor::block_on(es_sandbox::Sandbox::open(
            es_sandbox::store::MemoryStore::new(),
            scenario,
        ));
        match opened {
            Err(e) => assert!(e.to_string().contains(message), "{e} should say {message}"),
            Ok(_) => panic!("{doc} should be refused ({message})"),
        }
    }
}

#[test]
fn oversized_scripts_are_refused() {
    let long = format!("fn initial() {{ 0 }} // {}", "x".repeat(70_000));
    let error = script_error(compile(&[&long, "fn apply_Happened(s, d) { s }"]));
    assert_eq!(error.kind, ScriptErrorKind::Limit);
}
