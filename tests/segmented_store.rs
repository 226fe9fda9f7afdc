//! The segmented store over a fake backend shared by two "tabs": the store contract, optimistic
//! concurrency between tabs, group commit, failed writes and corrupt records.
#![cfg(not(target_arch = "wasm32"))]

mod contract;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use contract::event;
use es_sandbox::event::ProposedEvent;
use es_sandbox::expected::ExpectedVersion::{Any, Exact};
use es_sandbox::snapshot::Snapshot;
use es_sandbox::store::{
    self, CommitRecord, CommitStyle, EventStore, Head, LogRead, Origin, RawSegment, ReadAll,
    SegmentCodec, SegmentIo, SegmentedStore, StoreError, WriteError,
};
use futures::executor::block_on;
use futures::future::join_all;

/// What the fake storage holds, shared by every store opened on it.
#[derive(Default)]
struct Disk {
    segments: BTreeMap<u64, Vec<u8>>,
    record: CommitRecord,
    snapshots: Vec<Snapshot>,
    writes: usize,
    /// The next write fails with this error.
    fail_next: Option<StoreError>,
    /// What another writer stores just before the next write lands: its segments and record.
    rival_next: Option<(Vec<RawSegment>, Head)>,
    /// Segments written but not yet visible to readers, with how many more reads they stay
    /// hidden: localStorage's lag between tabs.
    delayed: Vec<(RawSegment, usize)>,
    /// How many times a reader paused to wait for other tabs.
    pauses: usize,
    /// How many times long work gave the thread back.
    breaths: usize,
    /// The scenario document recorded with the store.
    scenario: Option<String>,
    /// How many snapshots were written on their own (not with an append's write).
    snapshot_writes: usize,
}

#[derive(Clone)]
struct FakeIo {
    disk: Rc<RefCell<Disk>>,
    codec: SegmentCodec,
    style: CommitStyle,
}

/// A future that is pending once, so other tasks run while a write is in flight.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

impl SegmentIo for FakeIo {
    fn codec(&self) -> SegmentCodec {
        self.codec
    }

    fn describe(&self) -> String {
        "fake disk".into()
    }

    fn commit_style(&self) -> CommitStyle {
        self.style
    }

    async fn read_log(&self, from: u64) -> Result<LogRead, StoreError> {
        let mut disk = self.disk.borrow_mut();
        let mut visible = Vec::new();
        for (segment, reads) in std::mem::take(&mut disk.delayed) {
            if reads == 0 {
                visible.push(segment);
            } else {
                disk.delayed.push((segment, reads - 1));
            }
        }
        disk.segments.extend(visible);
        let hidden: Vec<u64> = disk.delayed.iter().map(|((key, _), _)| *key).collect();
        Ok(LogRead {
            record: disk.record.clone(),
            segments: disk
                .segments
                .range(from..)
                .filter(|(key, _)| !hidden.contains(key))
                .map(|(k, v)| (*k, Ok(v.clone())))
                .collect(),
        })
    }

    async fn write(
        &self,
        expected: Option<Head>,
        segments: Vec<RawSegment>,
        head: Head,
        snapshots: &[Snapshot],
    ) -> Result<(), WriteError> {
        YieldOnce(false).await;
        let mut disk = self.disk.borrow_mut();
        if let Some((rival, rival_head)) = disk.rival_next.take() {
            disk.segments.extend(rival);
            disk.record = CommitRecord::At(rival_head);
        }
        if let Some(error) = disk.fail_next.take() {
            return Err(WriteError::Failed(error));
        }
        if disk.record.head() != expected {
            return Err(WriteError::Taken);
        }
        disk.writes += 1;
        disk.segments.extend(segments);
        disk.record = CommitRecord::At(head);
        for snapshot in snapshots {
            replace_snapshot(&mut disk.snapshots, snapshot);
        }
        Ok(())
    }

    async fn truncate(
        &self,
        expected: &CommitRecord,
        keep: Option<Head>,
    ) -> Result<(), WriteError> {
        let mut disk = self.disk.borrow_mut();
        if disk.record != *expected {
            return Err(WriteError::Taken);
        }
        let cut = keep.map_or(0, |h| h.position);
        disk.segments.retain(|key, _| *key <= cut);
        disk.record = keep.map_or(CommitRecord::Missing, CommitRecord::At);
        Ok(())
    }

