//! An aggregate's rules: a Rhai script with an initial state, an `apply_<Event>` per event type and
//! a `handle_<Command>` per command.
//!
//! ```rhai
//! fn initial() { #{ balance: 0 } }
//! fn apply_Deposited(state, data) { state.balance += data.amount; state }
//! fn handle_Deposit(state, command) {
//!     if command.amount <= 0 { throw "amount must be positive"; }
//!     [#{ type: "Deposited", data: #{ amount: command.amount } }]
//! }
//! ```
//!
//! `apply_` and `handle_` functions may take a third parameter: the event (id, aggregate_id,
//! version, position, type, schema_version, timestamp) or the command context (aggregate_id,
//! version, timestamp). A `throw` in a handler rejects the command with the thrown message; in an
//! `apply_` function it is a script error, because events are facts and cannot be refused.

use std::collections::BTreeMap;

use rhai::{Array, Dynamic, Map};
use serde_json::Value;

use crate::event::{EventData, StoredEvent, Timestamp, check_event_type};
use crate::script::straight_line::StraightLine;
use crate::script::{CallError, Script, ScriptEngine, ScriptError, dynamic_to_json};

const APPLY_PREFIX: &str = "apply_";
const HANDLE_PREFIX: &str = "handle_";
const INITIAL: &str = "initial";

/// The compiled rules of one aggregate kind.
#[derive(Debug, Clone)]
pub struct AggregateRules {
    name: String,
    id_prefix: String,
    script: Script,
    /// Event type → its `apply_` function.
    appliers: BTreeMap<String, Applier>,
    /// Command → (function name, parameter count).
    handlers: BTreeMap<String, (String, usize)>,
}

/// An `apply_` function of the rules.
#[derive(Debug, Clone)]
struct Applier {
    function: String,
    arity: usize,
    /// The function as a straight line of assignments, where it is one.
    straight: Option<StraightLine>,
}

/// An event a command handler decided on, not yet stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    /// Its type.
    pub event_type: String,
    /// Its data.
    pub data: EventData,
}

/// Why a handler produced no events.
#[derive(Debug, Clone, PartialEq)]
pub enum HandleError {
    /// The handler refused the command (`throw`): a business rule.
    Rejected {
        /// The thrown message, such as "insufficient funds: balance 20, asked 30".
        message: String,
    },
    /// The rules have no handler for the command.
    UnknownCommand {
        /// The command asked for.
        command: String,
        /// The commands there are.
        known: Vec<String>,
    },
    /// The handler failed.
    Script(ScriptError),
}

/// Context a handler may take as its third parameter.
#[derive(Debug, Clone, Copy)]
pub struct CommandContext<'a> {
    /// The aggregate the command is for.
    pub aggregate_id: &'a str,
    /// Its current version.
    pub version: u64,
    /// The command's timestamp.
    pub timestamp: Timestamp,
}

impl AggregateRules {
    /// Compiles and checks an aggregate's rules script.
    pub fn compile(
        engine: &ScriptEngine,
        name: &str,
        id_prefix: &str,
        source: &str,
    ) -> Result<Self, ScriptError> {
        let script_name = format!("{name} rules");
        let script = engine.compile(&script_name, source)?;
        let contract = |message: String| ScriptError::contract(&script_name, None, message);
        if script.arity(INITIAL) != Some(0) {
            return Err(contract(
                "the rules must define `fn initial()` returning the starting state".into(),
            ));
        }
        let mut appliers = BTreeMap::new();
        let mut handlers = BTreeMap::new();
        for (function, arity) in script.functions() {
            let (subject, what, applies) = if let Some(t) = function.strip_prefix(APPLY_PREFIX) {
                (
                    t,
                    "an apply function takes (state, data) or (state, data, event)",
                    true,
                )
            } else if let Some(c) = function.strip_prefix(HANDLE_PREFIX) {
                (
                    c,
                    "a handler takes (state, command) or (state, command, context)",
                    false,
                )
            } else {
                continue;
            };
            if !(2..=3).contains(&arity) {
                return Err(contract(format!(
                    "`{function}` has {arity} parameters; {what}"
                )));
            }
            check_event_type(subject).map_err(|e| contract(format!("`{function}`: {e}")))?;
            if applies {
                let applier = Applier {
                    function: function.to_string(),
                    arity,
                    straight: StraightLine::compile(&script, function, arity),
                };
                appliers.insert(subject.to_string(), applier);
            } else {
                handlers.insert(subject.to_string(), (function.to_string(), arity));
            }
        }
        if appliers.is_empty() {
            return Err(contract(
                "the rules define no `apply_<EventType>` function, so no event can be stored"
                    .into(),
            ));
        }
        Ok(AggregateRules {
            name: name.to_string(),
            id_prefix: id_prefix.to_string(),
            script,
            appliers,
            handlers,
        })
    }

