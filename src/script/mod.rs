//! The sandboxed Rhai engine that runs user-editable rules and upcasters, and its error type.
//!
//! Scripts come from users, so the engine is locked down: bounded operations per call, call depth,
//! expression depth and value sizes; no `eval`, no modules, no output. Every error names the
//! script and, where Rhai knows it, the line and column.

mod convert;
pub mod straight_line;

use std::fmt;

use rhai::{AST, Dynamic, Engine, EvalAltResult, FuncArgs, ParseError, Position, Scope};
use serde::Serialize;

use crate::pacing::{Pacer, Stopped};

pub use convert::{data_to_dynamic, dynamic_to_json, json_to_dynamic};

/// Limits that keep a bad script from hanging or exhausting the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptLimits {
    /// Operations one call may run (a loop iteration is a few operations).
    pub max_operations: u64,
    /// Nested function calls.
    pub max_call_levels: usize,
    /// Nesting of expressions (global, inside functions).
    pub max_expr_depth: (usize, usize),
    /// Characters in one string.
    pub max_string_size: usize,
    /// Items in one array.
    pub max_array_size: usize,
    /// Entries in one object map.
    pub max_map_size: usize,
    /// Bytes of script source.
    pub max_source_len: usize,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        ScriptLimits {
            max_operations: 200_000,
            max_call_levels: 32,
            max_expr_depth: (64, 48),
            max_string_size: 64 * 1024,
            max_array_size: 10_000,
            max_map_size: 10_000,
            max_source_len: 64 * 1024,
        }
    }
}

/// What went wrong in a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ScriptErrorKind {
    /// The script does not parse.
    Syntax,
    /// The script failed while running (unknown property, wrong type, a `throw` where rules must
    /// not reject, …).
    Runtime,
    /// The script hit a sandbox limit (operations, call depth, size).
    Limit,
    /// The script does not keep its contract with the sandbox (a missing function, a wrong
    /// return shape, an event type without an `apply_` function).
    Contract,
}

/// A script failed to compile or run. Carries the script's name and the line and column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
pub struct ScriptError {
    /// Which script: `account rules`, `upcaster UserRegistered v1`.
    pub script: String,
    /// The function that was running, if any.
    pub function: Option<String>,
    /// The class of failure.
    pub kind: ScriptErrorKind,
    /// What Rhai (or the sandbox) said, without the position.
    pub message: String,
    /// Line in the script, from 1.
    pub line: Option<usize>,
    /// Column in the line, from 1.
    pub column: Option<usize>,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.script)?;
        if let Some(function) = &self.function {
            write!(f, ", {function}")?;
        }
        write!(f, ": {}", self.message)?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, " (line {line}, column {column})")?;
        }
        Ok(())
    }
}

impl ScriptError {
    /// A contract error (no position).
    pub fn contract(script: &str, function: Option<&str>, message: impl Into<String>) -> Self {
        ScriptError {
            script: script.to_string(),
            function: function.map(str::to_string),
            kind: ScriptErrorKind::Contract,
            message: message.into(),
            line: None,
            column: None,
        }
    }

    fn at(mut self, position: Position) -> Self {
        self.line = position.line();
        self.column = position.position();
        self
    }
}

impl From<Stopped> for ScriptError {
    /// Slow work stopped on request is the rules' fault: a limit the user drew.
    fn from(Stopped(slow): Stopped) -> Self {
        ScriptError {
            message: format!(
                "stopped on request: it took {:.0} ms over {} calls ({:.1} ms each), {:.0} ms in the rules in all",
                slow.function_ms,
                slow.calls,
                slow.ms_per_call(),
                slow.total_ms
            ),
            script: slow.script,
            function: Some(slow.function),
            kind: ScriptErrorKind::Limit,
            line: None,
            column: None,
        }
    }
}

/// A call's failure: a business rejection (`throw` in a command handler) or a script error.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// The script threw a value on purpose.
    Thrown {
        /// The thrown value as text.
        message: String,
        /// Where it was thrown.
        error: Box<ScriptError>,
    },
    /// Anything else.
    Script(ScriptError),
}

impl CallError {
    /// Treats a `throw` as a script error: for functions that may not reject (apply, upcast).
    pub fn into_script_error(self) -> ScriptError {
        match self {
            CallError::Thrown { error, .. } => *error,
            CallError::Script(error) => error,
        }
    }
}

/// A compiled script with its name and source, ready to call.
#[derive(Debug, Clone)]
pub struct Script {
    name: String,
    source: String,
    ast: AST,
}

impl Script {
    /// The script's display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The names and parameter counts of the functions it defines.
    pub fn functions(&self) -> impl Iterator<Item = (&str, usize)> {
        self.ast.iter_functions().map(|f| (f.name, f.params.len()))
    }

    /// The parameter count of a function, if the script defines it (the largest, if overloaded).
    pub fn arity(&self, function: &str) -> Option<usize> {
        self.functions()
            .filter(|(name, _)| *name == function)
            .map(|(_, arity)| arity)
            .max()
    }

    /// Line and column where `fn <name>` is defined, for errors Rhai reports without a position.
    fn definition_position(&self, function: &str) -> Position {
        for (index, line) in self.source.lines().enumerate() {
            let mut search = 0;
            while let Some(found) = line[search..].find("fn ") {
                let at = search + found;
                let rest = line[at + 3..].trim_start();
                if rest.starts_with(function)
                    && rest[function.len()..].trim_start().starts_with('(')
                {
                    let line = u16::try_from(index + 1).unwrap_or(u16::MAX);
                    let column = u16::try_from(at + 1).unwrap_or(u16::MAX);
                    return Position::new(line, column);
                }
                search = at + 3;
            }
        }
        Position::NONE
    }
}