    async fn pause(&self) {
        self.disk.borrow_mut().pauses += 1;
    }

    async fn breathe(&self) {
        self.disk.borrow_mut().breaths += 1;
        YieldOnce(false).await;
    }

    async fn read_snapshots(&self) -> Result<Vec<Snapshot>, StoreError> {
        Ok(self.disk.borrow().snapshots.clone())
    }

    async fn read_scenario(&self) -> Result<Option<String>, StoreError> {
        Ok(self.disk.borrow().scenario.clone())
    }

    async fn write_scenario(&self, document: &str) -> Result<(), StoreError> {
        self.disk.borrow_mut().scenario = Some(document.to_string());
        Ok(())
    }

    async fn write_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let mut disk = self.disk.borrow_mut();
        disk.snapshot_writes += 1;
        replace_snapshot(&mut disk.snapshots, snapshot);
        Ok(())
    }
}

/// Stores a snapshot on the fake disk, replacing one of the same aggregate and version.
fn replace_snapshot(snapshots: &mut Vec<Snapshot>, snapshot: &Snapshot) {
    snapshots
        .retain(|s| (&s.aggregate_id, s.version) != (&snapshot.aggregate_id, snapshot.version));
    snapshots.push(snapshot.clone());
}

fn disk() -> FakeIo {
    FakeIo {
        disk: Rc::default(),
        codec: SegmentCodec::Binary,
        style: CommitStyle::Atomic,
    }
}

/// A disk like localStorage's: JSON segments, the commit record written after them.
fn record_last_disk() -> FakeIo {
    FakeIo {
        codec: SegmentCodec::Json,
        style: CommitStyle::RecordLast,
        ..disk()
    }
}

fn open(io: &FakeIo) -> SegmentedStore<FakeIo> {
    block_on(SegmentedStore::open(io.clone())).unwrap_or_else(|e| panic!("{e}"))
}

fn positions_and_ids(
    store: &SegmentedStore<FakeIo>,
) -> Vec<(u64, u64, es_sandbox::event::EventId)> {
    block_on(store.read_all(&ReadAll::from_position(1, usize::MAX)))
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|e| (e.position, e.version, e.event_id))
        .collect()
}

#[test]
fn the_store_contract_holds_for_both_encodings() {
    for codec in [SegmentCodec::Binary, SegmentCodec::Json] {
        let fresh = || FakeIo { codec, ..disk() };
        let mut failures = Vec::new();
        for case in contract::append_cases() {
            if let Err(failure) = block_on(contract::run_append_case(&open(&fresh()), case)) {
                failures.push(failure);
            }
        }
        assert!(failures.is_empty(), "{codec:?}:\n{}", failures.join("\n"));
        assert_eq!(block_on(contract::reads(&open(&fresh()))), Ok(()));
        assert_eq!(block_on(contract::snapshots(&open(&fresh()))), Ok(()));
        assert_eq!(
            block_on(contract::snapshots_with_appends(&open(&fresh()))),
            Ok(())
        );
    }
    assert_eq!(
        block_on(contract::snapshots_with_appends(&open(&record_last_disk()))),
        Ok(())
    );
}

/// The bank's sandbox over a fake disk, taking a snapshot every 3 events.
fn bank_every_3(io: &FakeIo) -> es_sandbox::Sandbox<SegmentedStore<FakeIo>> {
    let scenario = es_sandbox::shipped("bank").unwrap_or_else(|e| panic!("{e}"));
    let sandbox =
        block_on(es_sandbox::Sandbox::open(open(io), scenario)).unwrap_or_else(|e| panic!("{e}"));
    sandbox
        .write()
        .set_snapshot_interval(3)
        .unwrap_or_else(|e| panic!("{e}"));
    sandbox
}

/// Opening an account and two deposits: three events, as a caller appends them.
fn three_events() -> Vec<es_sandbox::write_side::NewEvent> {
    let data = |json: serde_json::Value| {
        es_sandbox::EventData::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    };
    vec![
        es_sandbox::write_side::NewEvent::new("Created", data(serde_json::json!({"balance": 0}))),
        es_sandbox::write_side::NewEvent::new("Deposited", data(serde_json::json!({"amount": 30}))),
        es_sandbox::write_side::NewEvent::new("Deposited", data(serde_json::json!({"amount": 12}))),
    ]
}

