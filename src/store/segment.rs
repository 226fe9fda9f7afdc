//! Segments: many events in one storage record, the unit durable backends read and write.
//!
//! Browser storage costs per record, not per byte, so events are packed: one append (or one
//! group of appends) is one record. Two encodings: binary (postcard behind a checksum, for
//! IndexedDB: compact and fast to decode) and JSON (for localStorage, which holds only text, and
//! which a learner can read in DevTools).

use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;
use serde::de::{DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::event::{EventData, EventId, Metadata, StoredEvent, Timestamp};

/// How a backend encodes segments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentCodec {
    /// `ESG1`, a CRC-32 of the payload, then the events in postcard.
    Binary,
    /// `{"crc": …, "events": [...]}` with events as in the JS API, behind a CRC-32 of the
    /// events' JSON so that an edit by hand is noticed even when it leaves valid JSON.
    Json,
}

const MAGIC: &[u8; 4] = b"ESG1";

/// One event as the binary encoding stores it, borrowing its strings.
#[derive(Serialize, Deserialize)]
struct WireEvent<'a> {
    position: u64,
    event_id: [u8; 16],
    #[serde(borrow)]
    aggregate_id: &'a str,
    version: u64,
    #[serde(borrow)]
    event_type: &'a str,
    schema_version: u32,
    #[serde(borrow)]
    data: &'a str,
    timestamp: Timestamp,
    #[serde(borrow)]
    correlation_id: Option<&'a str>,
    #[serde(borrow)]
    causation_id: Option<&'a str>,
}

#[derive(Deserialize)]
struct JsonSegment {
    #[serde(default)]
    crc: Option<u32>,
    events: Vec<StoredEvent>,
}

impl SegmentCodec {
    /// Encodes events (consecutive positions) as one record.
    pub fn encode(self, events: &[StoredEvent]) -> Vec<u8> {
        match self {
            SegmentCodec::Binary => {
                let wire: Vec<WireEvent<'_>> = events
                    .iter()
                    .map(|e| WireEvent {
                        position: e.position,
                        event_id: *e.event_id.as_bytes(),
                        aggregate_id: &e.aggregate_id,
                        version: e.version,
                        event_type: &e.event_type,
                        schema_version: e.schema_version,
                        data: e.data.as_json(),
                        timestamp: e.metadata.timestamp,
                        correlation_id: e.metadata.correlation_id.as_deref(),
                        causation_id: e.metadata.causation_id.as_deref(),
                    })
                    .collect();
                // Serialising strings and numbers into a Vec cannot fail.
                let payload = postcard::to_allocvec(&wire).unwrap_or_default();
                let mut bytes = Vec::with_capacity(payload.len() + 8);
                bytes.extend_from_slice(MAGIC);
                bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
                bytes.extend_from_slice(&payload);
                bytes
            }
            SegmentCodec::Json => {
                // Serialising events (strings, numbers and canonical JSON) cannot fail.
                let events = serde_json::to_vec(events).unwrap_or_default();
                let mut bytes =
                    format!("{{\"crc\":{},\"events\":", crc32fast::hash(&events)).into_bytes();
                bytes.extend_from_slice(&events);
                bytes.push(b'}');
                bytes
            }
        }
    }

    /// Decodes a record; the error says what is wrong with it.
    pub fn decode(self, bytes: &[u8]) -> Result<Vec<StoredEvent>, String> {
        match self {
            SegmentCodec::Binary => decode_binary(bytes),
            SegmentCodec::Json => decode_json(bytes),
        }
    }
}

fn decode_json(bytes: &[u8]) -> Result<Vec<StoredEvent>, String> {
    let segment: JsonSegment =
        serde_json::from_slice(bytes).map_err(|e| format!("not a JSON segment: {e}"))?;
    let Some(crc) = segment.crc else {
        return Err("no checksum: written by an older es-sandbox, or edited by hand".into());
    };
    // The events as this crate writes them: the same bytes it checksummed when it wrote them.
    let written = serde_json::to_vec(&segment.events).map_err(|e| e.to_string())?;
    if crc32fast::hash(&written) != crc {
        return Err("checksum mismatch: the record was changed after it was written".into());
    }
    Ok(segment.events)
}

fn decode_binary(bytes: &[u8]) -> Result<Vec<StoredEvent>, String> {
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Err(
            "not a segment record (no ESG1 header); written by another program or version?".into(),
        );
    }
    let (header, payload) = bytes.split_at(8);
    let mut checksum = [0u8; 4];
    checksum.copy_from_slice(&header[4..8]);
    if crc32fast::hash(payload) != u32::from_le_bytes(checksum) {
        return Err("checksum mismatch: the record was changed after it was written".into());
    }
    let mut deserializer = postcard::Deserializer::from_bytes(payload);
    SegmentEvents
        .deserialize(&mut deserializer)
        .map_err(|e| format!("cannot decode events: {e}"))
}

