//! What changed between two states: each field that was added, removed, increased, decreased or
//! otherwise changed, as the time-machine views show it. Nested objects are followed, so a
//! change deep inside reads `address.city`.

use serde::Serialize;
use serde_json::Value;

/// How a field changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ChangeKind {
    /// It was not there before.
    Added,
    /// It is not there any more.
    Removed,
    /// A number that went up.
    Increased,
    /// A number that went down.
    Decreased,
    /// Any other new value.
    Changed,
}

/// One field's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// The field's path (`balance`, `address.city`; empty for a state that is not an object).
    pub field: String,
    /// How it changed.
    pub kind: ChangeKind,
    /// Its value before (absent when added).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// Its value after (absent when removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// The changes from `before` to `after`, field by field, in the order of `after`'s fields
/// (removed ones last).
pub fn changes(before: &Value, after: &Value) -> Vec<Change> {
    let mut found = Vec::new();
    compare("", before, after, &mut found);
    found
}

fn compare(at: &str, before: &Value, after: &Value, found: &mut Vec<Change>) {
    if before == after {
        return;
    }
    let path = |key: &str| {
        if at.is_empty() {
            key.to_string()
        } else {
            format!("{at}.{key}")
        }
    };
    match (before, after) {
        (Value::Object(old), Value::Object(new)) => {
            for (key, value) in new {
                match old.get(key) {
                    Some(previous) => compare(&path(key), previous, value, found),
                    None => found.push(Change {
                        field: path(key),
                        kind: ChangeKind::Added,
                        before: None,
                        after: Some(value.clone()),
                    }),
                }
            }
            for (key, value) in old {
                if !new.contains_key(key) {
                    found.push(Change {
                        field: path(key),
                        kind: ChangeKind::Removed,
                        before: Some(value.clone()),
                        after: None,
                    });
                }
            }
        }
        _ => {
            let kind = match (before.as_f64(), after.as_f64()) {
                (Some(b), Some(a)) if a > b => ChangeKind::Increased,
                (Some(b), Some(a)) if a < b => ChangeKind::Decreased,
                _ => ChangeKind::Changed,
            };
            found.push(Change {
                field: at.to_string(),
                kind,
                before: Some(before.clone()),
                after: Some(after.clone()),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_kind_of_change_is_named() {
        let before = json!({"balance": 100, "open": false, "owner": {"city": "Delft"}, "gone": 1, "same": [1]});
        let after = json!({"balance": 70, "open": true, "owner": {"city": "Utrecht"}, "new": "x", "same": [1]});
        let got: Vec<(String, ChangeKind)> = changes(&before, &after)
            .into_iter()
            .map(|c| (c.field, c.kind))
            .collect();
        assert_eq!(
            got,
            vec![
                ("balance".into(), ChangeKind::Decreased),
                ("new".into(), ChangeKind::Added),
                ("open".into(), ChangeKind::Changed),
                ("owner.city".into(), ChangeKind::Changed),
                ("gone".into(), ChangeKind::Removed),
            ]
        );
        assert_eq!(changes(&json!(1), &json!(2))[0].kind, ChangeKind::Increased);
        assert!(changes(&json!({"a": 1}), &json!({"a": 1})).is_empty());
    }
}
