//! The in-memory log's own rules for events read back or written: a batch that does not continue
//! the log (a position, a version or an id out of place, anywhere in it) adds nothing and leaves
//! every index as it was; and a group of appends decided at once sees its earlier batches.
#![cfg(not(target_arch = "wasm32"))]

use es_sandbox::event::{EventData, EventId, Metadata, ProposedEvent, StoredEvent};
use es_sandbox::expected::ExpectedVersion;
use es_sandbox::store::{EventLog, Origin, Prepared, StoreError};

fn event(position: u64, aggregate: &str, version: u64, id: &str) -> StoredEvent {
    StoredEvent {
        position,
        event_id: EventId::derived(id),
        aggregate_id: aggregate.into(),
        version,
        event_type: "Deposited".into(),
        schema_version: 1,
        data: EventData::empty(),
        metadata: Metadata {
            timestamp: 0,
            correlation_id: None,
            causation_id: None,
        },
    }
}

/// A log of three events: acc-1 at versions 1 and 2, acc-2 at version 1.
fn log_of_three() -> EventLog {
    let mut log = EventLog::new();
    let events = vec![
        event(1, "acc-1", 1, "a"),
        event(2, "acc-2", 1, "b"),
        event(3, "acc-1", 2, "c"),
    ];
    assert_eq!(log.extend(events, Origin::Local), Ok(()));
    log
}

/// The versions of acc-1, acc-2 and acc-3.
fn versions(log: &EventLog) -> [u64; 3] {
    ["acc-1", "acc-2", "acc-3"].map(|aggregate| log.stream_version(aggregate))
}

/// The batch's events after the log's three, each valid.
fn valid_batch() -> Vec<StoredEvent> {
    vec![
        event(4, "acc-2", 2, "d"),
        event(5, "acc-3", 1, "e"),
        event(6, "acc-1", 3, "f"),
    ]
}

#[test]
fn a_batch_that_does_not_continue_the_log_adds_nothing() {
    // (what is wrong, the batch, the position named, words of the reason)
    let cases: Vec<(&str, Vec<StoredEvent>, u64, &str)> = vec![
        (
            "a gap before the first",
            vec![event(5, "acc-2", 2, "d")],
            5,
            "expected position 4",
        ),
        (
            "a gap in the middle",
            vec![event(4, "acc-2", 2, "d"), event(6, "acc-3", 1, "e")],
            6,
            "expected position 5",
        ),
        (
            "a version skipped at the end",
            vec![
                event(4, "acc-2", 2, "d"),
                event(5, "acc-3", 1, "e"),
                event(6, "acc-1", 4, "f"),
            ],
            6,
            "acc-1 is at version 2",
        ),
        (
            "a version the batch itself already used",
            vec![event(4, "acc-3", 1, "d"), event(5, "acc-3", 1, "e")],
            5,
            "acc-3 is at version 1",
        ),
        (
            "an id the log holds",
            vec![event(4, "acc-2", 2, "d"), event(5, "acc-3", 1, "b")],
            5,
            "stored twice",
        ),
        (
            "an id repeated within the batch",
            vec![
                event(4, "acc-2", 2, "d"),
                event(5, "acc-3", 1, "e"),
                event(6, "acc-1", 3, "d"),
            ],
            6,
            "stored twice",
        ),
        // Runs of one aggregate's events, as batches and segments mostly are, each indexed
        // as a whole: the refusal may come inside a run, or in a run after a valid one.
        (
            "a version skipped inside a run",
            vec![
                event(4, "acc-3", 1, "d"),
                event(5, "acc-3", 2, "e"),
                event(6, "acc-3", 4, "f"),
            ],
            6,
            "acc-3 is at version 2",
        ),
        (
            "a gap in the run after a valid run",
            vec![
                event(4, "acc-2", 2, "d"),
                event(5, "acc-2", 3, "e"),
                event(7, "acc-3", 1, "f"),
                event(8, "acc-3", 2, "g"),
            ],
            7,
            "expected position 6",
        ),
        (
            "an id of the log inside a run",
            vec![
                event(4, "acc-1", 3, "d"),
                event(5, "acc-1", 4, "a"),
                event(6, "acc-1", 5, "e"),
            ],
            5,
            "stored twice",
        ),
    ];
    for (what, batch, position, reason) in cases {
        let mut log = log_of_three();
        let ids: Vec<EventId> = batch.iter().map(|e| e.event_id).collect();
        let refused = log.extend(batch, Origin::Remote).expect_err(what);
        assert_eq!(refused.position, position, "{what}");
        assert!(
            refused.reason.contains(reason),
            "{what}: {}",
            refused.reason
        );

        // Nothing of the batch stayed, and the log's own events are where they were.
        assert_eq!(log.head_position(), 3, "{what}");
        assert_eq!(versions(&log), [2, 1, 0], "{what}");
        let streams: Vec<String> = log.streams().into_iter().map(|s| s.aggregate_id).collect();
        assert_eq!(streams.len(), 2, "{what}: {streams:?}");
        for id in ids
            .iter()
            .filter(|id| !["a", "b", "c"].map(EventId::derived).contains(id))
        {
            assert_eq!(log.by_id(id), None, "{what}: {id}");
        }
        for (position, id) in [(1, "a"), (2, "b"), (3, "c")] {
            let found = log.by_id(&EventId::derived(id)).map(|e| e.position);
            assert_eq!(found, Some(position), "{what}: {id}");
        }

        // The indexes were left whole: the valid batch goes in after the refused one.
        assert_eq!(log.extend(valid_batch(), Origin::Remote), Ok(()), "{what}");
        assert_eq!(log.head_position(), 6, "{what}");
        assert_eq!(log.stream_version("acc-1"), 3, "{what}");
        assert_eq!(
            log.by_id(&EventId::derived("e")).map(|e| e.position),
            Some(5)
        );
    }
}

