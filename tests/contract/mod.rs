//! The store contract: the append, conflict, idempotency, read and snapshot cases every backend
//! must pass. Each case takes a fresh, empty store; runners exist natively (memory) and in the
//! browser (memory, localStorage, IndexedDB).

#![allow(dead_code)] // Each runner uses the cases it can.

use es_sandbox::event::{EventData, EventId, Metadata, ProposedEvent, StoredEvent};
use es_sandbox::expected::ExpectedVersion::{self, Any, Exact, NoStream, StreamExists};
use es_sandbox::snapshot::Snapshot;
use es_sandbox::store::{EventStore, MAX_BATCH, ReadAll, SnapshotFate, StoreError, VersionRange};
use serde_json::json;

/// An event with a deterministic id `n`.
pub fn event(n: u8, event_type: &str, amount: i64) -> ProposedEvent {
    ProposedEvent {
        event_id: id(n),
        event_type: event_type.into(),
        schema_version: 1,
        data: EventData::from_value(json!({ "amount": amount }))
            .unwrap_or_else(|_| EventData::empty()),
        metadata: Metadata::at(1_700_000_000_000 + i64::from(n)),
    }
}

/// The deterministic id `n`.
pub fn id(n: u8) -> EventId {
    EventId::from_bytes([n; 16])
}

/// What an append case expects.
#[derive(Debug)]
pub enum Expect {
    /// Stored with these (version, position) pairs.
    Stored(Vec<(u64, u64)>),
    /// An idempotent retry returning these original (version, position) pairs.
    AlreadyStored(Vec<(u64, u64)>),
    /// A conflict with these expected and actual versions.
    Conflict(ExpectedVersion, u64),
    /// Some other error, checked by a predicate.
    Error(fn(&StoreError) -> bool),
}

