// Benchmark workloads, run in Chromium by bench/run.mjs: es-sandbox's IndexedDB store, Dexie 4
// (one record per event, what a JS developer would reach for) and raw IndexedDB (one record per
// event), on the same logical events. Each function returns milliseconds.
import init, { Sandbox } from "/www/pkg/es_sandbox.js";
import Dexie from "/node_modules/dexie/dist/dexie.mjs";

await init();

export const AGGREGATES = 10;
const BATCHES = 100;
const BATCH = 1000;
const SINGLES = 1000;

/** The same 100,000 bank events for everyone: batch b goes to aggregate acc-(b mod 10). */
function batches() {
  const versions = new Array(AGGREGATES).fill(0);
  let timestamp = 1_767_225_600_000;
  return Array.from({ length: BATCHES }, (_, b) => {
    const k = b % AGGREGATES;
    const aggregateId = `acc-${k}`;
    const events = Array.from({ length: BATCH }, (_, i) => {
      versions[k] += 1;
      timestamp += 1;
      const created = versions[k] === 1;
      return {
        eventId: crypto.randomUUID(),
        aggregateId,
        version: versions[k],
        type: created ? "Created" : i % 3 ? "Deposited" : "Deducted",
        data: created ? { balance: 0 } : { amount: (i % 7) + 1 },
        timestamp,
      };
    });
    return { aggregateId, events };
  });
}

/** The fold a JS developer writes for the bank. */
function reduce(events) {
  let balance = 0;
  for (const e of events) {
    if (e.type === "Created") balance = e.data.balance;
    else if (e.type === "Deposited") balance += e.data.amount;
    else if (e.type === "Deducted") balance -= e.data.amount;
  }
  return balance;
}

const time = async (work) => {
  const start = performance.now();
  const result = await work();
  return { ms: performance.now() - start, result };
};

// ---- es-sandbox ----
// The storage rows measure the event store: projections run only when asked (readModel "manual")
// and are measured on their own below.
const esOpen = (name) => Sandbox.open({ storage: "indexeddb", name, scenario: "bank", readModel: "manual" });
const toNew = ({ eventId, type, data, timestamp }) => ({ eventId, type, data, timestamp });

export async function esBatched(name) {
  const input = batches().map(({ aggregateId, events }) => ({ aggregateId, events: events.map(toNew) }));
  const sandbox = await esOpen(name);
  const { ms } = await time(async () => {
    for (const { aggregateId, events } of input) await sandbox.append(aggregateId, events);
  });
  sandbox.close();
  return ms;
}

/** Cold load (open reads every event) and replays of one 10,000-event aggregate. */
export async function esLoadAndReplay(name) {
  const load = await time(() => esOpen(name));
  const sandbox = load.result;
  const head = await sandbox.headPosition();
  const withSnapshots = await time(() => sandbox.replay("acc-3"));
  const without = await time(() => sandbox.replay("acc-3", { useSnapshots: false }));
  sandbox.close();
  if (head !== BATCHES * BATCH + 3) throw new Error(`es-sandbox loaded ${head} events`);
  if (withSnapshots.result.state.balance !== without.result.state.balance) throw new Error("replays differ");
  return {
    load: load.ms,
    replaySnapshots: withSnapshots.ms,
    replayFull: without.ms,
    replayed: [withSnapshots.result.eventsReplayed, without.result.eventsReplayed],
    balance: without.result.state.balance,
  };
}

// ---- Dexie ----
function dexie(name) {
  const db = new Dexie(`dexie-${name}`);
  db.version(1).stores({ events: "++position, [aggregateId+version]" });
  return db;
}

export async function dexieBatched(name) {
  const input = batches();
  const db = dexie(name);
  await db.open();
  const { ms } = await time(async () => {
    for (const { events } of input) await db.events.bulkAdd(events);
  });
  db.close();
  return ms;
}

