//! `apply_` functions that are a straight line of property assignments, run without the
//! interpreter: `state.balance += data.amount; state` reads one field of the event's data,
//! adds it, and gives the state back.
//!
//! Most rules fold this way, and the interpreter spends most of a replay's time on them: a call
//! costs a scope, a copy of the state map on the way out, and the event's data decoded into a
//! map whole. Such a function is recognised in Rhai's own syntax tree when the rules compile, and
//! folded here: only the fields it reads are decoded, the state is changed in place.
//!
//! Rhai stays the meaning of the rules. Anything this does not know how to do exactly as Rhai
//! would (a type other than integers under `+=`, an overflow, a missing property, a state past
//! the size limits) makes it give up before changing anything, and the interpreter runs that
//! event, with its own result or error. A differential test (`tests/straight_line.rs`) holds the
//! two to the same states.

use rhai::{ASTFlags, ASTNode, Dynamic, Expr, FnCallExpr, Identifier, Map, Stmt, Token};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use super::{Script, ScriptEngine};

/// A compiled straight-line `apply_` function.
#[derive(Debug, Clone)]
pub struct StraightLine {
    /// The data fields it reads, in the order `Operand::Data` indexes them.
    fields: Vec<Identifier>,
    steps: Vec<Step>,
}

/// One statement: `state.<key> = <value>` or `state.<key> <op>= <value>`.
#[derive(Debug, Clone)]
enum Step {
    Set {
        key: Identifier,
        value: Operand,
    },
    Update {
        key: Identifier,
        op: IntOp,
        value: Operand,
    },
}

/// What a statement's right-hand side reads.
#[derive(Debug, Clone)]
enum Operand {
    Literal(Dynamic),
    Data(usize),
    State(Identifier),
    Arithmetic(IntOp, Box<Operand>, Box<Operand>),
}

/// Integer arithmetic, checked as Rhai checks it: an overflow is Rhai's to report.
#[derive(Debug, Clone, Copy)]
enum IntOp {
    Add,
    Subtract,
    Multiply,
}

impl IntOp {
    fn from_token(token: &Token) -> Option<Self> {
        match token {
            Token::Plus => Some(IntOp::Add),
            Token::Minus => Some(IntOp::Subtract),
            Token::Multiply => Some(IntOp::Multiply),
            _ => None,
        }
    }

    fn apply(self, left: &Dynamic, right: &Dynamic) -> Option<Dynamic> {
        let (left, right) = (left.as_int().ok()?, right.as_int().ok()?);
        let result = match self {
            IntOp::Add => left.checked_add(right),
            IntOp::Subtract => left.checked_sub(right),
            IntOp::Multiply => left.checked_mul(right),
        };
        result.map(Dynamic::from_int)
    }
}

/// The names a function's body may use: its state and data parameters.
struct Params<'a> {
    state: &'a str,
    data: &'a str,
}

impl StraightLine {
    /// Recognises `function` (with `arity` parameters) of a script as a straight line, or `None`
    /// when it is anything else: the interpreter runs it then.
    pub fn compile(script: &Script, function: &str, arity: usize) -> Option<Self> {
        let metadata = script
            .ast
            .iter_functions()
            .find(|f| f.name == function && f.params.len() == arity)?;
        let (&state, &data) = (metadata.params.first()?, metadata.params.get(1)?);
        if state == data {
            return None;
        }
        let params = Params { state, data };
        // Rhai 1.27's `clone_functions_only_filtered` keeps every function when it starts from
        // an empty library: cloned whole, then filtered.
        let mut single = script.ast.clone_functions_only();
        single.retain_functions(|_, _, name, n| name == function && n == arity);
        // Copied out of the walk, which lends the statements only while it runs.
        let mut statements: Vec<Stmt> = Vec::new();
        single.walk(&mut |path: &[ASTNode]| {
            if let [ASTNode::Stmt(stmt)] = path {
                statements.push((*stmt).clone());
            }
            true
        });
        let (last, body) = statements.split_last()?;
        if !matches!(last, Stmt::Expr(expr) if variable(expr) == Some(params.state)) {
            return None;
        }
        let mut line = StraightLine {
            fields: Vec::new(),
            steps: Vec::new(),
        };
        for stmt in body {
            match stmt {
                Stmt::Noop(..) => {}
                Stmt::Assignment(assignment) => {
                    let (op, target) = &**assignment;
                    let key = state_property(&target.lhs, &params)?;
                    let value = line.operand(&target.rhs, &params)?;
                    let step = match op.get_op_assignment_info() {
                        None => Step::Set { key, value },
                        Some((_, _, _, _, base, _)) => Step::Update {
                            key,
                            op: IntOp::from_token(base)?,
                            value,
                        },
                    };
                    line.steps.push(step);
                }
                _ => return None,
            }
        }
        Some(line)
    }

    fn operand(&mut self, expr: &Expr, params: &Params<'_>) -> Option<Operand> {
        Some(match expr {
            Expr::IntegerConstant(value, _) => Operand::Literal(Dynamic::from_int(*value)),
            Expr::BoolConstant(value, _) => Operand::Literal(Dynamic::from_bool(*value)),
            Expr::StringConstant(value, _) => Operand::Literal(value.clone().into()),
            Expr::CharConstant(value, _) => Operand::Literal(Dynamic::from_char(*value)),
            Expr::FloatConstant(value, _) => Operand::Literal(Dynamic::from_float(**value)),
            Expr::Unit(_) => Operand::Literal(Dynamic::UNIT),
            Expr::Dot(dot, flags, _) if *flags == ASTFlags::NONE => {
                let (object, key) = (variable(&dot.lhs)?, property(&dot.rhs)?);
                if object == params.state {
                    Operand::State(key)
                } else if object == params.data {
                    let index = match self.fields.iter().position(|f| *f == key) {
                        Some(index) => index,
                        None => {
                            self.fields.push(key);
                            self.fields.len() - 1
                        }
                    };
                    Operand::Data(index)
                } else {
                    return None;
                }
            }
            Expr::FnCall(call, _) => self.arithmetic(call, params)?,
            _ => return None,
        })
    }