/// One row of the append table: appends that happen first, then the append under test.
pub struct AppendCase {
    pub name: &'static str,
    pub given: Vec<(&'static str, Vec<ProposedEvent>)>,
    pub append: (&'static str, ExpectedVersion, Vec<ProposedEvent>),
    pub expect: Expect,
}

/// The append table.
pub fn append_cases() -> Vec<AppendCase> {
    let two = || {
        vec![(
            "acc-1",
            vec![event(1, "Created", 100), event(2, "Deposited", 5)],
        )]
    };
    let case = |name, given, append, expect| AppendCase {
        name,
        given,
        append,
        expect,
    };
    vec![
        case(
            "any on a new stream",
            vec![],
            ("acc-1", Any, vec![event(1, "Created", 1)]),
            Expect::Stored(vec![(1, 1)]),
        ),
        case(
            "any on an existing stream",
            two(),
            ("acc-1", Any, vec![event(3, "Deposited", 1)]),
            Expect::Stored(vec![(3, 3)]),
        ),
        case(
            "noStream on a new stream",
            vec![],
            ("acc-1", NoStream, vec![event(1, "Created", 1)]),
            Expect::Stored(vec![(1, 1)]),
        ),
        case(
            "noStream on an existing stream",
            two(),
            ("acc-1", NoStream, vec![event(3, "Created", 1)]),
            Expect::Conflict(NoStream, 2),
        ),
        case(
            "exists on a new stream",
            vec![],
            ("acc-1", StreamExists, vec![event(1, "Created", 1)]),
            Expect::Conflict(StreamExists, 0),
        ),
        case(
            "exists on an existing stream",
            two(),
            ("acc-1", StreamExists, vec![event(3, "Deposited", 1)]),
            Expect::Stored(vec![(3, 3)]),
        ),
        case(
            "exact 0 on a new stream",
            vec![],
            ("acc-1", Exact(0), vec![event(1, "Created", 1)]),
            Expect::Stored(vec![(1, 1)]),
        ),
        case(
            "exact head version",
            two(),
            ("acc-1", Exact(2), vec![event(3, "Deposited", 1)]),
            Expect::Stored(vec![(3, 3)]),
        ),
        case(
            "exact behind the head",
            two(),
            ("acc-1", Exact(1), vec![event(3, "Deposited", 1)]),
            Expect::Conflict(Exact(1), 2),
        ),
        case(
            "exact ahead of the head",
            two(),
            ("acc-1", Exact(5), vec![event(3, "Deposited", 1)]),
            Expect::Conflict(Exact(5), 2),
        ),
        case(
            "a batch gets consecutive versions and global positions",
            vec![
                ("acc-1", vec![event(1, "Created", 1)]),
                ("acc-2", vec![event(2, "Created", 1)]),
            ],
            (
                "acc-1",
                Exact(1),
                vec![
                    event(3, "Deposited", 1),
                    event(4, "Deposited", 2),
                    event(5, "Deducted", 3),
                ],
            ),
            Expect::Stored(vec![(2, 3), (3, 4), (4, 5)]),
        ),
        case(
            "an invalid event anywhere rejects the whole batch",
            two(),
            (
                "acc-1",
                Any,
                vec![
                    event(3, "Deposited", 1),
                    event(4, "Deposited", 1),
                    event(5, "not a type", 1),
                ],
            ),
            Expect::Error(|e| matches!(e, StoreError::InvalidEvent { index: 2, .. })),
        ),
        case(
            "an empty batch",
            two(),
            ("acc-1", Any, vec![]),
            Expect::Error(|e| *e == StoreError::EmptyBatch),
        ),
        case(
            "an invalid aggregate id",
            vec![],
            (" acc", Any, vec![event(1, "Created", 1)]),
            Expect::Error(|e| matches!(e, StoreError::InvalidAggregate(_))),
        ),
        case(
            "the same id twice in one batch",
            vec![],
            (
                "acc-1",
                Any,
                vec![event(1, "Created", 1), event(1, "Created", 1)],
            ),
            Expect::Error(|e| *e == StoreError::DuplicateInBatch { event_id: id(1) }),
        ),
        case(
            "re-sending a stored batch returns the originals",
            two(),
            (
                "acc-1",
                Any,
                vec![event(1, "Created", 100), event(2, "Deposited", 5)],
            ),
            Expect::AlreadyStored(vec![(1, 1), (2, 2)]),
        ),
        case(
            "a retry succeeds even when its expected version is now stale",
            two(),
            (
                "acc-1",
                NoStream,
                vec![event(1, "Created", 100), event(2, "Deposited", 5)],
            ),
            Expect::AlreadyStored(vec![(1, 1), (2, 2)]),
        ),
        case(
            "re-sending part of a stored batch returns those originals",
            two(),
            ("acc-1", Any, vec![event(2, "Deposited", 5)]),
            Expect::AlreadyStored(vec![(2, 2)]),
        ),
        case(
            "a stored id with other data is refused, naming the id",
            two(),
            ("acc-1", Any, vec![event(2, "Deposited", 6)]),
            Expect::Error(|e| {
                *e == StoreError::EventIdReused {
                    event_id: id(2),
                    position: 2,
                }
            }),
        ),
        case(
            "a stored id on another aggregate is refused",
            two(),
            ("acc-9", Any, vec![event(1, "Created", 100)]),
            Expect::Error(|e| {
                *e == StoreError::EventIdReused {
                    event_id: id(1),
                    position: 1,
                }
            }),
        ),
        case(
            "a batch mixing stored and new ids is refused, naming the stored id",
            two(),
            (
                "acc-1",
                Any,
                vec![event(2, "Deposited", 5), event(3, "Deposited", 1)],
            ),
            Expect::Error(|e| {
                *e == StoreError::PartlyStored {
                    event_id: id(2),
                    position: 2,
                }
            }),
        ),
    ]
}

/// Runs one append case on a fresh store; returns a description of the failure, if any.
pub async fn run_append_case<S: EventStore>(store: &S, case: AppendCase) -> Result<(), String> {
    let name = case.name;
    for (aggregate, events) in case.given {
        store
            .append(aggregate, Any, events)
            .await
            .map_err(|e| format!("{name}: given append failed: {e}"))?;
    }
    let before = everything(store).await?;
    let (aggregate, expected, events) = case.append;
    let result = store.append(aggregate, expected, events).await;
    let after = everything(store).await?;
    let pairs = |events: &[StoredEvent]| {
        events
            .iter()
            .map(|e| (e.version, e.position))
            .collect::<Vec<_>>()
    };
    match (&case.expect, &result) {
        (Expect::Stored(want), Ok(outcome)) if !outcome.already_stored => {
            check(name, "stored", pairs(&outcome.events) == *want, &result)?;
            check(
                name,
                "log grew by the batch",
                after.len() == before.len() + want.len(),
                &result,
            )?;
            check(
                name,
                "stored events read back",
                after.ends_with(&outcome.events),
                &result,
            )
        }
        (Expect::AlreadyStored(want), Ok(outcome)) if outcome.already_stored => {
            check(name, "originals", pairs(&outcome.events) == *want, &result)?;
            check(name, "nothing written", after == before, &result)
        }
        (
            Expect::Conflict(want_expected, want_actual),
            Err(StoreError::Conflict {
                aggregate_id,
                expected,
                actual,
            }),
        ) => {
            check(
                name,
                "conflict names the aggregate",
                aggregate_id == aggregate,
                &result,
            )?;
            check(
                name,
                "expected and actual",
                expected == want_expected && actual == want_actual,
                &result,
            )?;
            check(name, "nothing written", after == before, &result)
        }
        (Expect::Error(predicate), Err(error)) => {
            check(name, "error", predicate(error), &result)?;
            check(name, "nothing written", after == before, &result)
        }
        _ => Err(format!(
            "{name}: expected {:?}, got {result:?}",
            case.expect
        )),
    }
}

fn check<T: std::fmt::Debug>(name: &str, what: &str, ok: bool, result: &T) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("{name}: {what} check failed; result {result:?}"))
    }
}