export async function dexieLoadAndReplay(name) {
  const db = dexie(name);
  const load = await time(async () => {
    await db.open();
    return db.events.toArray();
  });
  const replay = await time(async () =>
    reduce(await db.events.where("[aggregateId+version]").between(["acc-3", Dexie.minKey], ["acc-3", Dexie.maxKey]).toArray()),
  );
  const inMemory = await time(async () => reduce(load.result.filter((e) => e.aggregateId === "acc-3")));
  db.close();
  if (load.result.length !== BATCHES * BATCH) throw new Error(`Dexie loaded ${load.result.length}`);
  return { load: load.ms, replay: replay.ms, replayInMemory: inMemory.ms, balance: replay.result };
}

// ---- raw IndexedDB, one record per event ----
function rawOpen(name) {
  return new Promise((done, fail) => {
    const request = indexedDB.open(`raw-${name}`, 1);
    request.onupgradeneeded = () => request.result.createObjectStore("events", { keyPath: ["aggregateId", "version"] });
    request.onsuccess = () => done(request.result);
    request.onerror = () => fail(request.error);
  });
}

const committed = (tx) =>
  new Promise((done, fail) => {
    tx.oncomplete = done;
    tx.onabort = () => fail(tx.error);
  });

export async function rawBatched(name) {
  const input = batches();
  const db = await rawOpen(name);
  const { ms } = await time(async () => {
    for (const { events } of input) {
      const tx = db.transaction("events", "readwrite");
      const store = tx.objectStore("events");
      for (const event of events) store.add(event);
      await committed(tx);
    }
  });
  db.close();
  return ms;
}

const request = (r) =>
  new Promise((done, fail) => {
    r.onsuccess = () => done(r.result);
    r.onerror = () => fail(r.error);
  });

export async function rawLoadAndReplay(name) {
  const load = await time(async () => {
    const db = await rawOpen(name);
    const events = await request(db.transaction("events").objectStore("events").getAll());
    return { db, events };
  });
  const { db, events } = load.result;
  const replay = await time(async () => {
    const range = IDBKeyRange.bound(["acc-3", 0], ["acc-3", Infinity]);
    return reduce(await request(db.transaction("events").objectStore("events").getAll(range)));
  });
  db.close();
  if (events.length !== BATCHES * BATCH) throw new Error(`raw loaded ${events.length}`);
  return { load: load.ms, replay: replay.ms, balance: replay.result };
}

/**
 * 1,000 single appends per system, each awaited, in rounds of 50 that take turns, so that
 * IndexedDB slowing down as files grow, or the machine being busy, weighs on all alike.
 * Returns the total ms per system.
 */
export async function singles(name) {
  const sandbox = await esOpen(`${name}-es`);
  const db = dexie(`${name}-dexie`);
  await db.open();
  const raw = await rawOpen(`${name}-raw`);
  const record = (i) => ({
    eventId: crypto.randomUUID(),
    aggregateId: "acc-single",
    version: i + 1,
    type: i === 0 ? "Created" : "Deposited",
    data: i === 0 ? { balance: 0 } : { amount: 1 },
    timestamp: Date.now(),
  });
  const append = {
    es: (i) => sandbox.append("acc-single", [toNew(record(i))]),
    dexie: (i) => db.events.add(record(i)),
    raw: (i) => {
      const tx = raw.transaction("events", "readwrite");
      tx.objectStore("events").add(record(i));
      return committed(tx);
    },
  };
  const total = { es: 0, dexie: 0, raw: 0 };
  for (let start = 0; start < SINGLES; start += 50) {
    for (const system of Object.keys(append)) {
      const begin = performance.now();
      for (let i = start; i < start + 50; i += 1) await append[system](i);
      total[system] += performance.now() - begin;
    }
  }
  sandbox.close();
  db.close();
  raw.close();
  return total;
}

/**
 * 1,000 single appends issued at once (not awaited one by one), as a busy page would: es-sandbox
 * commits those that arrive while a write is in flight together (group commit).
 */