    fn arithmetic(&mut self, call: &FnCallExpr, params: &Params<'_>) -> Option<Operand> {
        let op = IntOp::from_token(call.op_token.as_ref()?)?;
        let [left, right] = call.args.as_slice() else {
            return None;
        };
        let (left, right) = (self.operand(left, params)?, self.operand(right, params)?);
        Some(Operand::Arithmetic(op, Box::new(left), Box::new(right)))
    }

    /// Folds an event's data (its JSON text) into the state, in place. False, with the state
    /// untouched, where the interpreter must run this event instead.
    pub fn run(&self, engine: &ScriptEngine, state: &mut Dynamic, data: &str) -> bool {
        let Some(fields) = self.read_fields(data) else {
            return false;
        };
        let replaced = {
            let Ok(mut map) = state.as_map_mut() else {
                return false;
            };
            let Some(changes) = self.changes(&map, &fields) else {
                return false;
            };
            changes
                .into_iter()
                .map(|(key, value)| {
                    let old = map.insert(key.clone(), value);
                    (key, old)
                })
                .collect::<Vec<_>>()
        };
        if engine.within_size_limits(state) {
            return true;
        }
        // Past a limit: Rhai decides what that means, on the state as it was.
        if let Ok(mut map) = state.as_map_mut() {
            for (key, old) in replaced.into_iter().rev() {
                match old {
                    Some(old) => map.insert(key, old),
                    None => map.remove(&key),
                };
            }
        }
        false
    }

    /// Every step's write, in order, or `None` where one of them is not this code's to do.
    fn changes(&self, state: &Map, data: &[Dynamic]) -> Option<Vec<(Identifier, Dynamic)>> {
        let mut written: Vec<(Identifier, Dynamic)> = Vec::with_capacity(self.steps.len());
        let read = |written: &[(Identifier, Dynamic)], key: &str| {
            written
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .or_else(|| state.get(key))
                .cloned()
        };
        for step in &self.steps {
            match step {
                Step::Set { key, value } => {
                    let value = evaluate(value, data, &|key| read(&written, key))?;
                    written.push((key.clone(), value));
                }
                Step::Update { key, op, value } => {
                    let current = read(&written, key)?;
                    let value = evaluate(value, data, &|key| read(&written, key))?;
                    written.push((key.clone(), op.apply(&current, &value)?));
                }
            }
        }
        Some(written)
    }

    /// The data fields this function reads, decoded as the interpreter decodes them; `None` when
    /// one is missing (Rhai reports that) or the text is not an object.
    fn read_fields(&self, data: &str) -> Option<Vec<Dynamic>> {
        let mut deserializer = serde_json::Deserializer::from_str(data);
        let fields = FieldsSeed(&self.fields)
            .deserialize(&mut deserializer)
            .ok()?;
        fields.into_iter().collect()
    }
}

fn evaluate(
    operand: &Operand,
    data: &[Dynamic],
    state: &dyn Fn(&str) -> Option<Dynamic>,
) -> Option<Dynamic> {
    match operand {
        Operand::Literal(value) => Some(value.clone()),
        Operand::Data(index) => data.get(*index).cloned(),
        Operand::State(key) => state(key),
        Operand::Arithmetic(op, left, right) => {
            let left = evaluate(left, data, state)?;
            let right = evaluate(right, data, state)?;
            op.apply(&left, &right)
        }
    }
}

/// The name of a plain variable.
fn variable(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Variable(name, ..) => Some(name.1.as_str()),
        _ => None,
    }
}

/// The name of a plain property (`.balance`).
fn property(expr: &Expr) -> Option<Identifier> {
    match expr {
        Expr::Property(property, _) => Some(property.2.as_str().into()),
        _ => None,
    }
}

/// `state.<key>` as an assignment's target.
fn state_property(expr: &Expr, params: &Params<'_>) -> Option<Identifier> {
    match expr {
        Expr::Dot(dot, flags, _)
            if *flags == ASTFlags::NONE && variable(&dot.lhs) == Some(params.state) =>
        {
            property(&dot.rhs)
        }
        _ => None,
    }
}

/// Decodes the wanted fields of a JSON object, skipping the others.
struct FieldsSeed<'a>(&'a [Identifier]);

impl<'de> DeserializeSeed<'de> for FieldsSeed<'_> {
    type Value = Vec<Option<Dynamic>>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldsSeed<'_> {
    type Value = Vec<Option<Dynamic>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut values = vec![None; self.0.len()];
        while let Some(index) = map.next_key_seed(KeySeed(self.0))? {
            match index {
                Some(index) => {
                    let value = map.next_value::<Dynamic>()?;
                    if let Some(slot) = values.get_mut(index) {
                        *slot = Some(value);
                    }
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(values)
    }
}

/// A key of the object: the index of the wanted field it names, if any.
struct KeySeed<'a>(&'a [Identifier]);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|field| field == key))
    }
}