async fn everything<S: EventStore>(store: &S) -> Result<Vec<StoredEvent>, String> {
    store
        .read_all(&ReadAll::from_position(1, usize::MAX))
        .await
        .map_err(|e| format!("read_all failed: {e}"))
}

/// Reads: one aggregate by version range, everything from a position with a limit, by type.
pub async fn reads<S: EventStore>(store: &S) -> Result<(), String> {
    let err = |e: StoreError| e.to_string();
    store
        .append(
            "acc-1",
            Any,
            vec![event(1, "Created", 100), event(2, "Deposited", 5)],
        )
        .await
        .map_err(err)?;
    store
        .append("acc-2", Any, vec![event(3, "Created", 7)])
        .await
        .map_err(err)?;
    store
        .append(
            "acc-1",
            Exact(2),
            vec![event(4, "Deducted", 1), event(5, "Deposited", 9)],
        )
        .await
        .map_err(err)?;

    let versions = |events: Vec<StoredEvent>| events.iter().map(|e| e.version).collect::<Vec<_>>();
    let positions =
        |events: Vec<StoredEvent>| events.iter().map(|e| e.position).collect::<Vec<_>>();
    let table: Vec<(&str, VersionRange, Vec<u64>)> = vec![
        ("all", VersionRange::ALL, vec![1, 2, 3, 4]),
        ("from 3", VersionRange::from(3), vec![3, 4]),
        ("up to 2", VersionRange::up_to(2), vec![1, 2]),
        (
            "2 to 3",
            VersionRange {
                from: 2,
                to: Some(3),
            },
            vec![2, 3],
        ),
        ("past the end", VersionRange::from(9), vec![]),
        (
            "empty range",
            VersionRange {
                from: 3,
                to: Some(2),
            },
            vec![],
        ),
    ];
    for (what, range, want) in table {
        let got = versions(store.read_stream("acc-1", range).await.map_err(err)?);
        if got != want {
            return Err(format!(
                "read_stream {what}: expected {want:?}, got {got:?}"
            ));
        }
    }
    if !store
        .read_stream("nobody", VersionRange::ALL)
        .await
        .map_err(err)?
        .is_empty()
    {
        return Err("an unknown aggregate has events".into());
    }
    let all = positions(
        store
            .read_all(&ReadAll::from_position(2, 2))
            .await
            .map_err(err)?,
    );
    if all != vec![2, 3] {
        return Err(format!("read_all from 2 limit 2: got {all:?}"));
    }
    let typed = positions(
        store
            .read_all(&ReadAll::from_position(1, 10).of_types(&["Created"]))
            .await
            .map_err(err)?,
    );
    if typed != vec![1, 3] {
        return Err(format!("read_all of Created: got {typed:?}"));
    }
    let paged = positions(
        store
            .read_all(&ReadAll {
                aggregate_id: Some("acc-1".into()),
                skip: 1,
                ..ReadAll::from_position(1, 2)
            })
            .await
            .map_err(err)?,
    );
    if paged != vec![2, 4] {
        return Err(format!(
            "read_all of acc-1, skipping 1, limit 2: got {paged:?}"
        ));
    }
    let counts = (
        store
            .count(&ReadAll {
                aggregate_id: Some("acc-1".into()),
                ..ReadAll::from_position(1, 1)
            })
            .await
            .map_err(err)?,
        store
            .count(&ReadAll::from_position(1, 1).of_types(&["Created"]))
            .await
            .map_err(err)?,
        store
            .count(&ReadAll::from_position(3, 1))
            .await
            .map_err(err)?,
    );
    if counts != (4, 2, 3) {
        return Err(format!("counts (acc-1, Created, from 3): got {counts:?}"));
    }
    let versions_now = (
        store.stream_version("acc-1").await.map_err(err)?,
        store.stream_version("nobody").await.map_err(err)?,
    );
    if versions_now != (4, 0) || store.head_position().await.map_err(err)? != 5 {
        return Err(format!("versions {versions_now:?}"));
    }
    let streams = store.streams().await.map_err(err)?;
    let summary: Vec<(String, u64)> = streams
        .into_iter()
        .map(|s| (s.aggregate_id, s.version))
        .collect();
    if summary != vec![("acc-1".to_string(), 4), ("acc-2".to_string(), 1)] {
        return Err(format!("streams: {summary:?}"));
    }
    Ok(())
}