export async function concurrent(name) {
  const record = (i) => ({
    eventId: crypto.randomUUID(),
    aggregateId: "acc-busy",
    version: i + 1,
    type: i === 0 ? "Created" : "Deposited",
    data: i === 0 ? { balance: 0 } : { amount: 1 },
    timestamp: Date.now(),
  });
  const total = {};
  const sandbox = await esOpen(`${name}-es`);
  await sandbox.append("acc-busy", [toNew(record(0))]);
  total.es = (await time(() => Promise.all(Array.from({ length: SINGLES }, (_, i) => sandbox.append("acc-busy", [toNew(record(i + 1))]))))).ms;
  sandbox.close();
  const db = dexie(`${name}-dexie`);
  await db.open();
  total.dexie = (await time(() => Promise.all(Array.from({ length: SINGLES }, (_, i) => db.events.add(record(i)))))).ms;
  db.close();
  const raw = await rawOpen(`${name}-raw`);
  total.raw = (
    await time(() =>
      Promise.all(
        Array.from({ length: SINGLES }, (_, i) => {
          const tx = raw.transaction("events", "readwrite");
          tx.objectStore("events").add(record(i));
          return committed(tx);
        }),
      ),
    )
  ).ms;
  raw.close();
  return total;
}

/**
 * The bank projections over the 100,000 events: once with the built-in `events` mirror, once
 * without it (paused), each into a fresh in-memory read model. Returns events per run, in ms.
 */
export async function esProjection(name) {
  const measure = async (withMirror) => {
    const sandbox = await esOpen(name);
    // A shipped scenario's read model is set up on first use: here, before the clock.
    await sandbox.projections();
    if (!withMirror) sandbox.pauseProjection("events");
    const { ms } = await time(() => sandbox.project());
    const answer = await sandbox.query("SELECT count(*) FROM ledger");
    const { head } = await sandbox.projections();
    sandbox.close();
    if (answer.rows[0][0] !== BATCHES * BATCH + 3) throw new Error(`ledger has ${answer.rows[0][0]} rows`);
    return { ms, events: head };
  };
  return { withMirror: await measure(true), withoutMirror: await measure(false) };
}

/** A scenario with one projection row per event: 100,000 accounts with balances 0–99. */
const ACCOUNTS = {
  name: "accounts",
  aggregates: [{ name: "branch", idPrefix: "branch-", rules: ["fn initial() { #{ opened: 0 } }", "fn apply_AccountOpened(s, d) { s.opened += 1; s }"] }],
  projections: [
    {
      name: "balances",
      setup: "CREATE TABLE balances (account TEXT PRIMARY KEY, balance INTEGER NOT NULL)",
      on: { AccountOpened: "INSERT INTO balances VALUES (:account, :balance)" },
    },
  ],
};

/**
 * The query box's `balance > 50` over 100,000 accounts, against the same filter and sort in
 * plain JS over an array. Returns medians of 7 tries, in ms.
 */
export async function queryLatency(name) {
  const accounts = Array.from({ length: BATCHES * BATCH }, (_, i) => ({ account: `a${String(i).padStart(6, "0")}`, balance: (i * 7919) % 100 }));
  const sandbox = await Sandbox.open({ storage: "memory", name, scenario: ACCOUNTS, readModel: "manual" });
  for (let b = 0; b < BATCHES; b += 1) {
    const events = accounts.slice(b * BATCH, (b + 1) * BATCH).map((data) => ({ type: "AccountOpened", data }));
    await sandbox.append(`branch-${b}`, events);
  }
  await sandbox.project();
  const sql = "SELECT account, balance FROM balances WHERE balance > 50 ORDER BY account";
  const tries = { sql: [], js: [] };
  let rows = 0;
  let jsRows = 0;
  for (let i = 0; i < 7; i += 1) {
    const answer = await time(() => sandbox.query(sql));
    tries.sql.push(answer.ms);
    rows = answer.result.totalRows;
    const js = await time(async () => accounts.filter((a) => a.balance > 50).sort((x, y) => (x.account < y.account ? -1 : x.account > y.account ? 1 : 0)));
    tries.js.push(js.ms);
    jsRows = js.result.length;
  }
  sandbox.close();
  if (rows !== jsRows) throw new Error(`SQL found ${rows} rows, JS ${jsRows}`);
  const mid = (list) => list.sort((a, b) => a - b)[Math.floor(list.length / 2)];
  return { sql: mid(tries.sql), js: mid(tries.js), rows };
}

