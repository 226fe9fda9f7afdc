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
    EventStore, RawSegment, ReadAll, SegmentCodec, SegmentIo, SegmentedStore, StoreError,
    WriteError,
};
use futures::executor::block_on;
use futures::future::join_all;

/// What the fake storage holds, shared by every store opened on it.
#[derive(Default)]
struct Disk {
    segments: BTreeMap<u64, Vec<u8>>,
    snapshots: Vec<Snapshot>,
    writes: usize,
    /// The next write fails with this error.
    fail_next: Option<StoreError>,
    /// Segments another writer stores just before the next write lands.
    rival_next: Vec<RawSegment>,
}

#[derive(Clone)]
struct FakeIo {
    disk: Rc<RefCell<Disk>>,
    codec: SegmentCodec,
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

    async fn read_segments(&self, from: u64) -> Result<Vec<RawSegment>, StoreError> {
        let disk = self.disk.borrow();
        Ok(disk
            .segments
            .range(from..)
            .map(|(k, v)| (*k, v.clone()))
            .collect())
    }

    async fn write_segments(&self, segments: Vec<RawSegment>) -> Result<(), WriteError> {
        YieldOnce(false).await;
        let mut disk = self.disk.borrow_mut();
        for (key, bytes) in std::mem::take(&mut disk.rival_next) {
            disk.segments.insert(key, bytes);
        }
        if let Some(error) = disk.fail_next.take() {
            return Err(WriteError::Failed(error));
        }
        if segments
            .iter()
            .any(|(key, _)| disk.segments.contains_key(key))
        {
            return Err(WriteError::Taken);
        }
        disk.writes += 1;
        disk.segments.extend(segments);
        Ok(())
    }

    async fn read_snapshots(&self) -> Result<Vec<Snapshot>, StoreError> {
        Ok(self.disk.borrow().snapshots.clone())
    }

    async fn write_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let mut disk = self.disk.borrow_mut();
        disk.snapshots
            .retain(|s| (&s.aggregate_id, s.version) != (&snapshot.aggregate_id, snapshot.version));
        disk.snapshots.push(snapshot.clone());
        Ok(())
    }
}

fn disk() -> FakeIo {
    FakeIo {
        disk: Rc::default(),
        codec: SegmentCodec::Binary,
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
        let fresh = || FakeIo {
            disk: Rc::default(),
            codec,
        };
        let mut failures = Vec::new();
        for case in contract::append_cases() {
            if let Err(failure) = block_on(contract::run_append_case(&open(&fresh()), case)) {
                failures.push(failure);
            }
        }
        assert!(failures.is_empty(), "{codec:?}:\n{}", failures.join("\n"));
        assert_eq!(block_on(contract::reads(&open(&fresh()))), Ok(()));
        assert_eq!(block_on(contract::snapshots(&open(&fresh()))), Ok(()));
    }
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
    let rival = SegmentCodec::Binary.encode(
        &block_on(tab_a.append("acc-2", Any, vec![event(2, "Created", 1)]))
            .unwrap_or_else(|e| panic!("{e}"))
            .events,
    );
    io.disk.borrow_mut().segments.remove(&2);
    io.disk.borrow_mut().rival_next = vec![(2, rival)];
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
    assert_eq!(positions_and_ids(&open(&io)), positions_and_ids(&store));
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
