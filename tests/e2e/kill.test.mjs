// Durability, measured: four tabs append as fast as they can, the whole browser is killed with
// SIGKILL mid-write, and a new browser on the same profile checks every acknowledged event.
// IndexedDB (relaxed and strict) must keep all of them. localStorage cannot (Chromium writes it
// to disk seconds late): there the store must notice the loss through its commit record and say
// so, never open silently short, and keeping its intact part must give a log of acknowledged
// events only.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startServer } from "../../scripts/static-server.mjs";
import { BLANK, CHROMIUM_ARGS, freshName } from "./harness.mjs";

const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
let server;
let url;
before(async () => {
  ({ server, url } = await startServer({ root: "www", port: 0, pages: { "/blank.html": BLANK } }));
});
// Every browser this file starts is killed at the end, whatever failed on the way.
const spawned = new Set();
after(() => {
  server?.close();
  for (const kill of spawned) kill();
});

/** Starts Chromium as a process of our own (so it can be killed) and connects to it. */
async function spawnBrowser(profile) {
  const child = spawn(executablePath, [...CHROMIUM_ARGS, `--user-data-dir=${profile}`, "--remote-debugging-port=0", "about:blank"], {
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const endpoint = await new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`Chromium did not start: ${seen}`)), 30_000);
    child.stderr.on("data", (chunk) => {
      seen += chunk;
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`Chromium exited with ${code}: ${seen}`)));
  });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  const killGroup = () => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  };
  spawned.add(killGroup);
  child.on("exit", () => spawned.delete(killGroup));
  const browser = await chromium.connectOverCDP(endpoint);
  return {
    browser,
    context: browser.contexts()[0],
    /** SIGKILL to Chromium and all its processes: a crash, not a shutdown. */
    kill: async () => {
      killGroup();
      await exited;
    },
    /**
     * A shutdown, not a crash: Chromium is asked to close and given time to write its files.
     * Only where it does not exit in time is it killed (and the next open may find its
     * IndexedDB data deleted, which `openStore` accepts when the store says so).
     */
    close: async () => {
      const session = await browser.newBrowserCDPSession().catch(() => null);
      await session?.send("Browser.close").catch(() => {});
      const timedOut = await Promise.race([exited.then(() => false), new Promise((resolve) => setTimeout(() => resolve(true), 10_000))]);
      if (timedOut) killGroup();
      await exited;
    },
  };
}

/** Opens a page of the app's origin with the module loaded and a sandbox on the store. */
async function openSandbox(context, options) {
  const page = await context.newPage();
  await page.goto(`${url}blank.html`);
  const opened = await page.evaluate(async (options) => {
    const module = await import("./pkg/es_sandbox.js");
    await module.default();
    window.es = module;
    try {
      window.sandbox = await module.Sandbox.open({ ...options, scenario: "bank", readModel: "manual" });
      return { ok: true };
    } catch (error) {
      return { error: { kind: error.kind, message: error.message, details: error.details } };
    }
  }, options);
  return { page, opened };
}

/** The message of a store whose database the browser deleted and made anew. */
const GONE = /IndexedDB database was deleted and made anew outside the sandbox/;

/**
 * Opens a sandbox on a store the browser may have lost since the last kill. Chromium now and
 * then finds its IndexedDB data corrupt after a kill and deletes it: every event is gone, and the
 * store must say so, never open empty. Then the events acknowledged so far are forgotten, the
 * store is destroyed and opened anew. `undefined` for `t` where the browser may not lose it.
 */
async function openStore(context, options, acknowledged, t, round) {
  const { page, opened } = await openSandbox(context, options);
  if (opened.ok || !t) {
    assert.deepEqual(opened, { ok: true });
    return { page, lost: false };
  }
  assert.equal(opened.error.kind, "corrupt", `round ${round}: ${JSON.stringify(opened.error)}`);
  assert.match(opened.error.message, GONE);
  t.diagnostic(`round ${round}: the browser deleted the store's database after a kill (${acknowledged.length} acknowledged events lost), and the store said so: ${opened.error.message}`);
  await page.evaluate((options) => window.es.Sandbox.destroyStore(options), options);
  acknowledged.length = 0;
  return { page, lost: true };
}

/**
 * Opens four writer tabs; each acknowledged event id lands in `acknowledged`, and where it came
 * from (round, tab, batch) in `origins`, so that a loss can be told apart: the last moments
 * before the kill, or events an earlier round had already found stored. With `t`, the first
 * tab's open may find the store's database deleted by the browser (see `openStore`).
 */
async function openWriterTabs(context, options, acknowledged, { origins = new Map(), round = 0, t } = {}) {
  const pages = [];
  for (let tab = 0; tab < 4; tab += 1) {
    let { page, lost } = await openStore(context, options, acknowledged, tab === 0 ? t : undefined, round);
    if (lost) ({ page } = await openStore(context, options, acknowledged, undefined, round));
    let batch = 0;
    await page.exposeFunction("acknowledge", (ids) => {
      batch += 1;
      for (const id of ids) origins.set(id, { round, tab, batch, at: Date.now() });
      acknowledged.push(...ids);
    });
    pages.push(page);
  }
  return pages;
}