/// The events of a binary segment, decoded straight into stored events (no list of wire events
/// in between).
struct SegmentEvents;

impl<'de> DeserializeSeed<'de> for SegmentEvents {
    type Value = Vec<StoredEvent>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for SegmentEvents {
    type Value = Vec<StoredEvent>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // postcard gives no hint for a length longer than the bytes left: a record that claims
        // billions of events reserves no room for them.
        let mut events = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        let mut names = Names::default();
        while let Some(e) = seq.next_element::<WireEvent<'de>>()? {
            events.push(StoredEvent {
                position: e.position,
                event_id: EventId::from_bytes(e.event_id),
                aggregate_id: names.share(e.aggregate_id),
                version: e.version,
                event_type: names.share(e.event_type),
                schema_version: e.schema_version,
                // The checksum proves these are the bytes this crate wrote from canonical data.
                data: EventData::from_stored_json(e.data),
                metadata: Metadata {
                    timestamp: e.timestamp,
                    correlation_id: e.correlation_id.map(str::to_string),
                    causation_id: e.causation_id.map(str::to_string),
                },
            });
        }
        Ok(events)
    }
}

/// One shared copy of each name (aggregate id, event type) in a segment, which repeats a few
/// of them many times. The first few names met are compared before any hashing: a segment is
/// mostly one aggregate's events, of a handful of types.
#[derive(Default)]
struct Names<'a> {
    recent: Vec<(&'a str, Arc<str>)>,
    all: HashMap<&'a str, Arc<str>>,
}

impl<'a> Names<'a> {
    const RECENT: usize = 8;

    fn share(&mut self, name: &'a str) -> Arc<str> {
        if let Some((_, shared)) = self.recent.iter().find(|(known, _)| *known == name) {
            return Arc::clone(shared);
        }
        let shared = Arc::clone(self.all.entry(name).or_insert_with(|| name.into()));
        if self.recent.len() < Self::RECENT {
            self.recent.push((name, Arc::clone(&shared)));
        }
        shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Vec<StoredEvent> {
        (1..=3)
            .map(|n| StoredEvent {
                position: n,
                event_id: EventId::derived(&format!("segment/{n}")),
                aggregate_id: "acc-1".into(),
                version: n,
                event_type: "Deposited".into(),
                schema_version: 1,
                data: EventData::from_value(json!({"amount": n, "note": "é\"x"}))
                    .unwrap_or_else(|_| EventData::empty()),
                metadata: Metadata {
                    timestamp: 1_700_000_000_000 + n as i64,
                    correlation_id: (n == 2).then(|| "c-1".to_string()),
                    causation_id: None,
                },
            })
            .collect()
    }

    #[test]
    fn both_encodings_round_trip() {
        for codec in [SegmentCodec::Binary, SegmentCodec::Json] {
            let bytes = codec.encode(&sample());
            assert_eq!(codec.decode(&bytes), Ok(sample()), "{codec:?}");
        }
    }

    #[test]
    fn a_record_claiming_more_events_than_it_holds_is_refused() {
        // A checksum anyone can compute over a payload that says 2^62 events follow (2^30 on
        // wasm32, where the length is a 32-bit varint: too many for its memory either way).
        let payload: &[u8] = if cfg!(target_pointer_width = "64") {
            &[
                0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 1, 2, 3,
            ]
        } else {
            &[0x80, 0x80, 0x80, 0x80, 0x04, 1, 2, 3]
        };
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        bytes.extend_from_slice(payload);
        assert!(
            SegmentCodec::Binary
                .decode(&bytes)
                .is_err_and(|e| e.contains("cannot decode events"))
        );
    }

    #[test]
    fn damaged_records_are_reported() {
        let mut bytes = SegmentCodec::Binary.encode(&sample());
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(
            SegmentCodec::Binary
                .decode(&bytes)
                .is_err_and(|e| e.contains("checksum"))
        );
        assert!(
            SegmentCodec::Binary
                .decode(b"hello")
                .is_err_and(|e| e.contains("ESG1"))
        );
        assert!(SegmentCodec::Json.decode(br#"{"events": [1]}"#).is_err());
        assert!(SegmentCodec::Json.decode(b"[]").is_err());
        // Valid JSON with one amount changed is still caught.
        let text = String::from_utf8(SegmentCodec::Json.encode(&sample())).unwrap_or_default();
        let edited = text.replacen(r#""amount":1"#, r#""amount":5000"#, 1);
        assert_ne!(edited, text);
        assert!(
            SegmentCodec::Json
                .decode(edited.as_bytes())
                .is_err_and(|e| e.contains("checksum mismatch"))
        );
        let unsummed = text.replacen(r#""crc":"#, r#""was":"#, 1);
        assert!(
            SegmentCodec::Json
                .decode(unsummed.as_bytes())
                .is_err_and(|e| e.contains("no checksum"))
        );
    }
}
