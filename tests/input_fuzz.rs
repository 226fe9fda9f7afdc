//! Fuzz-style property tests of the entry points that take user input: scenario JSON, event JSON,
//! scripts and command payloads return values or errors, never panic.
#![cfg(not(target_arch = "wasm32"))]

use std::sync::atomic::{AtomicUsize, Ordering};

use es_sandbox::domain::Domain;
use es_sandbox::event::EventData;
use es_sandbox::scenario::{SHIPPED, Scenario, shipped};
use es_sandbox::script::ScriptEngine;
use es_sandbox::{CommandRequest, MemoryStore, Sandbox, SandboxError};
use futures::executor::block_on;
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

/// Every place in a JSON value, as a JSON pointer.
fn pointers(value: &Value, at: String, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                pointers(
                    child,
                    format!("{at}/{}", key.replace('~', "~0").replace('/', "~1")),
                    into,
                );
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                pointers(child, format!("{at}/{index}"), into);
            }
        }
        _ => {}
    }
    into.push(at);
}

/// How a shipped scenario is changed at one place.
#[derive(Debug, Clone)]
enum Mutation {
    /// The value there becomes another.
    Replace(Value),
    /// The value there is removed from its object or array.
    Remove,
    /// A string there is cut at a point (a rule line losing its end, say).
    Cut(prop::sample::Index),
    /// Text is inserted into a string there.
    Insert(prop::sample::Index, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        json_value().prop_map(Mutation::Replace),
        Just(Mutation::Remove),
        any::<prop::sample::Index>().prop_map(Mutation::Cut),
        (
            any::<prop::sample::Index>(),
            prop::sample::select(vec![
                ";", "}", "{", "(", "x", "\"", "throw 1;", "\n", " + 1", "[]", "-"
            ])
        )
            .prop_map(|(at, text)| Mutation::Insert(at, text.to_string())),
    ]
}

/// Applies a mutation at a pointer.
fn mutate(document: &mut Value, pointer: &str, mutation: &Mutation) {
    let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", ""));
    if let (Mutation::Remove, Some(parent)) = (mutation, document.pointer_mut(parent)) {
        match parent {
            Value::Object(map) => {
                map.remove(&key.replace("~1", "/").replace("~0", "~"));
            }
            Value::Array(items) => {
                if let Ok(index) = key.parse::<usize>()
                    && index < items.len()
                {
                    items.remove(index);
                }
            }
            _ => {}
        }
        return;
    }
    let Some(target) = document.pointer_mut(pointer) else {
        return;
    };
    let boundary = |text: &str, at: &prop::sample::Index| {
        let ends: Vec<usize> = (0..=text.len())
            .filter(|i| text.is_char_boundary(*i))
            .collect();
        ends[at.index(ends.len())]
    };
    match (mutation, target) {
        (Mutation::Replace(value), target) => *target = value.clone(),
        (Mutation::Cut(at), Value::String(text)) => {
            let end = boundary(text, at);
            text.truncate(end);
        }
        (Mutation::Insert(at, insert), Value::String(text)) => {
            let end = boundary(text, at);
            text.insert_str(end, insert);
        }
        _ => {}
    }
}

/// Shipped scenarios with one mutation: mostly valid enough to compile deeply, sometimes not.
fn mutated_scenario() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(SHIPPED.to_vec()),
        any::<prop::sample::Index>(),
        mutation(),
    )
        .prop_map(|(name, at, mutation)| {
            let mut document =
                serde_json::to_value(shipped(name).unwrap_or_else(|e| panic!("{e}")))
                    .unwrap_or_else(|e| panic!("{e}"));
            let mut places = Vec::new();
            pointers(&document, String::new(), &mut places);
            let pointer = places[at.index(places.len())].clone();
            mutate(&mut document, &pointer, &mutation);
            document
        })
}

/// Mutated scenarios tried, and how many of them opened.
static MUTATED: AtomicUsize = AtomicUsize::new(0);
static MUTATED_OPENED: AtomicUsize = AtomicUsize::new(0);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A shipped scenario changed at one place either opens (compiled, seeded) and runs a
    /// command, or is refused with a message that says something.
    #[test]
    fn mutated_shipped_scenarios_open_or_say_why(document in mutated_scenario()) {
        MUTATED.fetch_add(1, Ordering::Relaxed);
        let opened = Scenario::from_json(&document.to_string())
            .map_err(SandboxError::from)
            .and_then(|scenario| block_on(Sandbox::open(MemoryStore::new(), scenario)));
        match opened {
            Ok(sandbox) => {
                MUTATED_OPENED.fetch_add(1, Ordering::Relaxed);
                let domain = sandbox.domain();
                let aggregate = &domain.aggregate_types()[0];
                let id = format!("{}fuzz", aggregate.rules.id_prefix());
                for command in aggregate.rules.commands() {
                    let request = CommandRequest::new(&id, command, serde_json::json!({}));
                    if let Err(e) = block_on(sandbox.write().execute(request, 0)) {
                        prop_assert!(e.to_string().len() > 10, "{command}: {e:?}");
                    }
                }
            }
            Err(e) => prop_assert!(e.to_string().len() > 10, "a refusal without a message: {e:?}"),
        }
    }

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

/// The mutations must mostly keep scenarios openable, or compilation would hardly be exercised.
#[test]
fn most_mutated_scenarios_still_open() {
    mutated_shipped_scenarios_open_or_say_why();
    let (tried, opened) = (
        MUTATED.load(Ordering::Relaxed),
        MUTATED_OPENED.load(Ordering::Relaxed),
    );
    assert!(
        opened * 3 >= tried,
        "only {opened} of {tried} mutated scenarios opened"
    );
}