/// (writes with events, snapshots written on their own, snapshots on disk as (version, state)).
fn writes_and_snapshots(io: &FakeIo) -> (usize, usize, Vec<(u64, serde_json::Value)>) {
    let disk = io.disk.borrow();
    let snapshots = disk
        .snapshots
        .iter()
        .map(|s| (s.version, s.state.clone()))
        .collect();
    (disk.writes, disk.snapshot_writes, snapshots)
}

#[test]
fn an_append_that_reaches_a_snapshot_writes_it_with_its_events_where_writes_are_atomic() {
    // Given a store whose writes are one transaction, and one whose record is written last.
    for (io, alone) in [(disk(), 0), (record_last_disk(), 1)] {
        let sandbox = bank_every_3(&io);
        let (writes, _, _) = writes_and_snapshots(&io);
        // When three events are appended: a snapshot is due at version 3.
        let committed = block_on(sandbox.write().append("acc-1", Any, three_events(), 0))
            .unwrap_or_else(|e| panic!("{e}"));
        // Then it is taken, in the events' write where that is one transaction.
        assert_eq!(committed.snapshot_taken, Some(3), "{:?}", io.style);
        assert_eq!(
            writes_and_snapshots(&io),
            (
                writes + 1,
                alone,
                vec![(3, serde_json::json!({"balance": 42, "open": true}))]
            ),
            "{:?}",
            io.style
        );
        assert_eq!(
            block_on(open(&io).snapshots("acc-1")).unwrap_or_default(),
            block_on(sandbox.store().snapshots("acc-1")).unwrap_or_default()
        );
    }
}

#[test]
fn a_snapshot_planned_where_another_tab_then_appended_is_taken_after_the_write() {
    let io = disk();
    let sandbox = bank_every_3(&io);
    let seeded = block_on(sandbox.store().head_position()).unwrap_or_default();
    // Given another tab that appended to another account since this one last read.
    block_on(open(&io).append("acc-2", Any, vec![event(9, "Created", 0)]))
        .unwrap_or_else(|e| panic!("{e}"));
    let (writes, _, _) = writes_and_snapshots(&io);
    // When three events are appended here, folded as if they landed right after the seed.
    let committed = block_on(sandbox.write().append("acc-1", Any, three_events(), 0))
        .unwrap_or_else(|e| panic!("{e}"));
    // Then they land one further, the planned snapshot is not written with them, and the
    // snapshot of the state they really made is taken on its own after the write.
    assert_eq!(
        committed.events.last().map(|e| e.position),
        Some(seeded + 4)
    );
    assert_eq!(committed.snapshot_taken, Some(3));
    assert_eq!(
        writes_and_snapshots(&io),
        (
            writes + 1,
            1,
            vec![(3, serde_json::json!({"balance": 42, "open": true}))]
        )
    );
}

#[test]
fn a_reopened_store_reads_everything_back() {
    let io = disk();
    let first = open(&io);
    block_on(contract::reads(&first)).unwrap_or_else(|e| panic!("{e}"));
    let again = open(&io);
    assert_eq!(positions_and_ids(&again), positions_and_ids(&first));
}

#[test]
fn a_large_log_opens_in_slices_breathing_between_and_reads_back_whole() {
    let io = disk();
    let first = open(&io);
    for batch in 0..5 {
        let events = (0..10_000)
            .map(|n| ProposedEvent {
                event_id: es_sandbox::event::EventId::new_random(),
                ..event(1, "Deposited", batch * 10_000 + n)
            })
            .collect();
        block_on(first.append("acc-1", Any, events)).unwrap_or_else(|e| panic!("{e}"));
    }
    io.disk.borrow_mut().breaths = 0;

    let again = open(&io);

    assert_eq!(positions_and_ids(&again), positions_and_ids(&first));
    // One breath before each of the 5 segments: each is decoded and indexed in a turn of its own.
    let breaths = io.disk.borrow().breaths;
    assert!(
        breaths >= 5,
        "{breaths} breaths while opening 50,000 events"
    );
}