/** Where lost events came from: per round and tab, which batches, and how long before the kill. */
function describeLoss(lost, origins, killedAt) {
  const groups = new Map();
  for (const id of lost) {
    const { round, tab, batch, at } = origins.get(id) ?? {};
    const key = `round ${round} tab ${tab}`;
    const group = groups.get(key) ?? { batches: new Set(), msBeforeKill: [] };
    group.batches.add(batch);
    group.msBeforeKill.push(killedAt[round] - at);
    groups.set(key, group);
  }
  return [...groups]
    .map(([key, g]) => `${key}: batches ${[...g.batches].join(",")}, acknowledged ${Math.min(...g.msBeforeKill)}–${Math.max(...g.msBeforeKill)} ms before that round's kill`)
    .join("; ");
}

/** Every tab appends batches of 5 for `ms` milliseconds (or until the browser dies). */
async function writeFor(pages, ms) {
  const runs = pages.map((page, tab) =>
    page
      .evaluate(
        async ({ tab, ms }) => {
          const aggregateId = `acc-k${tab}`;
          if ((await window.sandbox.streams()).every((s) => s.aggregateId !== aggregateId)) {
            await window.sandbox.execute(aggregateId, "Create", { balance: 0 });
          }
          const until = Date.now() + ms;
          while (Date.now() < until) {
            const batch = Array.from({ length: 5 }, () => ({ type: "Deposited", data: { amount: 1 }, eventId: crypto.randomUUID() }));
            await window.sandbox.append(aggregateId, batch);
            await window.acknowledge(batch.map((e) => e.eventId));
          }
        },
        { tab, ms },
      )
      // The browser is killed while it writes: that is the point.
      .catch(() => {}),
  );
  await Promise.race([Promise.all(runs), new Promise((resolve) => setTimeout(resolve, ms))]);
}

async function storedIds(page) {
  return page.evaluate(async () => {
    const events = await window.sandbox.events({ limit: 1_000_000 });
    return { ids: events.map((e) => e.eventId), positions: events.map((e) => e.position) };
  });
}

const range = (n) => Array.from({ length: n }, (_, i) => i + 1);

// KILL_ROUNDS=n runs n rounds of each (a soak); the suite runs 3 relaxed and 2 strict.
const soak = Number(process.env.KILL_ROUNDS) || 0;
for (const [storage, durability, rounds] of [
  ["indexeddb", "relaxed", soak || 3],
  ["indexeddb", "strict", soak || 2],
]) {
  test(`${storage} (${durability}): a killed browser loses no acknowledged append, or the store says so`, async (t) => {
    const profile = await mkdtemp(join(tmpdir(), "es-sandbox-kill-"));
    const name = freshName("kill");
    const options = { storage, name, durability };
    const acknowledged = [];
    const origins = new Map();
    const killedAt = [];
    try {
      for (let round = 0; round < rounds; round += 1) {
        const writing = await spawnBrowser(profile);
        await writeFor(await openWriterTabs(writing.context, options, acknowledged, { origins, round, t }), 1500);
        killedAt[round] = Date.now();
        await writing.kill();
        const checking = await spawnBrowser(profile);
        const { page, lost: deleted } = await openStore(checking.context, options, acknowledged, t, round);
        if (deleted) {
          await checking.close();
          continue;
        }
        const { ids, positions } = await storedIds(page);
        await checking.close();
        const stored = new Set(ids);
        assert.equal(stored.size, ids.length, "no event is stored twice");
        assert.deepEqual(positions, range(ids.length), "positions have no gaps");
        const lost = acknowledged.filter((id) => !stored.has(id));
        t.diagnostic(`round ${round}: ${acknowledged.length} acknowledged in all, ${ids.length} stored, ${lost.length} lost`);
        assert.equal(
          lost.length,
          0,
          `round ${round}: ${lost.length} of ${acknowledged.length} acknowledged events lost, ${ids.length} stored (${describeLoss(lost, origins, killedAt)})`,
        );
      }
    } finally {
      await rm(profile, { recursive: true, force: true });
    }
  });
}

/** Garbles every byte in seven of the site's IndexedDB manifests, as a torn write might. */
async function corruptIndexedDb(profile) {
  const root = join(profile, "Default", "IndexedDB");
  let garbled = 0;
  for (const dir of (await readdir(root)).filter((d) => d.endsWith(".leveldb"))) {
    for (const file of (await readdir(join(root, dir))).filter((f) => f.startsWith("MANIFEST"))) {
      const bytes = await readFile(join(root, dir, file));
      for (let i = 8; i < bytes.length; i += 7) bytes[i] ^= 0xff;
      await writeFile(join(root, dir, file), bytes);
      garbled += 1;
    }
  }
  assert.ok(garbled > 0, "found the site's IndexedDB files");
}

