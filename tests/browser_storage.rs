//! Browser storage in headless Chromium: the store contract against memory, localStorage and
//! IndexedDB (a fresh store name per case), reloads, aborted writes, a full localStorage, records
//! that do not decode, another tab upgrading the database, a database deleted behind the store's
//! back, and names that keep stores apart.
#![cfg(target_arch = "wasm32")]

mod contract;

use std::cell::Cell;

use contract::event;
use es_sandbox::expected::ExpectedVersion::{Any, Exact};
use es_sandbox::store::{
    CommitRecord, EventStore, LogReader, MemoryStore, ReadAll, SegmentIo, SegmentedStore,
    StoreError,
};
use es_sandbox::web::{Durability, IdbSegments, LocalSegments, database_name};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

thread_local! {
    static COUNTER: Cell<u32> = const { Cell::new(0) };
}

/// A store name no other test uses.
fn fresh_name(what: &str) -> String {
    let n = COUNTER.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    format!("test-{what}-{n}-{}", js_sys::Date::now() as u64)
}

async fn idb(name: &str) -> SegmentedStore<IdbSegments> {
    let io = IdbSegments::open(name, Durability::Relaxed)
        .await
        .unwrap_or_else(|e| panic!("open {name}: {e}"));
    SegmentedStore::open(io)
        .await
        .unwrap_or_else(|e| panic!("read {name}: {e}"))
}

/// Opens an IndexedDB store that must not open, and says why it did not.
async fn idb_open_error(name: &str) -> StoreError {
    let io = IdbSegments::open(name, Durability::Relaxed)
        .await
        .unwrap_or_else(|e| panic!("open {name}: {e}"));
    match SegmentedStore::open(io).await {
        Err(error) => error,
        Ok(_) => panic!("{name} opened"),
    }
}

/// The page's `indexedDB`, to work on databases behind a store's back.
fn idb_factory() -> web_sys::IdbFactory {
    js_sys::Reflect::get(&js_sys::global(), &"indexedDB".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .unwrap_or_else(|| panic!("no indexedDB"))
}

async fn local(name: &str) -> SegmentedStore<LocalSegments> {
    let io = LocalSegments::open(name)
        .await
        .unwrap_or_else(|e| panic!("open {name}: {e}"));
    SegmentedStore::open(io)
        .await
        .unwrap_or_else(|e| panic!("read {name}: {e}"))
}

/// Runs a contract check on the IndexedDB store `name`, closes it, and opens it again: what a
/// reload finds.
async fn idb_reopened_after(
    name: &str,
    check: impl AsyncFnOnce(&SegmentedStore<IdbSegments>) -> Result<(), String>,
) -> SegmentedStore<IdbSegments> {
    let store = idb(name).await;
    check(&store).await.unwrap_or_else(|e| panic!("{e}"));
    store.io().close("reopen");
    idb(name).await
}

async fn all_positions<S: EventStore>(store: &S) -> Vec<(u64, u64)> {
    store
        .read_all(&ReadAll::from_position(1, usize::MAX))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|e| (e.position, e.version))
        .collect()
}

async fn delete_idb(name: &str) {
    let _ = IdbSegments::delete(name).await;
}

async fn delete_local(name: &str) {
    let _ = es_sandbox::web::destroy(es_sandbox::web::Backend::LocalStorage, name).await;
}

