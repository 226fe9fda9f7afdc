//! An event's id: a UUID, globally unique, the key of idempotent appends.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::InvalidEvent;

/// A globally unique event id (a UUID), the key of idempotent appends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(uuid::Uuid);

impl EventId {
    /// A new random (version 4) id.
    pub fn new_random() -> Self {
        EventId(uuid::Uuid::new_v4())
    }

    /// An id derived from a name, the same every time: used for seed events so that two tabs
    /// seeding the same empty store append the same events once.
    pub fn derived(name: &str) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(name.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        EventId(uuid::Builder::from_custom_bytes(bytes).into_uuid())
    }

    /// Parses the usual hyphenated (or simple) UUID text form.
    pub fn parse(text: &str) -> Result<Self, InvalidEvent> {
        uuid::Uuid::parse_str(text)
            .map(EventId)
            .map_err(|_| InvalidEvent::EventId(text.chars().take(64).collect()))
    }

    /// Writes the hyphenated text form into a buffer, without allocating.
    pub fn encode<'b>(&self, buffer: &'b mut [u8; 45]) -> &'b str {
        self.0.hyphenated().encode_lower(buffer)
    }

    /// The 16 bytes of the UUID.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    /// Builds an id from its 16 bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        EventId(uuid::Uuid::from_bytes(bytes))
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}