// ---- the limit: bare IndexedDB over es-sandbox's own segment records ----
function limitOpen(name) {
  return new Promise((done, fail) => {
    const request = indexedDB.open(`limit-${name}`, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore("segments");
      request.result.createObjectStore("meta");
    };
    request.onsuccess = () => done(request.result);
    request.onerror = () => fail(request.error);
  });
}

/**
 * The fastest any store can write these events in this browser: the segment records es-sandbox
 * wrote for the same 100,000 events (read back from its database, so already encoded), each
 * written as es-sandbox commits it (the segment and the commit record in one transaction), with
 * no rules, no checks and no encoding. Run after `esBatched` on the same name.
 */
export async function limitBatched(name) {
  const source = await new Promise((done, fail) => {
    const request = indexedDB.open(`es-sandbox/${name}`);
    request.onsuccess = () => done(request.result);
    request.onerror = () => fail(request.error);
  });
  const tx = source.transaction("segments");
  const store = tx.objectStore("segments");
  const [keys, values] = await Promise.all([request(store.getAllKeys()), request(store.getAll())]);
  source.close();
  const total = values.reduce((sum, v) => sum + v.byteLength, 0);
  const db = await limitOpen(name);
  const { ms } = await time(async () => {
    for (let i = 0; i < keys.length; i += 1) {
      const write = db.transaction(["segments", "meta"], "readwrite");
      write.objectStore("segments").add(values[i], keys[i]);
      write.objectStore("meta").put(JSON.stringify({ position: keys[i], eventId: "…" }), "head");
      await committed(write);
    }
  });
  db.close();
  return { ms, segments: keys.length, bytes: total };
}

/** A bare `getAll` of those records after a reload, in one request. */
export async function limitLoad(name) {
  const { ms, result } = await time(async () => {
    const db = await limitOpen(name);
    const segments = await request(db.transaction("segments").objectStore("segments").getAll());
    db.close();
    return segments.length;
  });
  return { ms, segments: result };
}

/**
 * The same records read a request each (their keys first, then every `get` issued at once): in
 * Chromium, faster than one `getAll` of a large store.
 */
export async function limitLoadByRecord(name) {
  const { ms, result } = await time(async () => {
    const db = await limitOpen(name);
    const keys = await request(db.transaction("segments").objectStore("segments").getAllKeys());
    const store = db.transaction("segments").objectStore("segments");
    const segments = await Promise.all(keys.map((key) => request(store.get(key))));
    db.close();
    return segments.length;
  });
  return { ms, segments: result };
}

/**
 * The fold's peers: the 10,000 events of one aggregate folded through the rules (a replay
 * without snapshots), and the same events, read out once, folded by the JS reducer a
 * developer would write. Milliseconds, medians of 5 tries.
 */
export async function foldPeers(name) {
  const sandbox = await esOpen(name);
  const events = await sandbox.events({ aggregateId: "acc-3", limit: 20_000 });
  const tries = { rules: [], js: [] };
  let balances = [];
  for (let i = 0; i < 5; i += 1) {
    const rules = await time(() => sandbox.replay("acc-3", { useSnapshots: false }));
    const js = await time(async () => reduce(events));
    tries.rules.push(rules.ms);
    tries.js.push(js.ms);
    balances = [rules.result.state.balance, js.result];
  }
  sandbox.close();
  if (balances[0] !== balances[1]) throw new Error(`the rules say ${balances[0]}, the reducer ${balances[1]}`);
  const mid = (list) => list.sort((a, b) => a - b)[Math.floor(list.length / 2)];
  return { rules: mid(tries.rules), js: mid(tries.js), events: events.length };
}

window.bench = {
  limitBatched, limitLoad, limitLoadByRecord, foldPeers,
  esProjection, queryLatency,
  esBatched, esLoadAndReplay, dexieBatched, dexieLoadAndReplay, rawBatched, rawLoadAndReplay, singles, concurrent,
};
window.benchReady = true;
