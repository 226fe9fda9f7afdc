//! Segments: many events in one storage record, the unit durable backends read and write.
//!
//! Browser storage costs per record, not per byte, so events are packed: one append (or one
//! group of appends) is one record. Two encodings: binary (postcard behind a checksum, for
//! IndexedDB: compact and fast to decode) and JSON (for localStorage, which holds only text, and
//! which a learner can read in DevTools).

use serde::{Deserialize, Serialize};

use super::segment_wire::decode_events;
use crate::event::{StoredEvent, Timestamp};

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

/// One event as the binary encoding stores it, borrowing its strings. Read back by hand
/// (segment_wire.rs); serde's reading of it is the reference its tests compare with.
#[derive(Serialize)]
#[cfg_attr(test, derive(Deserialize))]
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
    decode_events(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventData, EventId, Metadata};
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
                    correlation_id: (n == 2).then(|| "c-1".into()),
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

    /// serde's reading of a payload (postcard, the derive), which the hand reader must agree
    /// with; a payload with bytes after its events is refused, as the hand reader refuses it.
    fn serde_read(payload: &[u8]) -> Option<Vec<StoredEvent>> {
        let (wire, rest) = postcard::take_from_bytes::<Vec<WireEvent<'_>>>(payload).ok()?;
        if !rest.is_empty() {
            return None;
        }
        let events = wire.into_iter().map(|e| StoredEvent {
            position: e.position,
            event_id: EventId::from_bytes(e.event_id),
            aggregate_id: e.aggregate_id.into(),
            version: e.version,
            event_type: e.event_type.into(),
            schema_version: e.schema_version,
            data: EventData::from_stored_json(e.data),
            metadata: Metadata {
                timestamp: e.timestamp,
                correlation_id: e.correlation_id.map(Box::from),
                causation_id: e.causation_id.map(Box::from),
            },
        });
        Some(events.collect())
    }

    /// A payload with one of its aggregate ids (`acc-1`, chosen among where they are) made
    /// invalid UTF-8.
    fn name_broken(payload: &[u8], choose: impl Fn(&[usize]) -> Option<usize>) -> Vec<u8> {
        let found: Vec<usize> = (0..payload.len())
            .filter(|&at| payload[at..].starts_with(b"acc-1"))
            .collect();
        let mut broken = payload.to_vec();
        if let Some(at) = choose(&found) {
            broken[at] = 0xFF;
        }
        broken
    }

    fn payload(events: &[StoredEvent]) -> Vec<u8> {
        SegmentCodec::Binary.encode(events).split_off(8)
    }

    #[test]
    fn the_hand_reader_refuses_what_postcard_refuses() {
        let mut extreme = sample();
        extreme[0].position = u64::MAX;
        extreme[0].version = u64::MAX;
        extreme[0].schema_version = u32::MAX;
        extreme[0].metadata.timestamp = i64::MIN;
        extreme[1].metadata.timestamp = i64::MAX;
        let valid = payload(&extreme);
        assert_eq!(decode_events(&valid).ok(), Some(extreme));
        // (what is done to the payload, whether it still reads)
        let u64_at = 1; // the first event's position: ten bytes, the last one 0x01.
        let table: Vec<(&str, Vec<u8>, bool)> = vec![
            ("as written", valid.clone(), true),
            ("cut short", valid[..valid.len() - 1].to_vec(), false),
            (
                "a byte after the events",
                [valid.as_slice(), &[0]].concat(),
                false,
            ),
            (
                "a u64 past its range",
                {
                    let mut p = valid.clone();
                    p[u64_at + 9] = 0x02;
                    p
                },
                false,
            ),
            (
                "a varint that never ends",
                {
                    let mut p = valid.clone();
                    p[u64_at + 9] = 0x81;
                    p
                },
                false,
            ),
            ("no events", vec![0], true),
            (
                "the first event's name not UTF-8",
                name_broken(&valid, |found| found.first().copied()),
                false,
            ),
            (
                "the last event's name not UTF-8 (the others' met before)",
                name_broken(&valid, |found| found.last().copied()),
                false,
            ),
            (
                "an option tagged 2",
                {
                    let mut p = payload(&sample()[..1]);
                    let last = p.len() - 1;
                    p[last] = 2;
                    p
                },
                false,
            ),
        ];
        for (what, bytes, reads) in table {
            let hand = decode_events(&bytes).ok();
            assert_eq!(hand.is_some(), reads, "{what}");
            assert_eq!(hand, serde_read(&bytes), "{what}");
        }
        // Where a number stops: a record that ends inside it, or one too long for its type.
        let cut = &valid[..u64_at + 5];
        assert!(decode_events(cut).is_err_and(|e| e.contains("ends inside an event")));
        let mut endless = valid.clone();
        endless[u64_at + 9] = 0x81;
        assert!(decode_events(&endless).is_err_and(|e| e.contains("encoded wrong")));
    }

    // Property tests run natively (proptest is a native dev-dependency).
    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #[test]
        fn the_hand_reader_reads_what_postcard_reads(
            event in crate::event::arbitrary::any_stored_event(),
            // A change to the payload: where (a fraction of its length), what byte, and whether
            // it replaces, is inserted, or cuts the payload there.
            at in 0.0f64..1.0,
            byte in proptest::num::u8::ANY,
            change in 0u8..4,
        ) {
            let mut events = sample();
            events[1] = event;
            let mut bytes = payload(&events);
            proptest::prop_assert_eq!(decode_events(&bytes).ok(), Some(events));
            let index = ((bytes.len() as f64) * at) as usize;
            match change {
                0 => bytes[index] = byte,
                1 => bytes.insert(index, byte),
                2 => bytes.truncate(index),
                _ => {}
            }
            proptest::prop_assert_eq!(decode_events(&bytes).ok(), serde_read(&bytes));
        }
    }
}