/// Snapshots are kept per aggregate, sorted by version, and replaced at the same version; the
/// newest at or below a version is found.
pub async fn snapshots<S: EventStore>(store: &S) -> Result<(), String> {
    let err = |e: StoreError| e.to_string();
    let snap = |version: u64, balance: i64| {
        Snapshot::new(
            "acc-1",
            version,
            id(version as u8),
            json!({ "balance": balance }),
            "h1",
        )
    };
    store.save_snapshot(snap(20, 2)).await.map_err(err)?;
    store.save_snapshot(snap(10, 1)).await.map_err(err)?;
    store.save_snapshot(snap(20, 3)).await.map_err(err)?;
    let got = store.snapshots("acc-1").await.map_err(err)?;
    if got != vec![snap(10, 1), snap(20, 3)] {
        return Err(format!("snapshots: {got:?}"));
    }
    if !store.snapshots("acc-2").await.map_err(err)?.is_empty() {
        return Err("acc-2 has snapshots".into());
    }
    // The newest at or below a version, as replays and automatic snapshots ask.
    let newest = [
        ("acc-1", u64::MAX, Some(snap(20, 3))),
        ("acc-1", 20, Some(snap(20, 3))),
        ("acc-1", 19, Some(snap(10, 1))),
        ("acc-1", 10, Some(snap(10, 1))),
        ("acc-1", 9, None),
        ("acc-1", 0, None),
        ("acc-2", u64::MAX, None),
    ];
    for (aggregate_id, at_most, expected) in newest {
        let got = store
            .newest_snapshot(aggregate_id, at_most)
            .await
            .map_err(err)?;
        if got != expected {
            return Err(format!(
                "newest snapshot of {aggregate_id} at most {at_most}: {got:?}, expected {expected:?}"
            ));
        }
    }
    Ok(())
}