    /// The aggregate kind's name, such as `account`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The prefix of this kind's aggregate ids, such as `acc-`.
    pub fn id_prefix(&self) -> &str {
        &self.id_prefix
    }

    /// The rules' source text.
    pub fn source(&self) -> &str {
        self.script.source()
    }

    /// Event types the rules can apply.
    pub fn event_types(&self) -> impl Iterator<Item = &str> {
        self.appliers.keys().map(String::as_str)
    }

    /// Commands the rules handle.
    pub fn commands(&self) -> impl Iterator<Item = &str> {
        self.handlers.keys().map(String::as_str)
    }

    /// Whether the rules can apply events of this type.
    pub fn applies(&self, event_type: &str) -> bool {
        self.appliers.contains_key(event_type)
    }

    /// The starting state.
    pub fn initial_state(&self, engine: &ScriptEngine) -> Result<Dynamic, ScriptError> {
        let state = engine
            .call(&self.script, INITIAL, ())
            .map_err(CallError::into_script_error)?;
        if state.is_unit() {
            return Err(ScriptError::contract(
                self.script.name(),
                Some(INITIAL),
                "returned nothing; it must return the starting state",
            ));
        }
        Ok(state)
    }

    /// Folds one event stored in the schema version the rules read into the state without the
    /// interpreter, where its `apply_` function is a straight line (see [`StraightLine`]). False,
    /// with the state untouched, where the interpreter must fold it ([`AggregateRules::apply`]).
    pub fn apply_straight(
        &self,
        engine: &ScriptEngine,
        state: &mut Dynamic,
        event: &StoredEvent,
    ) -> bool {
        let Some(applier) = self.appliers.get(&*event.event_type) else {
            return false;
        };
        let Some(straight) = &applier.straight else {
            return false;
        };
        // Counted with the interpreter's calls: a long fold breathes all the same.
        engine
            .pacer()
            .time(self.script.name(), &applier.function, || {
                straight.run(engine, state, event.data.as_json())
            })
    }

    /// Folds one event (its data already upcast) into the state.
    pub fn apply(
        &self,
        engine: &ScriptEngine,
        state: Dynamic,
        data: Dynamic,
        event: &StoredEvent,
    ) -> Result<Dynamic, ScriptError> {
        let Some(Applier {
            function, arity, ..
        }) = self.appliers.get(&*event.event_type)
        else {
            return Err(ScriptError::contract(
                self.script.name(),
                None,
                format!(
                    "no `{APPLY_PREFIX}{}` function, so event {} (version {}) cannot be applied",
                    event.event_type, event.event_id, event.version
                ),
            ));
        };
        let result = if *arity == 3 {
            engine.call(&self.script, function, (state, data, event_map(event)))
        } else {
            engine.call(&self.script, function, (state, data))
        };
        let next = result.map_err(CallError::into_script_error)?;
        if next.is_unit() {
            return Err(ScriptError::contract(
                self.script.name(),
                Some(function),
                "returned nothing; an apply function must return the new state",
            ));
        }
        Ok(next)
    }

