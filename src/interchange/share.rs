//! Share links: a scenario (rules included) and its events, compressed into a URL fragment
//! (`#share=…`), as the TypeScript playground shares code. Deflate, then base64url. The
//! fragment never reaches a server, so only the browser's own URL limit applies: Chromium takes
//! URLs up to 2 MB, which [`MAX_LINK_CHARS`] keeps under; bigger logs go in a file.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::problems::{ImportError, text};
use super::{Exchange, MAX_IMPORT_BYTES, header_of, ndjson};
use crate::domain::Domain;
use crate::event::StoredEvent;
use crate::scenario::Scenario;

/// Longest share link data this sandbox writes or reads, in characters (Chromium's URL limit is
/// 2 MB, the whole URL included).
pub const MAX_LINK_CHARS: usize = 2_000_000;
/// The payload's `format` value.
const FORMAT: &str = "es-sandbox/share";

/// What a share link holds.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedScenario {
    /// The scenario, rules included.
    pub scenario: Scenario,
    /// Its events, read and checked as an NDJSON file is.
    pub exchange: Exchange,
}

/// The link data (what follows `#share=`) for a scenario and its events, or `None` if it would
/// be longer than [`MAX_LINK_CHARS`].
pub fn share_link(domain: &Domain, events: &[StoredEvent]) -> Option<String> {
    let payload = json!({
        "format": FORMAT,
        // Through its text: `to_json` is already compiled in; `to_value` would add its own serialiser.
        "scenario": serde_json::from_str::<Value>(&domain.scenario().to_json()).ok()?,
        "events": ndjson::write(&header_of(domain), events),
    });
    pack_link(&payload)
}

/// Any JSON as link data: deflated, then base64url; `None` past [`MAX_LINK_CHARS`].
pub fn pack_link(payload: &Value) -> Option<String> {
    let compressed = miniz_oxide::deflate::compress_to_vec(payload.to_string().as_bytes(), 9);
    let link = URL_SAFE_NO_PAD.encode(compressed);
    (link.len() <= MAX_LINK_CHARS).then_some(link)
}

/// Reads link data (with or without a leading `#share=`): never runs anything from it; every
/// refusal says what is wrong with the link.
pub fn read_share_link(link: &str) -> Result<SharedScenario, ImportError> {
    let data = link.trim();
    let data = data.strip_prefix('#').unwrap_or(data);
    let data = data.strip_prefix("share=").unwrap_or(data);
    let payload = unpack_link(data, "link")?;
    if payload.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(ImportError::at(
            "link",
            "it is not an es-sandbox share link",
        ));
    }
    let scenario = payload
        .get("scenario")
        .map(|s| Scenario::from_json(&s.to_string()))
        .ok_or_else(|| ImportError::at("link", "it holds no scenario"))?
        .map_err(|e| ImportError::at("link scenario", e.to_string()))?;
    let events = payload
        .get("events")
        .and_then(Value::as_str)
        .ok_or_else(|| ImportError::at("link", "it holds no events"))?;
    let exchange = ndjson::read(events)?;
    Ok(SharedScenario { scenario, exchange })
}

/// Reads link data that [`pack_link`] wrote back into JSON; every refusal names `what` and says
/// what is wrong with it.
pub fn unpack_link(data: &str, what: &str) -> Result<Value, ImportError> {
    if data.len() > MAX_LINK_CHARS {
        return Err(ImportError::at(
            what,
            format!(
                "it is {} characters, more than the {MAX_LINK_CHARS} a link may hold",
                data.len()
            ),
        ));
    }
    let compressed = URL_SAFE_NO_PAD
        .decode(data.trim_end_matches('='))
        .map_err(|e| {
            ImportError::at(
                what,
                format!(
                    "it was cut short or damaged (not base64url: {e}); copy the whole link again"
                ),
            )
        })?;
    let bytes = miniz_oxide::inflate::decompress_to_vec_with_limit(&compressed, MAX_IMPORT_BYTES)
        .map_err(|e| {
        let why = match e.status {
            miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
                "it unpacks to more than the 64 MB a link may hold".to_string()
            }
            _ => "it was cut short or damaged; copy the whole link again".to_string(),
        };
        ImportError::at(what, why)
    })?;
    let payload: Value = serde_json::from_str(text(&bytes)?)
        .map_err(|e| ImportError::at(what, format!("its content is not JSON: {e}")))?;
    Ok(payload)
}
