//! The binary segment's events read straight from postcard's bytes, without serde.
//!
//! Segments are written with postcard (`WireEvent` in segment.rs, serialised by its derive) and
//! read here by hand: opening a store decodes every event, and serde's field-by-field visitors
//! (sixteen calls for an event id alone) made decoding most of a cold open. The format is
//! postcard's, read with postcard's own rules: unsigned integers as varints (at most 10 bytes for
//! a u64, 5 for a u32, the last byte bounded), signed ones zigzagged, strings as a varint length
//! and UTF-8 bytes, options as a 0 or 1 byte, the list as a varint length. A test reads random
//! payloads both ways and requires the same answer.

use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use crate::event::{EventData, EventId, Metadata, SharedTexts, StoredEvent};

/// The fewest bytes an event takes: one per varint, option and empty string, 16 for its id.
const MIN_EVENT_BYTES: usize = 25;

/// Decodes a segment's payload (after its header and checksum) into stored events.
pub(super) fn decode_events(payload: &[u8]) -> Result<Vec<StoredEvent>, String> {
    let mut wire = Wire { bytes: payload };
    let events = read_events(&mut wire).map_err(|e| format!("cannot decode events: {e}"))?;
    if !wire.bytes.is_empty() {
        return Err(format!(
            "cannot decode events: {} bytes follow the last event",
            wire.bytes.len()
        ));
    }
    Ok(events)
}

fn read_events<'a>(wire: &mut Wire<'a>) -> Result<Vec<StoredEvent>, &'static str> {
    let count = wire.length()?;
    // A count the bytes cannot hold reserves no room for it.
    let mut events = Vec::with_capacity(count.min(wire.bytes.len() / MIN_EVENT_BYTES));
    let mut names = Names::default();
    // The events' data go into one text they share, complete only after the last event: until
    // then each holds the same empty data, and where its own will be.
    let mut texts = SharedTexts::with_capacity(wire.bytes.len());
    let mut ranges = Vec::with_capacity(events.capacity());
    let placeholder = EventData::empty();
    for _ in 0..count {
        let position = wire.varint_u64()?;
        let event_id = EventId::from_bytes(wire.array16()?);
        let aggregate_id = names.share(wire.text_bytes()?)?;
        let version = wire.varint_u64()?;
        let event_type = names.share(wire.text_bytes()?)?;
        let schema_version = wire.varint_u32()?;
        // The checksum proves these are the bytes this crate wrote from canonical data.
        ranges.push(
            texts
                .push(wire.str()?)
                .ok_or("the events' data is too large")?,
        );
        let timestamp = wire.zigzag_i64()?;
        let correlation_id = wire.option_str()?.map(Box::from);
        let causation_id = wire.option_str()?.map(Box::from);
        events.push(StoredEvent {
            position,
            event_id,
            aggregate_id,
            version,
            event_type,
            schema_version,
            data: placeholder.clone(),
            metadata: Metadata {
                timestamp,
                correlation_id,
                causation_id,
            },
        });
    }
    let texts = texts.finish();
    for (event, range) in events.iter_mut().zip(ranges) {
        event.data = EventData::shared(&texts, range);
    }
    Ok(events)
}

/// The bytes not read yet.
struct Wire<'a> {
    bytes: &'a [u8],
}

const ENDED: &str = "the record ends inside an event";

impl<'a> Wire<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        let (taken, rest) = self.bytes.split_at_checked(n).ok_or(ENDED)?;
        self.bytes = rest;
        Ok(taken)
    }

    fn byte(&mut self) -> Result<u8, &'static str> {
        let (&first, rest) = self.bytes.split_first().ok_or(ENDED)?;
        self.bytes = rest;
        Ok(first)
    }

    fn array16(&mut self) -> Result<[u8; 16], &'static str> {
        let mut array = [0; 16];
        array.copy_from_slice(self.take(16)?);
        Ok(array)
    }

    /// A varint of at most `max_bytes`, whose last byte may be at most `max_last` when it takes
    /// them all (postcard's rule: the value must fit its type).
    fn varint(&mut self, max_bytes: usize, max_last: u8) -> Result<u64, &'static str> {
        let mut value = 0u64;
        // Read in place and move past the number once: a cold open reads millions of them.
        for (i, &byte) in self.bytes.iter().take(max_bytes).enumerate() {
            value |= u64::from(byte & 0x7F) << (7 * i);
            if byte & 0x80 == 0 {
                if i == max_bytes - 1 && byte > max_last {
                    break;
                }
                self.take(i + 1)?;
                return Ok(value);
            }
        }
        // Fewer bytes than a number may take, none of them its last: the record ended inside it.
        if self.bytes.len() < max_bytes {
            return Err(ENDED);
        }
        Err("a number is encoded wrong")
    }

    fn varint_u64(&mut self) -> Result<u64, &'static str> {
        self.varint(10, 0x01)
    }

    fn varint_u32(&mut self) -> Result<u32, &'static str> {
        // Five bytes whose last is at most 15 hold at most u32::MAX.
        u32::try_from(self.varint(5, 0x0F)?).map_err(|_| "a number is encoded wrong")
    }

    fn zigzag_i64(&mut self) -> Result<i64, &'static str> {
        let n = self.varint_u64()?;
        Ok(((n >> 1) as i64) ^ -((n & 1) as i64))
    }

    /// A length, as postcard writes a `usize` on the platform that reads it.
    fn length(&mut self) -> Result<usize, &'static str> {
        let n = if cfg!(target_pointer_width = "64") {
            self.varint_u64()?
        } else {
            u64::from(self.varint_u32()?)
        };
        usize::try_from(n).map_err(|_| "a length is encoded wrong")
    }

    /// A text's bytes, not yet checked to be UTF-8.
    fn text_bytes(&mut self) -> Result<&'a [u8], &'static str> {
        let len = self.length()?;
        self.take(len)
    }

    fn str(&mut self) -> Result<&'a str, &'static str> {
        utf8(self.text_bytes()?)
    }

    fn option_str(&mut self) -> Result<Option<&'a str>, &'static str> {
        match self.byte()? {
            0 => Ok(None),
            1 => self.str().map(Some),
            _ => Err("an optional text is encoded wrong"),
        }
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, &'static str> {
    std::str::from_utf8(bytes).map_err(|_| "a text is not UTF-8")
}

/// One shared copy of each name (aggregate id, event type) in a segment, which repeats a few
/// of them many times. The first few names met are compared before any hashing: a segment is
/// mostly one aggregate's events, of a handful of types. Names are compared as bytes, so a
/// name is checked to be UTF-8 only the first time it is met.
#[derive(Default)]
struct Names<'a> {
    recent: Vec<(&'a [u8], Arc<str>)>,
    all: HashMap<&'a [u8], Arc<str>>,
}

impl<'a> Names<'a> {
    const RECENT: usize = 8;

    fn share(&mut self, name: &'a [u8]) -> Result<Arc<str>, &'static str> {
        if let Some((_, shared)) = self.recent.iter().find(|(known, _)| *known == name) {
            return Ok(Arc::clone(shared));
        }
        let shared = match self.all.get(name) {
            Some(shared) => Arc::clone(shared),
            None => {
                let shared: Arc<str> = utf8(name)?.into();
                self.all.insert(name, Arc::clone(&shared));
                shared
            }
        };
        if self.recent.len() < Self::RECENT {
            self.recent.push((name, Arc::clone(&shared)));
        }
        Ok(shared)
    }
}
