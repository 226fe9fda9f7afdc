//! The layout of a store's IndexedDB database: its name, its object stores and the keys in
//! `meta`.
//!
//! - `segments`: key = position of the segment's first event (a number); value = the segment in
//!   the binary encoding (a `Uint8Array`).
//! - `meta`: key `head` = the commit record, `{"position": …, "eventId": …}` as JSON text
//!   (a store from before it existed gets the object store in an upgrade, and the record with
//!   its next append).
//! - `meta`: key `scenario` = the scenario document the store's events are written under.
//! - `meta`: key `incarnation` = an id given to the database when it was created; the witness
//!   outside IndexedDB (`witness`) names it, so that a database deleted and made anew behind
//!   the store's back is noticed.
//! - `snapshots`: key = `[aggregateId, version]`; value = the snapshot as JSON text.

/// The object store of segments.
pub const SEGMENTS: &str = "segments";
/// The object store of snapshots.
pub const SNAPSHOTS: &str = "snapshots";
/// The object store of the commit record, the scenario and the incarnation id.
pub const META: &str = "meta";
/// Every object store of the database.
pub const STORES: &[&str] = &[SEGMENTS, SNAPSHOTS, META];
/// The key in `meta` of the scenario document the store's events are written under.
pub const SCENARIO: &str = "scenario";
/// The key in `meta` of the database's incarnation id.
pub const INCARNATION: &str = "incarnation";

/// The database name of a store.
pub fn database_name(store: &str) -> String {
    format!("es-sandbox/{store}")
}