/// A snapshot handed over with an append is stored exactly when the batch's last event lands
/// where it was taken (version, event id and log position); the events are stored either way.
pub async fn snapshots_with_appends<S: EventStore>(store: &S) -> Result<(), String> {
    let err = |e: StoreError| e.to_string();
    let at = |version: u64, n: u8| {
        Snapshot::new("acc-1", version, id(n), json!({ "balance": version }), "h1")
    };
    let append = |events, snapshot, last_position| {
        store.append_with_snapshot("acc-1", Any, events, (snapshot, last_position))
    };

    // Given an empty store, when two events come with a snapshot at the second, then both are.
    let two = vec![event(1, "Created", 100), event(2, "Deposited", 5)];
    let (outcome, fate) = append(two.clone(), at(2, 2), 2).await.map_err(err)?;
    if fate != SnapshotFate::Saved || outcome.events.len() != 2 {
        return Err(format!("landing where taken: {fate:?}, {outcome:?}"));
    }
    // When the batch lands elsewhere in the log than the snapshot says: events only.
    let (outcome, fate) = append(vec![event(3, "Deposited", 1)], at(3, 3), 9)
        .await
        .map_err(err)?;
    if fate != SnapshotFate::NotPlaced || outcome.last_position() != 3 {
        return Err(format!(
            "landing at another position: {fate:?}, {outcome:?}"
        ));
    }
    // When the snapshot names another event, or the batch was already stored: events only.
    let (_, fate) = append(vec![event(4, "Deposited", 1)], at(4, 9), 4)
        .await
        .map_err(err)?;
    if fate != SnapshotFate::NotPlaced {
        return Err(format!("another event at its version: {fate:?}"));
    }
    let (outcome, fate) = append(two, at(2, 2), 2).await.map_err(err)?;
    if fate != SnapshotFate::NotPlaced || !outcome.already_stored {
        return Err(format!("a retry: {fate:?}, {outcome:?}"));
    }
    let stored = store.snapshots("acc-1").await.map_err(err)?;
    if stored != vec![at(2, 2)] {
        return Err(format!("snapshots stored: {stored:?}"));
    }
    let head = store.head_position().await.map_err(err)?;
    if head != 4 {
        return Err(format!("events stored up to {head}, not 4"));
    }
    Ok(())
}

/// A batch of the largest allowed size is stored; one more is refused.
pub async fn batch_limits<S: EventStore>(store: &S) -> Result<(), String> {
    let batch = |len: usize, offset: u64| -> Vec<ProposedEvent> {
        (0..len as u64)
            .map(|n| ProposedEvent {
                event_id: EventId::derived(&format!("limit/{}", n + offset)),
                ..event(0, "Deposited", 1)
            })
            .collect()
    };
    match store.append("acc-1", Any, batch(MAX_BATCH + 1, 0)).await {
        Err(StoreError::BatchTooLarge { len, max }) if len == MAX_BATCH + 1 && max == MAX_BATCH => {
        }
        other => return Err(format!("oversized batch: {other:?}")),
    }
    let stored = store
        .append("acc-1", Any, batch(MAX_BATCH, 0))
        .await
        .map_err(|e| e.to_string())?;
    if stored.last_version() != MAX_BATCH as u64 {
        return Err(format!("full batch stored up to {}", stored.last_version()));
    }
    Ok(())
}
