//! Straight-line `apply_` functions folded without the interpreter: which functions are
//! recognised, and a differential property test holding every fold to the state Rhai gives
//! (or to giving up, with the state untouched, where Rhai must decide).
#![cfg(not(target_arch = "wasm32"))]

use es_sandbox::event::EventData;
use es_sandbox::scenario::shipped;
use es_sandbox::script::straight_line::StraightLine;
use es_sandbox::script::{Script, ScriptEngine, data_to_dynamic, json_to_dynamic};
use proptest::prelude::*;
use rhai::Dynamic;
use serde_json::{Value, json};

fn script(engine: &ScriptEngine, source: &str) -> Script {
    engine
        .compile("t rules", source)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn straight(source: &str) -> Option<StraightLine> {
    let script = script(&ScriptEngine::default(), source);
    StraightLine::compile(&script, "apply_E", 2)
        .or_else(|| StraightLine::compile(&script, "apply_E", 3))
}

/// The rules `source` and its `apply_E(state, data)`, which must be a straight line.
fn straight_rules(engine: &ScriptEngine, source: &str) -> (Script, StraightLine) {
    let script = script(engine, source);
    let line = StraightLine::compile(&script, "apply_E", 2)
        .unwrap_or_else(|| panic!("not a straight line: {source}"));
    (script, line)
}

#[test]
fn every_apply_function_of_the_shipped_scenarios_is_a_straight_line() {
    let engine = ScriptEngine::default();
    let mut seen = 0;
    for name in ["bank", "orders", "users"] {
        let scenario = shipped(name).unwrap_or_else(|e| panic!("{e}"));
        for aggregate in &scenario.aggregates {
            let source = aggregate.rules.to_source();
            let script = script(&engine, &source);
            for (function, arity) in script.functions() {
                if function.starts_with("apply_") {
                    seen += 1;
                    assert!(
                        StraightLine::compile(&script, function, arity).is_some(),
                        "{name}: {function} is not recognised"
                    );
                }
            }
        }
    }
    assert!(seen >= 10, "only {seen} apply functions found");
}

#[test]
fn functions_that_are_more_than_a_straight_line_are_left_to_the_interpreter() {
    let cases = [
        (
            "a local variable",
            "fn apply_E(s, d) { let x = d.n; s.n = x; s }",
        ),
        (
            "a condition",
            "fn apply_E(s, d) { if d.n > 0 { s.n = d.n; } s }",
        ),
        (
            "the state replaced",
            "fn apply_E(s, d) { s = #{ n: d.n }; s }",
        ),
        ("a nested property", "fn apply_E(s, d) { s.a.b = d.n; s }"),
        (
            "the event parameter",
            "fn apply_E(s, d, e) { s.v = e.version; s }",
        ),
        ("a division", "fn apply_E(s, d) { s.n /= d.n; s }"),
        ("a remainder", "fn apply_E(s, d) { s.n = s.n % 7; s }"),
        ("a function call", "fn apply_E(s, d) { s.n = abs(d.n); s }"),
        (
            "a method call",
            "fn apply_E(s, d) { s.tags.push(d.tag); s }",
        ),
        ("an index", "fn apply_E(s, d) { s[\"n\"] = d.n; s }"),
        ("another result", "fn apply_E(s, d) { s.n = d.n; d }"),
        (
            "an explicit return",
            "fn apply_E(s, d) { s.n = d.n; return s; }",
        ),
        ("an elvis dot", "fn apply_E(s, d) { s.n = d?.n; s }"),
        ("a map literal", "fn apply_E(s, d) { s.n = #{ a: 1 }; s }"),
        (
            "an interpolated string",
            "fn apply_E(s, d) { s.n = `${d.n}`; s }",
        ),
    ];
    for (what, source) in cases {
        assert!(straight(source).is_none(), "{what}: {source}");
    }
    let recognised = [
        "fn apply_E(s, d) { s }",
        "fn apply_E(state, data) { state.n += data.n; state }",
        "fn apply_E(s, d, e) { s.n = d.n * 2 - s.n; s.flag = true; s.name = \"x\"; s }",
    ];
    for source in recognised {
        assert!(straight(source).is_some(), "{source}");
    }
}

/// One statement of a generated function.
#[derive(Debug, Clone)]
enum Statement {
    Set(&'static str, Rhs),
    Update(&'static str, &'static str, Rhs),
}

#[derive(Debug, Clone)]
enum Rhs {
    Literal(&'static str),
    Data(&'static str),
    State(&'static str),
    Arithmetic(&'static str, Box<Rhs>, Box<Rhs>),
}

const KEYS: [&str; 4] = ["a", "b", "c", "d"];
/// The first three are integers.
const LITERALS: [&str; 9] = [
    "-3",
    "7",
    "9223372036854775807",
    "0",
    "1.5",
    "true",
    "\"text\"",
    "'c'",
    "()",
];

/// A right-hand side: any literal, a field, or arithmetic over integer literals and fields.
fn rhs() -> impl Strategy<Value = Rhs> {
    let field = prop_oneof![
        prop::sample::select(&KEYS[..]).prop_map(Rhs::Data),
        prop::sample::select(&KEYS[..]).prop_map(Rhs::State),
    ];
    let operand = prop_oneof![
        1 => prop::sample::select(&LITERALS[..3]).prop_map(Rhs::Literal),
        3 => field.clone(),
    ];
    let arithmetic = operand.prop_recursive(2, 6, 2, |inner| {
        (
            prop::sample::select(&["+", "-", "*"][..]),
            inner.clone(),
            inner,
        )
            .prop_map(|(op, l, r)| Rhs::Arithmetic(op, Box::new(l), Box::new(r)))
    });
    prop_oneof![
        1 => prop::sample::select(&LITERALS[..]).prop_map(Rhs::Literal),
        2 => field,
        2 => arithmetic,
    ]
}

fn statement() -> impl Strategy<Value = Statement> {
    prop_oneof![
        (prop::sample::select(&KEYS[..]), rhs()).prop_map(|(k, v)| Statement::Set(k, v)),
        (
            prop::sample::select(&KEYS[..]),
            prop::sample::select(&["+=", "-=", "*="][..]),
            rhs()
        )
            .prop_map(|(k, op, v)| Statement::Update(k, op, v)),
    ]
}

fn render(rhs: &Rhs) -> String {
    match rhs {
        Rhs::Literal(text) => text.to_string(),
        Rhs::Data(key) => format!("data.{key}"),
        Rhs::State(key) => format!("state.{key}"),
        Rhs::Arithmetic(op, l, r) => format!("({} {op} {})", render(l), render(r)),
    }
}

fn source(statements: &[Statement]) -> String {
    let body: String = statements
        .iter()
        .map(|s| match s {
            Statement::Set(key, value) => format!("state.{key} = {};\n", render(value)),
            Statement::Update(key, op, value) => format!("state.{key} {op} {};\n", render(value)),
        })
        .collect();
    format!("fn apply_E(state, data) {{\n{body}state\n}}")
}

/// A JSON value of the kinds event data and states hold: mostly small integers, so that most
/// folds go through, and now and then an integer at the edge, a float, a string, a list or null.
fn json_value() -> impl Strategy<Value = Value> {
    let other = prop_oneof![
        Just(Value::from(i64::MAX)),
        Just(Value::from(i64::MIN)),
        Just(Value::from(2.5)),
        Just(Value::from("s")),
        Just(Value::Bool(false)),
        Just(Value::Null),
        prop::collection::vec((-5i64..5).prop_map(Value::from), 0..3).prop_map(Value::Array),
    ];
    prop_oneof![9 => (-1000i64..1000).prop_map(Value::from), 1 => other]
}

/// An object over the keys, each nearly always present.
fn object() -> impl Strategy<Value = Value> {
    prop::collection::vec(prop::option::weighted(0.97, json_value()), KEYS.len()).prop_map(
        |values| {
            Value::Object(
                KEYS.iter()
                    .zip(values)
                    .filter_map(|(k, v)| Some((k.to_string(), v?)))
                    .collect(),
            )
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Where the straight line folds, it gives Rhai's state; where it gives up, it leaves the
    /// state as it was. Each case also says whether it folded, so that both outcomes are seen.
    #[test]
    fn a_straight_line_folds_as_the_interpreter_does(
        statements in prop::collection::vec(statement(), 1..5),
        state in object(),
        data in object(),
    ) {
        let engine = ScriptEngine::default();
        let source = source(&statements);
        let script = script(&engine, &source);
        let line = StraightLine::compile(&script, "apply_E", 2);
        prop_assert!(line.is_some(), "not recognised: {}", source);
        let line = line.unwrap_or_else(|| unreachable!());
        let data = EventData::from_value(data).unwrap_or_else(|e| panic!("{e}"));
        let start = json_to_dynamic(&state).unwrap_or_else(|e| panic!("{e}"));
        let by_rhai = engine
            .call(&script, "apply_E", (start.clone(), data_to_dynamic(&data).unwrap_or_else(|e| panic!("{e}"))))
            .map(|state| state.to_string());
        let mut folded: Dynamic = start.clone();
        if line.run(&engine, &mut folded, data.as_json()) {
            prop_assert_eq!(Ok(folded.to_string()), by_rhai, "{}\nstate {}\ndata {}", source, state, data);
        } else {
            prop_assert_eq!(folded.to_string(), start.to_string(), "gave up but changed the state");
        }
    }
}

#[test]
fn overflow_a_missing_field_and_mixed_types_are_left_to_the_interpreter() {
    let engine = ScriptEngine::default();
    let (_, line) = straight_rules(
        &engine,
        "fn apply_E(state, data) { state.n += data.n; state }",
    );
    let cases = [
        (json!({"n": i64::MAX}), json!({"n": 1}), false),
        (json!({"n": 1}), json!({}), false),
        (json!({}), json!({"n": 1}), false),
        (json!({"n": 1.5}), json!({"n": 1}), false),
        (json!({"n": "a"}), json!({"n": "b"}), false),
        (json!({"n": 1}), json!({"n": 2, "other": [1, 2]}), true),
    ];
    for (state, data, folds) in cases {
        let mut value = json_to_dynamic(&state).unwrap_or_else(|e| panic!("{e}"));
        let data = EventData::from_value(data).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            line.run(&engine, &mut value, data.as_json()),
            folds,
            "{state} + {data}"
        );
    }
}

#[test]
fn a_state_past_the_size_limits_is_left_to_the_interpreter_and_kept_as_it_was() {
    let engine = ScriptEngine::default();
    let (script, line) = straight_rules(
        &engine,
        "fn apply_E(state, data) { state.n = 1; state.b = data.b; state }",
    );
    let long = "x".repeat(60_000);
    let many: Vec<i64> = (0..9_999).collect();
    let cases = [
        // Strings of the whole state count together: 60,000 + 10,000 characters.
        (json!({"n": 0, "a": long}), json!({"b": "y".repeat(10_000)})),
        // So do the items of its lists: 9,999 + 5.
        (json!({"n": 0, "a": many}), json!({"b": [1, 2, 3, 4, 5]})),
    ];
    for (state, data) in cases {
        let start = json_to_dynamic(&state).unwrap_or_else(|e| panic!("{e}"));
        let data = EventData::from_value(data).unwrap_or_else(|e| panic!("{e}"));
        let by_rhai = engine.call(
            &script,
            "apply_E",
            (
                start.clone(),
                data_to_dynamic(&data).unwrap_or_else(|e| panic!("{e}")),
            ),
        );
        assert!(by_rhai.is_err(), "Rhai refuses it");
        let mut folded = start.clone();
        assert!(!line.run(&engine, &mut folded, data.as_json()));
        assert_eq!(folded.to_string(), start.to_string(), "the state as it was");
    }
}