#[test]
fn a_batch_that_continues_the_log_is_indexed_whole() {
    let mut log = log_of_three();
    assert_eq!(log.extend(valid_batch(), Origin::Remote), Ok(()));
    for (position, id) in [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e"), (6, "f")] {
        let found = log
            .by_id(&EventId::derived(id))
            .map(|e| (e.position, e.event_id));
        assert_eq!(found, Some((position, EventId::derived(id))));
        assert_eq!(
            log.get(position).map(|e| e.event_id),
            Some(EventId::derived(id))
        );
    }
    assert_eq!(versions(&log), [3, 2, 1]);
}

fn proposed(id: &str) -> ProposedEvent {
    ProposedEvent {
        event_id: EventId::derived(id),
        event_type: "Deposited".into(),
        schema_version: 1,
        data: EventData::empty(),
        metadata: Metadata {
            timestamp: 0,
            correlation_id: None,
            causation_id: None,
        },
    }
}

/// A group of appends committed in one write is decided as if each earlier batch were stored:
/// a later batch sees the ids and versions the earlier ones staged.
#[test]
fn a_group_s_later_batches_see_what_the_earlier_ones_staged() {
    let log = log_of_three();
    let group = |batches: Vec<(&str, ExpectedVersion, Vec<&str>)>| {
        log.prepare_group(batches.into_iter().map(|(aggregate, expected, ids)| {
            let events = ids.into_iter().map(proposed).collect();
            (aggregate.to_string(), expected, events)
        }))
    };

    // The same event sent twice in one group (a retry that caught up with its first send):
    // stored once, the second send answered with the first's event.
    let decided = group(vec![
        ("acc-1", ExpectedVersion::Any, vec!["x"]),
        ("acc-1", ExpectedVersion::Any, vec!["x"]),
        ("acc-2", ExpectedVersion::Exact(1), vec!["y"]),
    ]);
    let placed = |decision: &Result<Prepared, StoreError>| match decision {
        Ok(Prepared::New(events)) => Some(("new", events.iter().map(|e| e.position).collect())),
        Ok(Prepared::AlreadyStored(outcome)) => Some((
            "stored",
            outcome
                .events
                .iter()
                .map(|e| e.position)
                .collect::<Vec<_>>(),
        )),
        Err(_) => None,
    };
    let decided: Vec<_> = decided.iter().map(placed).collect();
    assert_eq!(
        decided,
        [
            Some(("new", vec![4])),
            Some(("stored", vec![4])),
            Some(("new", vec![5]))
        ]
    );

    // An id an earlier batch staged, sent again by another aggregate: refused, naming where the
    // first one goes.
    let decided = group(vec![
        ("acc-1", ExpectedVersion::Any, vec!["x"]),
        ("acc-2", ExpectedVersion::Any, vec!["x"]),
    ]);
    assert!(
        matches!(
            decided.get(1),
            Some(Err(StoreError::EventIdReused { position: 4, .. }))
        ),
        "{decided:?}"
    );
}