#[test]
fn two_tabs_at_version_5_exactly_one_append_wins() {
    let io = disk();
    let tab_a = open(&io);
    let tab_b = open(&io);
    let five: Vec<ProposedEvent> = (1..=5).map(|n| event(n, "Deposited", 1)).collect();
    block_on(tab_a.append("acc-1", Any, five)).unwrap_or_else(|e| panic!("{e}"));
    block_on(tab_b.refresh()).unwrap_or_else(|e| panic!("{e}"));

    let a = block_on(tab_a.append("acc-1", Exact(5), vec![event(10, "Deposited", 1)]));
    let b = block_on(tab_b.append("acc-1", Exact(5), vec![event(11, "Deposited", 1)]));
    assert_eq!(a.map(|o| o.last_version()), Ok(6));
    match b {
        Err(StoreError::Conflict {
            expected, actual, ..
        }) => {
            assert_eq!((expected, actual), (Exact(5), 6));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Tab B caught up while deciding: both tabs see the same six events.
    assert_eq!(positions_and_ids(&tab_b), positions_and_ids(&tab_a));
    assert_eq!(positions_and_ids(&tab_a).len(), 6);
}

#[test]
fn an_append_overtaken_by_another_writer_is_decided_again() {
    let io = disk();
    let tab_a = open(&io);
    let tab_b = open(&io);
    block_on(tab_a.append("acc-1", Any, vec![event(1, "Created", 1)]))
        .unwrap_or_else(|e| panic!("{e}"));
    // Tab B does not know about event 1. Just before its write lands, tab A writes again.
    let rival_events = block_on(tab_a.append("acc-2", Any, vec![event(2, "Created", 1)]))
        .unwrap_or_else(|e| panic!("{e}"))
        .events;
    let rival = SegmentCodec::Binary.encode(&rival_events);
    {
        let mut disk = io.disk.borrow_mut();
        disk.segments.remove(&2);
        // As it was before tab A's second append: the rival write lands just before tab B's.
        let first = block_on(tab_a.read_all(&ReadAll::from_position(1, 1))).unwrap_or_default();
        disk.record = first
            .first()
            .map_or(CommitRecord::Missing, |e| CommitRecord::At(Head::of(e)));
        disk.rival_next = Some((vec![(2, rival)], Head::of(&rival_events[0])));
    }
    let outcome = block_on(tab_b.append("acc-1", Any, vec![event(3, "Deposited", 1)]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (outcome.events[0].version, outcome.events[0].position),
        (2, 3)
    );
    assert_eq!(positions_and_ids(&tab_b), positions_and_ids(&open(&io)));
}

#[test]
fn concurrent_appends_share_one_write_and_keep_their_own_answers() {
    let io = disk();
    let store = open(&io);
    let appends = (1..=10u8).map(|n| {
        let expected = if n == 7 { Exact(0) } else { Any };
        store.append("acc-1", expected, vec![event(n, "Deposited", i64::from(n))])
    });
    let answers = block_on(join_all(appends));
    let versions: Vec<Option<u64>> = answers
        .iter()
        .map(|a| a.as_ref().ok().map(|o| o.last_version()))
        .collect();
    // The first append writes alone; the nine that queued behind it are decided in order and
    // written together. Number 7 expected an empty stream and is refused on its own.
    assert_eq!(
        versions,
        vec![
            Some(1),
            Some(2),
            Some(3),
            Some(4),
            Some(5),
            Some(6),
            None,
            Some(7),
            Some(8),
            Some(9)
        ]
    );
    assert!(matches!(
        &answers[6],
        Err(StoreError::Conflict { actual: 6, .. })
    ));
    assert_eq!(io.disk.borrow().writes, 2);
    // The group's eight appends are one segment, not eight: few records to decode on opening.
    assert_eq!(
        io.disk
            .borrow()
            .segments
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(positions_and_ids(&open(&io)), positions_and_ids(&store));
}

#[test]
fn a_generation_over_many_aggregates_writes_each_round_together() {
    let io = disk();
    let sandbox = block_on(es_sandbox::Sandbox::open(
        open(&io),
        es_sandbox::shipped("bank").unwrap_or_else(|e| panic!("{e}")),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let seeded = io.disk.borrow().writes;
    let generated =
        block_on(sandbox.write().generate(6_000, 7, 0)).unwrap_or_else(|e| panic!("{e}"));
    assert!(generated.aggregates > 10, "{generated:?}");
    // Three rounds of 2,000 commands, each over a dozen aggregates or more: a round is one
    // write (two when a write is still in flight as the others queue), never one per aggregate.
    let disk = io.disk.borrow();
    assert!(disk.writes - seeded <= 6, "{} writes", disk.writes - seeded);
    assert!(
        disk.segments.len() <= 6 + seeded,
        "{} segments",
        disk.segments.len()
    );
    drop(disk);
    let reopened = open(&io);
    assert_eq!(
        block_on(reopened.head_position()).unwrap_or_default(),
        block_on(sandbox.store().head_position()).unwrap_or_default()
    );
}

#[test]
fn a_failed_write_leaves_memory_and_storage_as_they_were() {
    let io = disk();
    let store = open(&io);
    block_on(store.append("acc-1", Any, vec![event(1, "Created", 1)]))
        .unwrap_or_else(|e| panic!("{e}"));
    let before = positions_and_ids(&store);
    io.disk.borrow_mut().fail_next = Some(StoreError::StorageFull {
        backend: "fake",
        detail: "quota".into(),
    });
    let failed = block_on(store.append(
        "acc-1",
        Any,
        vec![event(2, "Deposited", 1), event(3, "Deposited", 1)],
    ));
    assert!(
        matches!(failed, Err(StoreError::StorageFull { .. })),
        "{failed:?}"
    );
    assert_eq!(positions_and_ids(&store), before);
    assert_eq!(positions_and_ids(&open(&io)), before);
    // The same events can be appended afterwards, at the same places.
    let retried = block_on(store.append(
        "acc-1",
        Any,
        vec![event(2, "Deposited", 1), event(3, "Deposited", 1)],
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(retried.last_version(), 3);
}

#[test]
fn a_record_that_does_not_decode_names_the_store_key_and_reason() {
    for (key, bytes, reason) in [
        (1u64, b"garbage".to_vec(), "ESG1"),
        (
            1,
            {
                let mut b = SegmentCodec::Binary.encode(&[]);
                b.push(0);
                b
            },
            "checksum",
        ),
    ] {
        let io = disk();
        io.disk.borrow_mut().segments.insert(key, bytes);
        match block_on(SegmentedStore::open(io.clone())) {
            Err(StoreError::Corrupt {
                store,
                key: got_key,
                reason: got,
                ..
            }) => {
                assert_eq!(store, "fake disk");
                assert_eq!(got_key, key.to_string());
                assert!(got.contains(reason), "{got}");
            }
            Err(other) => panic!("expected corrupt, got {other}"),
            Ok(_) => panic!("expected corrupt, got a store"),
        }
    }
    // A record under the wrong key, and a gap in positions.
    let io = disk();
    let store = open(&io);
    block_on(store.append(
        "acc-1",
        Any,
        vec![event(1, "Created", 1), event(2, "Deposited", 1)],
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let bytes = io.disk.borrow_mut().segments.remove(&1).unwrap_or_default();
    io.disk.borrow_mut().segments.insert(5, bytes);
    assert!(matches!(
        block_on(SegmentedStore::open(io.clone())),
        Err(StoreError::Corrupt { .. })
    ));
}

#[test]
fn refresh_returns_what_other_tabs_appended() {
    let io = disk();
    let tab_a = open(&io);
    let tab_b = open(&io);
    block_on(tab_a.append("acc-1", Any, vec![event(1, "Created", 1)]))
        .unwrap_or_else(|e| panic!("{e}"));
    block_on(tab_a.append("acc-1", Any, vec![event(2, "Deposited", 1)]))
        .unwrap_or_else(|e| panic!("{e}"));
    let seen = block_on(tab_b.refresh()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        seen.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert!(
        block_on(tab_b.refresh())
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    );
}

/// Appends three batches (positions 1, 2–3, 4) to a fresh store on `io`.
fn three_batches(io: &FakeIo) -> SegmentedStore<FakeIo> {
    let store = open(io);
    for batch in [
        vec![event(1, "Created", 1)],
        vec![event(2, "Deposited", 1), event(3, "Deposited", 1)],
        vec![event(4, "Deposited", 1)],
    ] {
        block_on(store.append("acc-1", Any, batch)).unwrap_or_else(|e| panic!("{e}"));
    }
    store
}

fn open_error(io: &FakeIo) -> StoreError {
    match block_on(SegmentedStore::open(io.clone())) {
        Err(error) => error,
        Ok(store) => panic!("opened with {} events", positions_and_ids(&store).len()),
    }
}

#[test]
fn a_deleted_last_record_is_noticed_and_the_valid_prefix_can_be_kept() {
    for io in [disk(), record_last_disk()] {
        three_batches(&io);
        io.disk.borrow_mut().segments.remove(&4);
        match open_error(&io) {
            StoreError::Corrupt {
                key,
                reason,
                intact_up_to,
                ..
            } => {
                assert_eq!((key.as_str(), intact_up_to), ("4", 3));
                assert!(
                    reason.contains("ends at position 3 but position 4 was acknowledged"),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
        let inspection = block_on(store::inspect(&io)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (
                inspection.committed,
                inspection.intact_up_to,
                inspection.records
            ),
            (Some(4), 3, 2)
        );
        // Position 2 is inside a record: only record ends can be kept.
        assert!(block_on(store::truncate(&io, 2)).is_err());
        let kept = block_on(store::truncate(&io, 3)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((kept.committed, kept.problem), (Some(3), None));
        let store = open(&io);
        assert_eq!(positions_and_ids(&store).len(), 3);
        let next = block_on(store.append("acc-1", Exact(3), vec![event(9, "Deposited", 1)]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(next.last_position(), 4);
    }
}

#[test]
fn a_backend_made_anew_behind_the_stores_back_is_reported_not_opened_empty() {
    // What the IndexedDB backend reports when its witness names a database that is gone: the
    // new database is empty, and must not open (and be seeded) as if the store were new.
    for io in [disk(), record_last_disk()] {
        let reason = "the store's database was deleted and made anew";
        io.disk.borrow_mut().record = CommitRecord::Gone {
            acknowledged: Some(9),
            reason: reason.into(),
        };
        match open_error(&io) {
            StoreError::Corrupt {
                key,
                reason: said,
                intact_up_to,
                ..
            } => assert_eq!(
                (key.as_str(), said.as_str(), intact_up_to),
                ("head", reason, 0)
            ),
            other => panic!("{other:?}"),
        }
        let inspection = block_on(store::inspect(&io)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (inspection.committed, inspection.intact_up_to),
            (Some(9), 0)
        );
        // Records written there since are no excuse: it is still not the store acknowledged.
        io.disk.borrow_mut().segments.insert(1, Vec::new());
        assert!(matches!(open_error(&io), StoreError::Corrupt { key, .. } if key == "head"));
    }
}

#[test]
fn a_commit_record_that_claims_more_than_is_stored_is_reported_however_much_it_claims() {
    for claimed in [5, 1 << 40, u64::MAX] {
        let io = disk();
        three_batches(&io);
        io.disk.borrow_mut().record = CommitRecord::At(Head {
            position: claimed,
            event_id: contract::id(7),
        });
        match open_error(&io) {
            StoreError::Corrupt {
                reason,
                intact_up_to,
                ..
            } => {
                let expected =
                    format!("ends at position 4 but position {claimed} was acknowledged");
                assert!(reason.contains(&expected), "{reason}");
                assert_eq!(intact_up_to, 4);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_replaced_last_record_is_noticed() {
    let io = disk();
    three_batches(&io);
    // A record that decodes and continues the log, but holds another event than acknowledged.
    let mut forged =
        block_on(open(&io).read_all(&ReadAll::from_position(4, 1))).unwrap_or_default();
    forged[0].event_id = contract::id(99);
    let bytes = SegmentCodec::Binary.encode(&forged);
    io.disk.borrow_mut().segments.insert(4, bytes);
    match open_error(&io) {
        StoreError::Corrupt {
            reason,
            intact_up_to,
            ..
        } => {
            assert!(reason.contains("the record was replaced"), "{reason}");
            assert_eq!(intact_up_to, 3);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_record_beyond_the_head_is_reported_where_writes_are_atomic_and_ignored_where_not() {
    let beyond = |io: &FakeIo| {
        let store = three_batches(io);
        let mut extra = block_on(store.read_all(&ReadAll::from_position(4, 1))).unwrap_or_default();
        extra[0].position = 5;
        extra[0].version = 5;
        extra[0].event_id = contract::id(98);
        let bytes = io.codec.encode(&extra);
        io.disk.borrow_mut().segments.insert(5, bytes);
    };
    let atomic = disk();
    beyond(&atomic);
    assert!(matches!(
        open_error(&atomic),
        StoreError::Corrupt { ref key, intact_up_to: 4, .. } if key == "5"
    ));
    // An interrupted localStorage write leaves a segment past the record: never acknowledged,
    // so it is not part of the log, and the next append takes its place.
    let record_last = record_last_disk();
    beyond(&record_last);
    let store = open(&record_last);
    assert_eq!(positions_and_ids(&store).len(), 4);
    block_on(store.append("acc-1", Exact(4), vec![event(7, "Deposited", 1)]))
        .unwrap_or_else(|e| panic!("{e}"));
    let ids = positions_and_ids(&open(&record_last));
    assert_eq!(
        ids.last().map(|(p, _, id)| (*p, *id)),
        Some((5, contract::id(7)))
    );
}

#[test]
fn segments_another_tab_wrote_are_waited_for_until_they_arrive() {
    let io = record_last_disk();
    let tab_a = open(&io);
    let tab_b = open(&io);
    block_on(tab_a.append("acc-1", Any, vec![event(1, "Created", 1)]))
        .unwrap_or_else(|e| panic!("{e}"));
    // Tab B sees the commit record before the segment it commits.
    let segment = io.disk.borrow_mut().segments.remove(&1);
    io.disk.borrow_mut().delayed = segment.map(|bytes| ((1, bytes), 3)).into_iter().collect();
    let seen = block_on(tab_b.refresh()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(seen.len(), 1);
    assert_eq!(io.disk.borrow().pauses, 3);
    // A segment that never arrives is missing, not silently skipped.
    block_on(tab_a.append("acc-1", Any, vec![event(2, "Deposited", 1)]))
        .unwrap_or_else(|e| panic!("{e}"));
    io.disk.borrow_mut().segments.remove(&2);
    match block_on(tab_b.refresh()) {
        Err(StoreError::Corrupt { reason, .. }) => assert!(reason.contains("missing"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_tab_whose_store_was_cut_back_elsewhere_is_told_to_reload() {
    let io = disk();
    let tab = three_batches(&io);
    block_on(store::truncate(&io, 3)).unwrap_or_else(|e| panic!("{e}"));
    match block_on(tab.append("acc-1", Any, vec![event(8, "Deposited", 1)])) {
        Err(StoreError::Closed { reason }) => assert!(reason.contains("cut back"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(positions_and_ids(&open(&io)).len(), 3);
}

#[test]
fn a_store_without_a_commit_record_opens_and_gets_one_on_its_next_append() {
    let io = disk();
    three_batches(&io);
    io.disk.borrow_mut().record = CommitRecord::Missing;
    let store = open(&io);
    block_on(store.append("acc-1", Any, vec![event(5, "Deposited", 1)]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(io.disk.borrow().record.head().map(|h| h.position), Some(5));
}

#[test]
fn news_say_which_events_this_store_appended_and_which_it_read() {
    let io = disk();
    let tab_a = open(&io);
    let tab_b = open(&io);
    block_on(tab_a.append("acc-1", Any, vec![event(1, "Created", 1)]))
        .unwrap_or_else(|e| panic!("{e}"));
    // Tab B's append meets tab A's event on the way (a conflict read it in), then lands.
    block_on(tab_b.append("acc-1", Any, vec![event(2, "Deposited", 1)]))
        .unwrap_or_else(|e| panic!("{e}"));
    let news = |store: &SegmentedStore<FakeIo>| {
        block_on(store.read_news(0, usize::MAX))
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|n| (n.event.position, n.origin))
            .collect::<Vec<_>>()
    };
    assert_eq!(news(&tab_b), vec![(1, Origin::Remote), (2, Origin::Local)]);
    block_on(tab_a.refresh()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(news(&tab_a), vec![(1, Origin::Local), (2, Origin::Remote)]);
}
