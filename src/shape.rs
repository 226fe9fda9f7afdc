//! Shapes: what an event's data or a command's payload must look like, declared in the scenario,
//! and the check that names the field, the type expected and what was found.
//!
//! ```json
//! { "amount": "integer", "note?": "string", "lines": [{ "sku": "string", "qty": "integer" }] }
//! ```
//!
//! An object shape lists exactly the fields there may be (a `?` after a name makes the field
//! optional; any other field is refused). A type is `string`, `integer` (a whole number within
//! ±(2^53 − 1), what JavaScript holds exactly), `number`, `boolean`, `null`, `object`, `array`,
//! `any`, alternatives joined by `|` (`"string|null"`), a nested object shape, or an array of one
//! shape (`[ … ]`). It is a small part of what JSON Schema says, in a terser form. Why not the
//! `jsonschema` crate: its dependency tree (regex engines, URI and format handling) is larger
//! than everything it would check here, and the module is close to its size budget; this file
//! checks the subset the scenarios need.

use std::fmt;

use serde_json::{Map, Value};

use crate::event::json_kind;

/// The largest integer JavaScript holds exactly: 2^53 − 1.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// A declared shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// One of these simple types.
    Types(Vec<Simple>),
    /// An object with exactly these fields.
    Object(Vec<Field>),
    /// An array whose items all have this shape.
    Array(Box<Shape>),
}

/// A simple type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Simple {
    /// Text.
    String,
    /// A whole number within ±(2^53 − 1).
    Integer,
    /// Any finite number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// `null`.
    Null,
    /// Any object.
    Object,
    /// Any array.
    Array,
    /// Anything.
    Any,
}

/// A field of an object shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Its name.
    pub name: String,
    /// Whether it may be left out.
    pub optional: bool,
    /// Its shape.
    pub shape: Shape,
}

/// Where a value does not have its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The path of the field (`amount`, `lines[2].sku`; empty for the whole value).
    pub field: String,
    /// What the shape says it must be.
    pub expected: String,
    /// What it is.
    pub found: String,
}