#[wasm_bindgen_test]
async fn the_contract_holds_in_memory() {
    for case in contract::append_cases() {
        contract::run_append_case(&MemoryStore::new(), case)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    contract::reads(&MemoryStore::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    contract::snapshots(&MemoryStore::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    contract::snapshots_with_appends(&MemoryStore::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[wasm_bindgen_test]
async fn the_contract_holds_in_indexeddb() {
    for case in contract::append_cases() {
        let name = fresh_name("idb-contract");
        let result = contract::run_append_case(&idb(&name).await, case).await;
        delete_idb(&name).await;
        result.unwrap_or_else(|e| panic!("{e}"));
    }
    for check in 0..4 {
        let name = fresh_name("idb-contract");
        let store = idb(&name).await;
        let result = match check {
            0 => contract::reads(&store).await,
            1 => contract::snapshots(&store).await,
            2 => contract::snapshots_with_appends(&store).await,
            _ => contract::batch_limits(&store).await,
        };
        store.io().close("test done");
        delete_idb(&name).await;
        result.unwrap_or_else(|e| panic!("{e}"));
    }
}

#[wasm_bindgen_test]
async fn the_contract_holds_in_local_storage() {
    for case in contract::append_cases() {
        let name = fresh_name("ls-contract");
        let result = contract::run_append_case(&local(&name).await, case).await;
        delete_local(&name).await;
        result.unwrap_or_else(|e| panic!("{e}"));
    }
    for check in 0..3 {
        let name = fresh_name("ls-contract");
        let store = local(&name).await;
        let result = match check {
            0 => contract::reads(&store).await,
            1 => contract::snapshots(&store).await,
            _ => contract::snapshots_with_appends(&store).await,
        };
        delete_local(&name).await;
        result.unwrap_or_else(|e| panic!("{e}"));
    }
}

#[wasm_bindgen_test]
async fn everything_acknowledged_is_there_after_reopening() {
    let name = fresh_name("reopen");
    let again = idb_reopened_after(&name, async |store| contract::reads(store).await).await;
    assert_eq!(
        all_positions(&again).await,
        vec![(1, 1), (2, 2), (3, 1), (4, 3), (5, 4)]
    );
    again.io().close("done");
    delete_idb(&name).await;

    let name = fresh_name("reopen-ls");
    contract::reads(&local(&name).await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all_positions(&local(&name).await).await.len(), 5);
    delete_local(&name).await;
}

#[wasm_bindgen_test]
async fn a_snapshot_written_with_its_events_is_there_after_reopening() {
    let name = fresh_name("snapshot-reopen");
    let again = idb_reopened_after(&name, async |store| {
        contract::snapshots_with_appends(store).await
    })
    .await;
    let versions: Vec<u64> = again
        .snapshots("acc-1")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|s| s.version)
        .collect();
    assert_eq!(versions, vec![2]);
    assert_eq!(all_positions(&again).await.len(), 4);
    again.io().close("done");
    delete_idb(&name).await;
}

/// Deletes a store's IndexedDB database the way the browser does when it finds it corrupt:
/// behind the store's back, leaving its witness where it was.
async fn delete_database_behind_the_stores_back(name: &str) {
    let request = idb_factory()
        .delete_database(&database_name(name))
        .unwrap_or_else(|e| panic!("{e:?}"));
    JsFuture::from(request_promise(&request))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
}

#[wasm_bindgen_test]
async fn a_database_deleted_behind_the_stores_back_is_reported_and_a_deliberate_delete_is_not() {
    let name = fresh_name("gone");
    let store = idb(&name).await;
    contract::reads(&store)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store.io().close("deleted next");
    delete_database_behind_the_stores_back(&name).await;
    for attempt in ["first", "second"] {
        match idb_open_error(&name).await {
            StoreError::Corrupt { key, reason, .. } => {
                assert_eq!(key, "head", "{attempt} open");
                assert!(reason.contains("deleted and made anew"), "{reason}");
            }
            other => panic!("{attempt} open: {other}"),
        }
    }
    // Deleting it on purpose deletes its witness too: the name then starts a new store.
    delete_idb(&name).await;
    let again = idb(&name).await;
    assert_eq!(all_positions(&again).await, Vec::<(u64, u64)>::new());
    again.io().close("done");
    delete_idb(&name).await;
}

/// Resolves after `ms` milliseconds.
async fn sleep(ms: i32) {
    let timer = js_sys::Promise::new(&mut |resolve, _| {
        let set_timeout = js_sys::Reflect::get(&js_sys::global(), &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .unwrap_or_else(|| panic!("no setTimeout"));
        let _ = set_timeout.call2(&JsValue::NULL, &resolve, &ms.into());
    });
    let _ = JsFuture::from(timer).await;
}

#[wasm_bindgen_test]
async fn a_delete_while_the_witness_is_being_updated_leaves_no_witness_behind() {
    use futures::future::{Either, select};
    let name = fresh_name("witness-race");
    let store = idb(&name).await;
    // The witness update after the next commit stops where a delete used to be undone: it has
    // found the witness file and not yet written it.
    let gate = store.io().hold_next_witness_update();
    store
        .append("acc-1", Any, vec![event(1, "Created", 1)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    gate.reached().await;
    store.io().close("deleted next");
    // The deliberate delete goes through at once, or waits for the update; the update is let
    // go when the delete is done, or after half a second of waiting.
    let deleting = Box::pin(delete_idb(&name));
    match select(deleting, Box::pin(sleep(500))).await {
        Either::Left(((), _)) => {
            gate.release();
            // Time for the update let go to land.
            sleep(300).await;
        }
        Either::Right(((), deleting)) => {
            gate.release();
            deleting.await;
        }
    }
    // The name starts a new, empty store: nothing says that events were lost.
    let again = idb(&name).await;
    assert_eq!(all_positions(&again).await, Vec::<(u64, u64)>::new());
    again.io().close("done");
    delete_idb(&name).await;
}

#[wasm_bindgen_test]
async fn an_aborted_transaction_leaves_no_partial_batch() {
    let name = fresh_name("abort");
    let store = idb(&name).await;
    store
        .append("acc-1", Any, vec![event(1, "Created", 1)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store.io().abort_next_write();
    let failed = store
        .append(
            "acc-1",
            Any,
            vec![event(2, "Deposited", 1), event(3, "Deposited", 2)],
        )
        .await;
    assert!(
        matches!(failed, Err(StoreError::Backend { .. })),
        "{failed:?}"
    );
    assert_eq!(all_positions(&store).await, vec![(1, 1)]);
    store.io().close("reopen");
    let again = idb(&name).await;
    assert_eq!(all_positions(&again).await, vec![(1, 1)]);
    let retried = again
        .append(
            "acc-1",
            Exact(1),
            vec![event(2, "Deposited", 1), event(3, "Deposited", 2)],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(retried.last_version(), 3);
    again.io().close("done");
    delete_idb(&name).await;
}

#[wasm_bindgen_test]
async fn a_full_local_storage_is_a_typed_error_and_nothing_half_written() {
    let name = fresh_name("quota");
    let store = local(&name).await;
    store
        .append("acc-1", Any, vec![event(1, "Created", 1)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Fill the origin's quota (about 5.2M UTF-16 characters) almost to the brim.
    let storage = web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .unwrap_or_else(|| panic!("no localStorage"));
    let mut fillers = Vec::new();
    let mut chunk = 1 << 20;
    while chunk >= 256 {
        let key = format!("test-filler-{}", fillers.len());
        if storage.set_item(&key, &"x".repeat(chunk)).is_ok() {
            fillers.push(key);
        } else {
            chunk /= 2;
        }
    }
    let big: Vec<_> = (2..=40u8)
        .map(|n| event(n, "Deposited", 1_000_000))
        .collect();
    let failed = store.append("acc-1", Any, big).await;
    for key in &fillers {
        let _ = storage.remove_item(key);
    }
    match failed {
        Err(StoreError::StorageFull { backend, .. }) => assert_eq!(backend, "localStorage"),
        other => panic!("expected storage full, got {other:?}"),
    }
    assert_eq!(all_positions(&store).await, vec![(1, 1)]);
    assert_eq!(all_positions(&local(&name).await).await, vec![(1, 1)]);
    delete_local(&name).await;
}

/// Puts a raw value into a store's IndexedDB `segments` object store.
async fn put_raw_segment(name: &str, key: f64, value: &JsValue) {
    let io = IdbSegments::open(name, Durability::Relaxed)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    io.close("raw write");
    let open = idb_factory()
        .open(&database_name(name))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let db: web_sys::IdbDatabase = JsFuture::from(request_promise(&open))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"))
        .unchecked_into();
    let tx = db
        .transaction_with_str_and_mode("segments", web_sys::IdbTransactionMode::Readwrite)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let put = tx
        .object_store("segments")
        .and_then(|s| s.put_with_key(value, &JsValue::from_f64(key)))
        .unwrap_or_else(|e| panic!("{e:?}"));
    JsFuture::from(request_promise(&put))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    db.close();
}

/// A promise of a request's result, for raw IndexedDB in tests.
fn request_promise(request: &web_sys::IdbRequest) -> js_sys::Promise {
    let request = request.clone();
    js_sys::Promise::new(&mut |resolve, reject| {
        let ok_request = request.clone();
        let ok = wasm_bindgen::closure::Closure::once_into_js(move || {
            let _ = resolve.call1(
                &JsValue::NULL,
                &ok_request.result().unwrap_or(JsValue::NULL),
            );
        });
        let err = wasm_bindgen::closure::Closure::once_into_js(move || {
            let _ = reject.call0(&JsValue::NULL);
        });
        request.set_onsuccess(Some(ok.unchecked_ref()));
        request.set_onerror(Some(err.unchecked_ref()));
    })
}

#[wasm_bindgen_test]
async fn a_record_that_does_not_decode_names_store_key_and_reason() {
    let name = fresh_name("corrupt");
    let store = idb(&name).await;
    store
        .append("acc-1", Any, vec![event(1, "Created", 1)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store.io().close("corrupt it");
    put_raw_segment(&name, 2.0, &JsValue::from_str("edited by hand")).await;
    match idb_open_error(&name).await {
        StoreError::Corrupt {
            store,
            key,
            reason,
            intact_up_to,
        } => {
            assert_eq!(intact_up_to, 1);
            assert_eq!(store, format!("IndexedDB es-sandbox/{name}/segments"));
            assert_eq!(key, "2");
            assert!(reason.contains("not a Uint8Array"), "{reason}");
        }
        other => panic!("expected corrupt, got {other}"),
    }
    put_raw_segment(
        &name,
        2.0,
        &js_sys::Uint8Array::from(&b"ESG1garbage"[..]).into(),
    )
    .await;
    match idb_open_error(&name).await {
        StoreError::Corrupt { key, reason, .. } => {
            assert_eq!(key, "2");
            assert!(reason.contains("checksum"), "{reason}");
        }
        other => panic!("expected corrupt, got {other}"),
    }
    delete_idb(&name).await;
}

#[wasm_bindgen_test]
async fn another_tab_upgrading_the_database_closes_this_connection_instead_of_hanging() {
    let name = fresh_name("upgrade");
    let store = idb(&name).await;
    store
        .append("acc-1", Any, vec![event(1, "Created", 1)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Another tab upgrades the database (as cutting a store back does).
    let factory: web_sys::IdbFactory = js_sys::Reflect::get(&js_sys::global(), &"indexedDB".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .unwrap_or_else(|| panic!("no indexedDB"));
    let upgrade = factory
        .open_with_u32(&database_name(&name), 3)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let newer: web_sys::IdbDatabase = JsFuture::from(request_promise(&upgrade))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"))
        .unchecked_into();
    newer.close();
    match store
        .append("acc-1", Any, vec![event(2, "Deposited", 1)])
        .await
    {
        Err(StoreError::Closed { reason }) => assert!(reason.contains("another tab"), "{reason}"),
        other => panic!("expected closed, got {other:?}"),
    }
    // The upgraded database opens again at its new version, with its log intact.
    let again = idb(&name).await;
    assert_eq!(all_positions(&again).await, vec![(1, 1)]);
    again.io().close("done");
    delete_idb(&name).await;
}

#[wasm_bindgen_test]
async fn two_connections_to_one_store_get_a_real_conflict() {
    let name = fresh_name("two-tabs");
    let tab_a = idb(&name).await;
    let tab_b = idb(&name).await;
    let five: Vec<_> = (1..=5).map(|n| event(n, "Deposited", 1)).collect();
    tab_a
        .append("acc-1", Any, five)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tab_b.refresh().await.unwrap_or_else(|e| panic!("{e}"));
    let a = tab_a
        .append("acc-1", Exact(5), vec![event(10, "Deposited", 1)])
        .await;
    let b = tab_b
        .append("acc-1", Exact(5), vec![event(11, "Deposited", 1)])
        .await;
    assert_eq!(a.map(|o| o.last_version()), Ok(6));
    match b {
        Err(StoreError::Conflict {
            expected, actual, ..
        }) => assert_eq!((expected, actual), (Exact(5), 6)),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(all_positions(&tab_b).await, all_positions(&tab_a).await);
    tab_a.io().close("done");
    tab_b.io().close("done");
    delete_idb(&name).await;
}

#[wasm_bindgen_test]
async fn stores_with_different_names_never_mix() {
    let (one, two) = (fresh_name("ns-one"), fresh_name("ns-two"));
    let first = idb(&one).await;
    first
        .append("acc-1", Any, vec![event(1, "Created", 1)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let second = idb(&two).await;
    assert!(all_positions(&second).await.is_empty());
    second
        .append("acc-1", Any, vec![event(1, "Created", 1)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all_positions(&first).await.len(), 1);
    first.io().close("done");
    second.io().close("done");
    delete_idb(&one).await;
    delete_idb(&two).await;

    let (one, two) = (fresh_name("ns-ls-one"), fresh_name("ns-ls-two"));
    local(&one)
        .await
        .append("acc-1", Any, vec![event(1, "Created", 1)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(all_positions(&local(&two).await).await.is_empty());
    delete_local(&one).await;
}

/// Reads a log slowly: one task per record.
#[derive(Default)]
struct Unhurried {
    keys: Vec<u64>,
}

impl LogReader for Unhurried {
    fn record(&mut self, _: CommitRecord) {}

    async fn segment(&mut self, key: u64, _: Result<Vec<u8>, String>) {
        gloo_timers::future::TimeoutFuture::new(1).await;
        self.keys.push(key);
    }
}

/// A long log is read in ranges of records, one request each, decoded as each arrives: five
/// records of 5,000 events make three ranges of one or two records. Reopened, every event comes
/// back once and in order, inspecting the store counts every record, and a reader that takes
/// its time gets every record too.
#[wasm_bindgen_test]
async fn a_log_read_in_ranges_of_records_reopens_whole_and_in_order() {
    use es_sandbox::{EventData, EventId, Metadata, ProposedEvent};
    let name = fresh_name("ranges");
    let store = idb(&name).await;
    for record in 0..5u64 {
        let batch = (0..5_000u64)
            .map(|n| ProposedEvent {
                event_id: EventId::derived(&format!("ranges/{record}/{n}")),
                event_type: "Deposited".into(),
                schema_version: 1,
                data: EventData::parse(&format!(r#"{{"amount":{n}}}"#))
                    .unwrap_or_else(|e| panic!("{e}")),
                metadata: Metadata::at(1_700_000_000_000),
            })
            .collect();
        store
            .append(&format!("acc-{record}"), Any, batch)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    store.io().close("reopen");
    let expected: Vec<(u64, u64)> = (1..=25_000u64).map(|p| (p, (p - 1) % 5_000 + 1)).collect();
    let reopened = idb(&name).await;
    assert_eq!(all_positions(&reopened).await, expected);
    reopened.io().close("inspect");
    let io = IdbSegments::open(&name, Durability::Relaxed)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let inspected = es_sandbox::store::inspect(&io)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // A reader that gives the thread back at every record: the later ranges answer meanwhile,
    // and must not be lost.
    let mut unhurried = Unhurried::default();
    {
        let read = std::pin::pin!(io.read_log_into(1, &mut unhurried));
        let limit = gloo_timers::future::TimeoutFuture::new(20_000);
        match futures::future::select(read, limit).await {
            futures::future::Either::Left((read, _)) => read.unwrap_or_else(|e| panic!("{e}")),
            futures::future::Either::Right(_) => panic!("the read never finished"),
        }
    }
    io.close("done");
    assert_eq!(unhurried.keys, [1, 5_001, 10_001, 15_001, 20_001]);
    assert_eq!(
        (inspected.records, inspected.intact_up_to, inspected.problem),
        (5, 25_000, None)
    );
    delete_idb(&name).await;
}

#[wasm_bindgen_test]
async fn automatic_snapshots_every_100_events_are_stored_in_indexeddb_and_used_after_reopening() {
    use es_sandbox::{CommandRequest, ReplayOptions, Sandbox, shipped};
    let name = fresh_name("snapshots");
    let bank = || shipped("bank").unwrap_or_else(|e| panic!("{e}"));
    let sandbox = Sandbox::open(idb(&name).await, bank())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for n in 0..250 {
        let (command, payload) = if n == 0 {
            ("Create", serde_json::json!({"balance": 0}))
        } else {
            ("Deposit", serde_json::json!({"amount": 1}))
        };
        sandbox
            .write()
            .execute(CommandRequest::new("acc-9", command, payload), 0)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    sandbox.store().io().close("reopen");
    let reopened = Sandbox::open(idb(&name).await, bank())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stored: Vec<u64> = reopened
        .write()
        .snapshots("acc-9")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|s| s.version)
        .collect();
    assert_eq!(stored, [100, 200]);
    let replay = reopened
        .write()
        .replay("acc-9", &ReplayOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (replay.from_snapshot, replay.events_replayed),
        (Some(200), 50)
    );
    reopened.store().io().close("done");
    delete_idb(&name).await;
}
