//! The expected version an append is checked against (optimistic concurrency).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What the writer believes about the aggregate before appending.
///
/// On the wire (JSON and JS) it is `"any"`, `"noStream"`, `"exists"` or a version number; `0` means
/// the same as `"noStream"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExpectedVersion {
    /// No check: append after whatever is there.
    #[default]
    Any,
    /// The aggregate must have no events yet.
    NoStream,
    /// The aggregate must have at least one event.
    StreamExists,
    /// The aggregate's last version must be exactly this (0 = no events).
    Exact(u64),
}

impl ExpectedVersion {
    /// Whether an aggregate whose last version is `actual` (0 = none) satisfies this expectation.
    pub fn is_satisfied_by(self, actual: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::StreamExists => actual > 0,
            ExpectedVersion::Exact(version) => actual == version,
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any version"),
            ExpectedVersion::NoStream | ExpectedVersion::Exact(0) => f.write_str("no stream"),
            ExpectedVersion::StreamExists => f.write_str("an existing stream"),
            ExpectedVersion::Exact(version) => write!(f, "version {version}"),
        }
    }
}

/// Formats an actual version for messages: 0 reads as "no stream".
pub fn describe_actual(actual: u64) -> String {
    if actual == 0 {
        "no stream".to_string()
    } else {
        format!("version {actual}")
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Wire {
    Version(u64),
    Named(Named),
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum Named {
    Any,
    NoStream,
    Exists,
}

impl Serialize for ExpectedVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            ExpectedVersion::Any => Wire::Named(Named::Any),
            ExpectedVersion::NoStream => Wire::Named(Named::NoStream),
            ExpectedVersion::StreamExists => Wire::Named(Named::Exists),
            ExpectedVersion::Exact(v) => Wire::Version(v),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ExpectedVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = Wire::deserialize(deserializer).map_err(|_| {
            serde::de::Error::custom(
                "expected version must be \"any\", \"noStream\", \"exists\" or a version number",
            )
        })?;
        Ok(match wire {
            Wire::Named(Named::Any) => ExpectedVersion::Any,
            Wire::Named(Named::NoStream) => ExpectedVersion::NoStream,
            Wire::Named(Named::Exists) => ExpectedVersion::StreamExists,
            Wire::Version(v) => ExpectedVersion::Exact(v),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_expectation_against_each_actual() {
        use ExpectedVersion::*;
        // (expected, actual, satisfied)
        let table = [
            (Any, 0, true),
            (Any, 7, true),
            (NoStream, 0, true),
            (NoStream, 1, false),
            (StreamExists, 0, false),
            (StreamExists, 3, true),
            (Exact(0), 0, true),
            (Exact(0), 1, false),
            (Exact(5), 5, true),
            (Exact(5), 6, false),
            (Exact(5), 4, false),
        ];
        for (expected, actual, satisfied) in table {
            assert_eq!(
                expected.is_satisfied_by(actual),
                satisfied,
                "{expected:?} vs {actual}"
            );
        }
    }

    #[test]
    fn wire_form_round_trips() {
        for (text, value) in [
            ("\"any\"", ExpectedVersion::Any),
            ("\"noStream\"", ExpectedVersion::NoStream),
            ("\"exists\"", ExpectedVersion::StreamExists),
            ("5", ExpectedVersion::Exact(5)),
        ] {
            assert_eq!(
                serde_json::from_str::<ExpectedVersion>(text).ok(),
                Some(value)
            );
            assert_eq!(serde_json::to_string(&value).ok().as_deref(), Some(text));
        }
        let err = serde_json::from_str::<ExpectedVersion>("\"sometimes\"");
        assert!(err.is_err_and(|e| e.to_string().contains("noStream")));
    }
}