impl Simple {
    fn parse(name: &str) -> Option<Simple> {
        Some(match name {
            "string" => Simple::String,
            "integer" => Simple::Integer,
            "number" => Simple::Number,
            "boolean" => Simple::Boolean,
            "null" => Simple::Null,
            "object" => Simple::Object,
            "array" => Simple::Array,
            "any" => Simple::Any,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Simple::String => "string",
            Simple::Integer => "integer",
            Simple::Number => "number",
            Simple::Boolean => "boolean",
            Simple::Null => "null",
            Simple::Object => "object",
            Simple::Array => "array",
            Simple::Any => "any",
        }
    }

    fn admits(self, value: &Value) -> bool {
        match (self, value) {
            (Simple::Any, _)
            | (Simple::String, Value::String(_))
            | (Simple::Boolean, Value::Bool(_))
            | (Simple::Null, Value::Null)
            | (Simple::Object, Value::Object(_))
            | (Simple::Array, Value::Array(_)) => true,
            (Simple::Integer, Value::Number(n)) => n
                .as_i64()
                .is_some_and(|i| (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&i)),
            (Simple::Number, Value::Number(n)) => n.as_f64().is_some_and(f64::is_finite),
            _ => false,
        }
    }
}

/// A value as a person would name it in a message: `a string "five"`, `the number 0.1`.
pub fn describe_value(value: &Value) -> String {
    match value {
        Value::String(text) => {
            let shown: String = text.chars().take(40).collect();
            format!("a string {shown:?}")
        }
        Value::Number(n) => format!("the number {n}"),
        Value::Bool(b) => format!("{b}"),
        other => json_kind(other).to_string(),
    }
}

impl Shape {
    /// Reads a shape as a scenario declares it; the error says what is not a shape.
    pub fn parse(value: &Value) -> Result<Shape, String> {
        match value {
            Value::String(types) => types
                .split('|')
                .map(|t| {
                    Simple::parse(t.trim()).ok_or_else(|| {
                        format!("{t:?} is not a type (string, integer, number, boolean, null, object, array, any)")
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Shape::Types),
            Value::Object(fields) => fields
                .iter()
                .map(|(key, shape)| {
                    let (name, optional) = match key.strip_suffix('?') {
                        Some(name) => (name, true),
                        None => (key.as_str(), false),
                    };
                    let shape = Shape::parse(shape).map_err(|e| format!("{name}: {e}"))?;
                    Ok(Field {
                        name: name.to_string(),
                        optional,
                        shape,
                    })
                })
                .collect::<Result<Vec<_>, String>>()
                .map(Shape::Object),
            Value::Array(items) if items.len() == 1 => {
                Ok(Shape::Array(Box::new(Shape::parse(&items[0])?)))
            }
            other => Err(format!(
                "a shape is a type name, an object of fields or an array of one shape, not {}",
                json_kind(other)
            )),
        }
    }

    /// The shape in words, as the page and messages show it.
    pub fn describe(&self) -> String {
        match self {
            Shape::Types(types) => types
                .iter()
                .map(|t| t.name())
                .collect::<Vec<_>>()
                .join(" or "),
            Shape::Object(fields) => {
                let fields: Vec<String> = fields
                    .iter()
                    .map(|f| {
                        let mark = if f.optional { "?" } else { "" };
                        format!("{}{mark}: {}", f.name, f.shape.describe())
                    })
                    .collect();
                format!("{{ {} }}", fields.join(", "))
            }
            Shape::Array(item) => format!("[{}]", item.describe()),
        }
    }

    /// Checks a value against the shape: the first place it does not fit.
    pub fn check(&self, value: &Value) -> Result<(), Mismatch> {
        self.check_at(value, &Path::Root)
    }

    fn check_at(&self, value: &Value, at: &Path<'_>) -> Result<(), Mismatch> {
        let mismatch = |expected: String| {
            Err(Mismatch {
                field: at.to_string(),
                expected,
                found: describe_value(value),
            })
        };
        match (self, value) {
            (Shape::Types(types), value) => {
                if types.iter().any(|t| t.admits(value)) {
                    Ok(())
                } else if types.contains(&Simple::Integer) && value.is_number() {
                    mismatch("a whole number within ±9007199254740991 (integer)".into())
                } else {
                    mismatch(self.describe())
                }
            }
            (Shape::Object(fields), Value::Object(map)) => check_fields(fields, map, at),
            (Shape::Array(item), Value::Array(items)) => {
                for (index, value) in items.iter().enumerate() {
                    item.check_at(value, &Path::Index(at, index))?;
                }
                Ok(())
            }
            _ => mismatch(self.describe()),
        }
    }
}

fn check_fields(fields: &[Field], map: &Map<String, Value>, at: &Path<'_>) -> Result<(), Mismatch> {
    let path = |name| Path::Key(at, name);
    for field in fields {
        match map.get(&field.name) {
            Some(value) => field.shape.check_at(value, &path(&field.name))?,
            None if field.optional => {}
            None => {
                return Err(Mismatch {
                    field: path(&field.name).to_string(),
                    expected: format!("{} (required)", field.shape.describe()),
                    found: "nothing".into(),
                });
            }
        }
    }
    if let Some((extra, value)) = map
        .iter()
        .find(|(name, _)| !fields.iter().any(|f| f.name == **name))
    {
        let known: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        return Err(Mismatch {
            field: path(extra).to_string(),
            expected: format!("absent (the fields are {})", known.join(", ")),
            found: describe_value(value),
        });
    }
    Ok(())
}

/// Refuses integers JavaScript cannot hold exactly, anywhere in a value: they would change on
/// their way through the page (9007199254740993 becomes …992).
pub fn check_safe_integers(value: &Value) -> Result<(), Mismatch> {
    check_safe_at(value, &Path::Root)
}

fn check_safe_at(value: &Value, at: &Path<'_>) -> Result<(), Mismatch> {
    match value {
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
            let safe = n
                .as_i64()
                .is_some_and(|i| (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&i))
                || n.as_f64()
                    .is_some_and(|f| f.abs() <= MAX_SAFE_INTEGER as f64);
            if safe {
                Ok(())
            } else {
                Err(Mismatch {
                    field: at.to_string(),
                    expected: "a number JavaScript holds exactly (within ±9007199254740991)".into(),
                    found: format!("{n}"),
                })
            }
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_safe_at(v, &Path::Index(at, i))),
        Value::Object(map) => map
            .iter()
            .try_for_each(|(k, v)| check_safe_at(v, &Path::Key(at, k))),
        _ => Ok(()),
    }
}

/// Where in a value a check is: written out (`items[0].sku`) only when a check fails, so that
/// checking every event's data allocates nothing.
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(Path::Root, key) => f.write_str(key),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shape(value: Value) -> Shape {
        Shape::parse(&value).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn values_are_checked_against_their_shapes() {
        let order = shape(json!({
            "items": [{ "sku": "string", "qty": "integer", "price": "integer" }],
            "note?": "string|null"
        }));
        // (value, the field that does not fit and what was found; None if it fits)
        let table: Vec<(Value, Option<(&str, &str)>)> = vec![
            (
                json!({"items": [{"sku": "mug", "qty": 2, "price": 800}]}),
                None,
            ),
            (json!({"items": [], "note": null}), None),
            (
                json!({"items": [{"sku": "mug", "qty": 2, "price": 8.5}]}),
                Some(("items[0].price", "the number 8.5")),
            ),
            (
                json!({"items": [{"qty": 2, "price": 8}]}),
                Some(("items[0].sku", "nothing")),
            ),
            (
                json!({"items": [{"sku": 5, "qty": 2, "price": 8}]}),
                Some(("items[0].sku", "the number 5")),
            ),
            (json!({"items": {}}), Some(("items", "an object"))),
            (
                json!({"items": [], "colour": "red"}),
                Some(("colour", "a string \"red\"")),
            ),
            (
                json!({"items": [], "note": 3}),
                Some(("note", "the number 3")),
            ),
            (json!(42), Some(("", "the number 42"))),
            (
                json!({"items": [{"sku": "m", "qty": 9007199254740993u64, "price": 1}]}),
                Some(("items[0].qty", "the number 9007199254740993")),
            ),
        ];
        for (value, expected) in table {
            let got = order.check(&value).err().map(|m| (m.field, m.found));
            let expected = expected.map(|(f, found)| (f.to_string(), found.to_string()));
            assert_eq!(got, expected, "{value}");
        }
    }

    #[test]
    fn shapes_read_and_describe_themselves() {
        let s = shape(json!({"amount": "integer", "tags?": ["string"]}));
        assert_eq!(s.describe(), "{ amount: integer, tags?: [string] }");
        assert!(
            Shape::parse(&json!("money")).is_err_and(|e| e.contains("\"money\" is not a type"))
        );
        assert!(Shape::parse(&json!(["a", "b"])).is_err());
        assert!(Shape::parse(&json!(3)).is_err());
    }

    #[test]
    fn integers_javascript_cannot_hold_are_refused_anywhere() {
        assert!(
            check_safe_integers(&json!({"a": [1, 9007199254740991i64, -9007199254740991i64]}))
                .is_ok()
        );
        let too_big = check_safe_integers(&json!({"a": [1, {"b": 9007199254740993u64}]}));
        assert_eq!(too_big.map_err(|m| m.field), Err("a[1].b".to_string()));
        assert!(check_safe_integers(&json!({"x": 1e300})).is_err());
        assert!(check_safe_integers(&json!({"x": 0.5})).is_ok());
    }
}