test("a store whose database the browser deleted as corrupt says so, and does not open empty", async () => {
  const profile = await mkdtemp(join(tmpdir(), "es-sandbox-gone-"));
  const [kept, other, later] = [freshName("gone"), freshName("gone-other"), freshName("gone-new")];
  const open = (context, name) => openSandbox(context, { storage: "indexeddb", name });
  try {
    const writing = await spawnBrowser(profile);
    for (const name of [kept, other]) {
      const { page, opened } = await open(writing.context, name);
      assert.deepEqual(opened, { ok: true });
      await page.evaluate(async () => {
        for (let i = 0; i < 5; i += 1) await window.sandbox.execute("acc-001", "Deposit", { amount: 1 });
        // The witness keeps the head at most once a second: let it see the last deposits.
        await new Promise((resolve) => setTimeout(resolve, 1200));
        await window.sandbox.execute("acc-001", "Deposit", { amount: 1 });
        await new Promise((resolve) => setTimeout(resolve, 300));
      });
    }
    await writing.kill();
    await corruptIndexedDb(profile);

    const checking = await spawnBrowser(profile);
    // The first open after the deletion is the only one the browser tells (dataLoss): `other`
    // takes it, `kept` must notice all the same.
    const first = await open(checking.context, other);
    assert.equal(first.opened.error?.kind, "corrupt", JSON.stringify(first.opened));
    const { page, opened } = await open(checking.context, kept);
    assert.equal(opened.error?.kind, "corrupt", JSON.stringify(opened));
    assert.match(opened.error.message, GONE);
    assert.match(opened.error.message, /up to at least position 9/);
    assert.equal(opened.error.details.intactUpTo, 0);
    const store = { storage: "indexeddb", name: kept };
    const inspection = await page.evaluate((store) => window.es.Sandbox.inspectStore(store), store);
    assert.equal(inspection.committed, 9, JSON.stringify(inspection));
    assert.equal(inspection.intactUpTo, 0);
    assert.match(inspection.problem.reason, GONE);
    // Still reported on a second open: the store does not forget.
    assert.equal((await open(checking.context, kept)).opened.error?.kind, "corrupt");
    // Keeping the intact part (nothing) starts the store over, said plainly by the count.
    await page.evaluate((store) => window.es.Sandbox.truncateStore({ ...store, keep: 0 }), store);
    const again = await open(checking.context, kept);
    assert.deepEqual(again.opened, { ok: true });
    assert.equal((await storedIds(again.page)).ids.length, 3, "the seed only");
    // A store that never existed opens as new: no witness, nothing to report.
    assert.deepEqual((await open(checking.context, later)).opened, { ok: true });
    await checking.close();
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
});

test("localstorage: a killed browser may lose the last appends, and the store says so", async (t) => {
  const profile = await mkdtemp(join(tmpdir(), "es-sandbox-kill-"));
  const name = freshName("kill-ls");
  const options = { storage: "localstorage", name };
  try {
    const writing = await spawnBrowser(profile);
    const acknowledged = [];
    const pages = await openWriterTabs(writing.context, options, acknowledged);
    // Appends, then quiet for a while (Chromium writes localStorage to disk some seconds after
    // the last change), then appends again until the kill.
    await writeFor(pages, 1000);
    const beforeQuiet = acknowledged.length;
    await new Promise((resolve) => setTimeout(resolve, 8000));
    writeFor(pages, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await writing.kill();
    const checking = await spawnBrowser(profile);
    const { page, opened } = await openSandbox(checking.context, options);
    let kept;
    if (opened.ok) {
      kept = await storedIds(page);
      const stored = new Set(kept.ids);
      assert.deepEqual(acknowledged.filter((id) => !stored.has(id)), [], "a store that opens has every acknowledged event");
      t.diagnostic(`${acknowledged.length} acknowledged, all stored: nothing lost this time`);
    } else {
      // The commit record (in IndexedDB) survived; localStorage did not reach it.
      assert.equal(opened.error.kind, "corrupt");
      assert.match(opened.error.message, /the log ends at position \d+ but position \d+ was acknowledged/);
      const inspection = await page.evaluate(async (name) => window.es.Sandbox.inspectStore({ storage: "localstorage", name }), name);
      assert.ok(inspection.intactUpTo < inspection.committed, JSON.stringify(inspection));
      assert.equal(opened.error.details.intactUpTo, inspection.intactUpTo);
      await page.evaluate(async ({ name, keep }) => window.es.Sandbox.truncateStore({ storage: "localstorage", name, keep }), { name, keep: inspection.intactUpTo });
      const reopened = await openSandbox(checking.context, options);
      assert.deepEqual(reopened.opened, { ok: true });
      kept = await storedIds(reopened.page);
      t.diagnostic(
        `${acknowledged.length} acknowledged (${beforeQuiet} before 8 s of quiet); localStorage kept ${inspection.intactUpTo} of ${inspection.committed} acknowledged positions: ${inspection.committed - inspection.intactUpTo} lost, and reported`,
      );
    }
    await checking.close();
    // What is kept is the log, unchanged: acknowledged events (and the 4 Creates and the seed).
    assert.deepEqual(kept.positions, range(kept.ids.length));
    const known = new Set(acknowledged);
    const unknown = kept.ids.filter((id) => !known.has(id));
    assert.ok(unknown.length <= 3 + 4 + 4 * 5, `only the seed, the Creates and in-flight batches are unacknowledged: ${unknown.length}`);
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
});