/// The sandboxed engine.
pub struct ScriptEngine {
    engine: Engine,
    limits: ScriptLimits,
    pacer: Pacer,
}

impl fmt::Debug for ScriptEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptEngine")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Default for ScriptEngine {
    fn default() -> Self {
        Self::new(ScriptLimits::default())
    }
}

impl ScriptEngine {
    /// An engine with the given limits.
    pub fn new(limits: ScriptLimits) -> Self {
        let mut engine = Engine::new();
        engine
            .set_max_operations(limits.max_operations)
            .set_max_call_levels(limits.max_call_levels)
            .set_max_expr_depths(limits.max_expr_depth.0, limits.max_expr_depth.1)
            .set_max_string_size(limits.max_string_size)
            .set_max_array_size(limits.max_array_size)
            .set_max_map_size(limits.max_map_size)
            .set_max_variables(1_000)
            .set_max_functions(500)
            .set_strict_variables(true)
            .set_fail_on_invalid_map_property(true)
            .disable_symbol("eval");
        // Scripts have no console: output would go nowhere useful and costs time.
        engine.on_print(|_| {});
        engine.on_debug(|_, _, _| {});
        ScriptEngine {
            engine,
            limits,
            pacer: Pacer::default(),
        }
    }

    /// Compiles a script, checking its size first.
    pub fn compile(&self, name: &str, source: &str) -> Result<Script, ScriptError> {
        if source.len() > self.limits.max_source_len {
            return Err(ScriptError {
                script: name.to_string(),
                function: None,
                kind: ScriptErrorKind::Limit,
                message: format!(
                    "script is {} bytes, more than the limit of {}",
                    source.len(),
                    self.limits.max_source_len
                ),
                line: None,
                column: None,
            });
        }
        let ast = self
            .engine
            .compile(source)
            .map_err(|e| syntax_error(name, &e))?;
        Ok(Script {
            name: name.to_string(),
            source: source.to_string(),
            ast,
        })
    }

    /// Calls a function of a script. A `throw` comes back as [`CallError::Thrown`].
    pub fn call(
        &self,
        script: &Script,
        function: &str,
        args: impl FuncArgs,
    ) -> Result<Dynamic, CallError> {
        let mut scope = Scope::new();
        let options = rhai::CallFnOptions::new().eval_ast(false);
        self.pacer
            .time(&script.name, function, || {
                self.engine.call_fn_with_options::<Dynamic>(
                    options,
                    &mut scope,
                    &script.ast,
                    function,
                    args,
                )
            })
            .map_err(|e| self.runtime_error(script, function, &e))
    }

    /// Whether a value is within the engine's size limits for strings, arrays and maps, as
    /// Rhai checks them after an assignment.
    pub fn within_size_limits(&self, value: &Dynamic) -> bool {
        self.engine.ensure_data_size_within_limits(value).is_ok()
    }

    /// The pacer every call is counted by: long work through these scripts breathes with it.
    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }
}

fn syntax_error(script: &str, error: &ParseError) -> ScriptError {
    let text = error.0.to_string();
    ScriptError {
        script: script.to_string(),
        function: None,
        kind: ScriptErrorKind::Syntax,
        message: text,
        line: None,
        column: None,
    }
    .at(error.position())
}

impl ScriptEngine {
    /// Maps a Rhai runtime error to ours: the innermost error gives the message; the deepest known
    /// position gives the line, falling back to the called function's definition.
    fn runtime_error(&self, script: &Script, function: &str, error: &EvalAltResult) -> CallError {
        let mut innermost = error;
        let mut position = error.position();
        let mut running = function.to_string();
        while let EvalAltResult::ErrorInFunctionCall(name, _, inner, _) = innermost {
            running = name.clone();
            innermost = inner;
            if !inner.position().is_none() {
                position = inner.position();
            }
        }
        if innermost.position().is_none() && position.is_none() {
            position = script.definition_position(&running);
        }
        let kind = match innermost {
            EvalAltResult::ErrorTooManyOperations(_)
            | EvalAltResult::ErrorStackOverflow(_)
            | EvalAltResult::ErrorDataTooLarge(..)
            | EvalAltResult::ErrorTooManyVariables(_)
            | EvalAltResult::ErrorTerminated(..) => ScriptErrorKind::Limit,
            EvalAltResult::ErrorFunctionNotFound(name, _) if name.starts_with(function) => {
                ScriptErrorKind::Contract
            }
            _ => ScriptErrorKind::Runtime,
        };
        let message = match innermost {
            EvalAltResult::ErrorTooManyOperations(_) => format!(
                "stopped after {} operations (an endless loop?)",
                self.limits.max_operations
            ),
            EvalAltResult::ErrorStackOverflow(_) => {
                "stopped: calls nested too deeply (endless recursion?)".to_string()
            }
            EvalAltResult::ErrorRuntime(value, _) => format!("threw {value}"),
            other => strip_position(&other.to_string()),
        };
        let script_error = ScriptError {
            script: script.name.clone(),
            function: Some(running),
            kind,
            message,
            line: None,
            column: None,
        }
        .at(position);
        match innermost {
            EvalAltResult::ErrorRuntime(value, _) => CallError::Thrown {
                message: value.to_string(),
                error: Box::new(script_error),
            },
            _ => CallError::Script(script_error),
        }
    }
}

/// Rhai appends " (line L, position P)" to messages; we report the position separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" (line ") {
        Some(at) if message.ends_with(')') => message[..at].to_string(),
        _ => message.to_string(),
    }
}
