//! Any stored event, for property tests: every field over its whole range, and texts full of
//! what JSON must escape and of characters outside ASCII.

use proptest::prelude::*;
use serde_json::json;

use super::{EventData, EventId, Metadata, StoredEvent};

prop_compose! {
    /// A stored event with every field chosen at random (its data holds a text and a number).
    pub(crate) fn any_stored_event()(
        position in proptest::num::u64::ANY,
        version in proptest::num::u64::ANY,
        schema_version in proptest::num::u32::ANY,
        timestamp in proptest::num::i64::ANY,
        aggregate_id in "\\PC{0,12}|[\"\\\\\u{0}-\u{1f}a-z]{0,12}",
        event_type in "[A-Za-z]{1,8}",
        text in "\\PC{0,8}|[\"\\\\\u{0}-\u{1f}é]{0,8}",
        correlation in proptest::option::of("[\"\\\\\u{0}-\u{1f}x]{0,6}"),
        causation in proptest::option::of("\\PC{0,6}"),
    ) -> StoredEvent {
        let data = EventData::from_value(json!({ "text": text, "n": position }))
            .unwrap_or_else(|_| EventData::empty());
        StoredEvent {
            position,
            event_id: EventId::derived(&text),
            aggregate_id: aggregate_id.into(),
            version,
            event_type: event_type.into(),
            schema_version,
            data,
            metadata: Metadata {
                timestamp,
                correlation_id: correlation.map(String::into_boxed_str),
                causation_id: causation.map(String::into_boxed_str),
            },
        }
    }
}
