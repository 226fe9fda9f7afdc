//! Fuzz-style property tests of the entry points that take user input: scenario JSON, event JSON,
//! scripts and command payloads return values or errors, never panic.
#![cfg(not(target_arch = "wasm32"))]

use es_sandbox::domain::Domain;
use es_sandbox::event::EventData;
use es_sandbox::scenario::{Scenario, shipped};
use es_sandbox::script::ScriptEngine;
use proptest::prelude::*;
use serde_json::Value;

/// Arbitrary JSON values, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Text that looks like scripts: fragments of Rhai put together at random.
fn script_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "fn ",
        "initial",
        "apply_X",
        "(",
        ")",
        "{",
        "}",
        "[",
        "]",
        "#{",
        "s",
        "d",
        ",",
        ";",
        " ",
        "\n",
        "loop",
        "while",
        "true",
        "let x = ",
        "1",
        "\"str\"",
        "+",
        "*",
        "/",
        "0",
        "throw ",
        "return ",
        ".",
        "x",
        "=",
        "if ",
        "else ",
        "for i in ",
        "0..",
        "eval",
        "`${x}`",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn scenario_documents_never_panic(text in ".{0,200}", value in json_value()) {
        let _ = Scenario::from_json(&text);
        let _ = Scenario::from_json(&value.to_string()).map(Domain::compile);
    }

    #[test]
    fn event_data_never_panics(text in ".{0,200}", value in json_value()) {
        let _ = EventData::parse(&text);
        if let Ok(data) = EventData::from_value(value.clone()) {
            prop_assert_eq!(data.to_value(), value);
        }
    }

    #[test]
    fn scripts_never_panic(rules in script_text(), extra in script_text()) {
        let engine = ScriptEngine::default();
        let _ = engine.compile("fuzz", &rules);
        let source = format!("fn initial() {{ #{{}} }}\nfn apply_X(s, d) {{ s }}\nfn handle_Go(s, c) {{ {extra} }}");
        if let Ok(script) = engine.compile("fuzz", &source) {
            let _ = engine.call(&script, "handle_Go", (rhai::Dynamic::UNIT, rhai::Dynamic::UNIT));
        }
    }

    #[test]
    fn command_payloads_never_panic(payload in json_value(), command in prop::sample::select(vec!["Create", "Deposit", "Deduct", "Nope"])) {
        let domain = Domain::compile(shipped("bank").unwrap_or_else(|e| panic!("{e}"))).unwrap_or_else(|e| panic!("{e}"));
        let _ = domain.given("acc-1", &[]).when(command, payload.clone());
        let _ = domain
            .given("acc-1", &[("Created", serde_json::json!({"balance": 10}))])
            .when(command, payload);
    }
}