    /// Runs a command's handler on the current state: the events it returns, or why not.
    pub fn handle(
        &self,
        engine: &ScriptEngine,
        state: Dynamic,
        command: &str,
        payload: Dynamic,
        context: CommandContext<'_>,
    ) -> Result<Vec<Decided>, HandleError> {
        let Some((function, arity)) = self.handlers.get(command) else {
            return Err(HandleError::UnknownCommand {
                command: command.to_string(),
                known: self.handlers.keys().cloned().collect(),
            });
        };
        let result = if *arity == 3 {
            let mut ctx = Map::new();
            ctx.insert("aggregate_id".into(), context.aggregate_id.into());
            ctx.insert("version".into(), version_to_int(context.version).into());
            ctx.insert("timestamp".into(), context.timestamp.into());
            engine.call(&self.script, function, (state, payload, ctx))
        } else {
            engine.call(&self.script, function, (state, payload))
        };
        let decided = result.map_err(|e| match e {
            CallError::Thrown { message, .. } => HandleError::Rejected { message },
            CallError::Script(error) => HandleError::Script(error),
        })?;
        self.decided_events(function, decided)
            .map_err(HandleError::Script)
    }

    /// Reads a handler's result: `()` (nothing happened), one event map, or an array of them.
    fn decided_events(&self, function: &str, value: Dynamic) -> Result<Vec<Decided>, ScriptError> {
        let contract =
            |message: String| ScriptError::contract(self.script.name(), Some(function), message);
        let items: Array = if value.is_unit() {
            Array::new()
        } else if value.is_map() {
            vec![value]
        } else {
            value.try_cast::<Array>().ok_or_else(|| {
                contract(
                    "must return an array of events like [#{ type: \"Deposited\", data: #{ amount: 5 } }]"
                        .into(),
                )
            })?
        };
        items
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                // Counted from 1, as a person counts the events a handler returned.
                let index = index + 1;
                let Some(mut map) = item.try_cast::<Map>() else {
                    return Err(contract(format!(
                        "returned event {index} is not an object map #{{ type: …, data: … }}"
                    )));
                };
                let event_type = map
                    .remove("type")
                    .and_then(|t| t.into_immutable_string().ok())
                    .ok_or_else(|| contract(format!("returned event {index} has no `type` string")))?
                    .to_string();
                if !self.applies(&event_type) {
                    return Err(contract(format!(
                        "returned event {index} has type {event_type:?}, but there is no `{APPLY_PREFIX}{event_type}` to apply it"
                    )));
                }
                let data = match map.remove("data") {
                    None => Value::Object(Default::default()),
                    Some(data) => dynamic_to_json(&data)
                        .map_err(|e| contract(format!("returned event {index} data: {e}")))?,
                };
                if let Some(extra) = map.keys().next() {
                    return Err(contract(format!(
                        "returned event {index} has an unknown field `{extra}`; only `type` and `data` are allowed"
                    )));
                }
                let data = EventData::from_value(data)
                    .map_err(|e| contract(format!("returned event {index}: {e}")))?;
                Ok(Decided { event_type, data })
            })
            .collect()
    }
}

/// An event as the map a script sees as the third parameter of `apply_` or `upcast`.
pub fn event_map(event: &StoredEvent) -> Map {
    let mut map = Map::new();
    map.insert("id".into(), event.event_id.to_string().into());
    map.insert("aggregate_id".into(), event.aggregate_id.as_ref().into());
    map.insert("version".into(), version_to_int(event.version).into());
    map.insert("position".into(), version_to_int(event.position).into());
    map.insert("type".into(), event.event_type.as_ref().into());
    map.insert(
        "schema_version".into(),
        rhai::INT::from(event.schema_version).into(),
    );
    map.insert("timestamp".into(), event.metadata.timestamp.into());
    map
}

fn version_to_int(version: u64) -> rhai::INT {
    rhai::INT::try_from(version).unwrap_or(rhai::INT::MAX)
}
