//! What each aggregate's events take as compact JSON, kept as the log grows: events never
//! change, so a second look measures only the events appended since the first.

use std::cell::RefCell;
use std::collections::HashMap;

use serde::Serialize;

use crate::event::{EventId, StoredEvent};
use crate::store::{EventStore, StoreError, VersionRange};

/// The measured part of one aggregate's stream: up to `version`, ending with `last`.
#[derive(Debug, Clone, Copy)]
struct Measured {
    version: u64,
    last: EventId,
    bytes: usize,
}

/// The JSON size of each aggregate's events, measured once per event.
#[derive(Debug, Default)]
pub(super) struct StreamSizes(RefCell<HashMap<String, Measured>>);

impl StreamSizes {
    /// The JSON size of an aggregate's events up to `version` (its head): what was measured
    /// before, if the stream still holds the same event there, plus the events after it.
    pub(super) async fn bytes<S: EventStore>(
        &self,
        store: &S,
        aggregate_id: &str,
        version: u64,
    ) -> Result<usize, StoreError> {
        let known = self.0.borrow().get(aggregate_id).copied();
        let mut start = (0, 0);
        if let Some(known) = known
            && known.version <= version
        {
            // A store cut back and written again holds other events at the same versions.
            let at = VersionRange {
                from: known.version,
                to: Some(known.version),
            };
            let there = store.read_stream(aggregate_id, at).await?;
            if there.first().is_some_and(|e| e.event_id == known.last) {
                start = (known.version, known.bytes);
            }
        }
        let (from, measured) = start;
        if from == version {
            return Ok(measured);
        }
        let after = VersionRange {
            from: from + 1,
            to: Some(version),
        };
        let events = store.read_stream(aggregate_id, after).await?;
        let bytes = measured + events.iter().map(StoredEvent::json_len).sum::<usize>();
        if let Some(last) = events.last() {
            let measured = Measured {
                version: last.version,
                last: last.event_id,
                bytes,
            };
            self.0
                .borrow_mut()
                .insert(aggregate_id.to_string(), measured);
        }
        Ok(bytes)
    }
}

/// The size of a value as compact JSON.
pub(super) fn json_size<T: Serialize>(value: &T) -> usize {
    serde_json::to_string(value).map_or(0, |t| t.len())
}
