// Growth, run by scripts/bench: logs of 10,000, 100,000 and 1,000,000 bank events made as a
// user makes them (the page's `generate`, in calls of 50,000 commands, IndexedDB, one tab), then
// each opened cold in a new page. Measured: generating, opening, the wasm memory and JS heap
// after opening, bytes stored per event (the segment records in IndexedDB, read back bare),
// projecting everything and a `count(*)` query, and a replay of the largest aggregate with and
// without snapshots. One run per size (the 1,000,000 alone takes about a minute to generate);
// appends a section to bench/results.md.
import { appendFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BLANK, launch } from "../tests/e2e/harness.mjs";
import { startServer } from "../scripts/static-server.mjs";
import { longestTask, watchLongTasks } from "./long-tasks.mjs";

const SIZES = (process.env.GROWTH_SIZES ?? "10000,100000,1000000").split(",").map(Number);

/** Generates `size` commands into a new IndexedDB store, in calls of 50,000. */
async function generate(size) {
  const { default: init, Sandbox } = await import("/pkg/es_sandbox.js");
  await init();
  const sandbox = await Sandbox.open({ storage: "indexeddb", name: `growth-${size}`, scenario: "bank", readModel: "manual" });
  const started = performance.now();
  for (let done = 0; done < size; done += 50_000) {
    await sandbox.generate({ count: Math.min(50_000, size - done), seed: done + 1 });
  }
  const ms = performance.now() - started;
  sandbox.close();
  return ms;
}

/** Opens the store cold and measures what it costs and holds. */
async function open(size) {
  const { default: init, Sandbox } = await import("/pkg/es_sandbox.js");
  const wasm = await init();
  const time = async (work) => {
    const start = performance.now();
    const result = await work();
    return [performance.now() - start, result];
  };
  // The longest main-thread task of each stretch of work, then counting again (after a moment:
  // Chromium reports a long task a little after it ends).
  const longest = async () => {
    await new Promise((done) => setTimeout(done, 100));
    const ms = Math.max(50, window.__longTasks.longest);
    window.__longTasks = { longest: 0, over200: 0 };
    return ms;
  };
  await longest();
  const [openMs, sandbox] = await time(() => Sandbox.open({ storage: "indexeddb", name: `growth-${size}`, scenario: "bank", readModel: "manual" }));
  const openLongest = await longest();
  const memory = { wasmMB: wasm.memory.buffer.byteLength / 1048576, heapMB: performance.memory.usedJSHeapSize / 1048576 };
  const events = await sandbox.headPosition();
  const [pageMs] = await time(() => sandbox.events({ fromPosition: Math.floor(events / 2), limit: 200 }));
  const storage = await sandbox.storage();
  const largest = storage.aggregates[0];
  const [withSnapshotsMs] = await time(() => sandbox.replay(largest.aggregateId));
  const [withoutMs] = await time(() => sandbox.replay(largest.aggregateId, { useSnapshots: false }));
  // A shipped scenario's read model is set up on first use: here, before projecting is timed.
  await sandbox.projections();
  const restLongest = await longest();
  const [projectMs] = await time(() => sandbox.project());
  const projectLongest = await longest();
  const [queryMs, answer] = await time(() => sandbox.query("SELECT count(*) FROM events"));
  sandbox.close();
  const stored = await new Promise((done, fail) => {
    const request = indexedDB.open(`es-sandbox/growth-${size}`);
    request.onerror = () => fail(request.error);
    request.onsuccess = () => {
      const db = request.result;
      const all = db.transaction("segments").objectStore("segments").getAll();
      all.onerror = () => fail(all.error);
      all.onsuccess = () => {
        db.close();
        done({ records: all.result.length, bytes: all.result.reduce((sum, v) => sum + v.byteLength, 0) });
      };
    };
  });
  if (Number(answer.rows[0][0]) !== events) throw new Error(`count(*) says ${answer.rows[0][0]}, the log ${events}`);
  return { openMs, openLongest, restLongest, projectLongest, ...memory, events, pageMs, largest: largest.aggregateId, largestEvents: largest.events, withSnapshotsMs, withoutMs, projectMs, queryMs, ...stored };
}

const { server, url } = await startServer({ root: "www", port: 0, pages: { "/blank.html": BLANK } });
const profile = await mkdtemp(join(tmpdir(), "es-sandbox-growth-"));
const context = await launch(profile);
const rows = [];
for (const size of SIZES) {
  process.stderr.write(`growth: ${size} commands…\n`);
  const writer = await context.newPage();
  await writer.addInitScript(watchLongTasks);
  await writer.goto(`${url}blank.html`);
  const generateMs = await writer.evaluate(generate, size);
  const generateLongest = await longestTask(writer);
  await writer.close();
  const reader = await context.newPage();
  await reader.addInitScript(watchLongTasks);
  await reader.goto(`${url}blank.html`);
  const opened = await reader.evaluate(open, size);
  opened.restLongest = Math.max(opened.restLongest, await longestTask(reader));
  await reader.close();
  rows.push({ size, generateMs, generateLongest, ...opened });
  process.stderr.write(`${JSON.stringify(rows.at(-1))}\n`);
}
await context.close();
await rm(profile, { recursive: true, force: true });
server.close();

const s = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms >= 100 ? 0 : 1)} ms`);
const lines = [
  "",
  "## Growth",
  "",
  "Logs made as a user makes them: the page's `generate` (bank, in calls of 50,000 commands) into IndexedDB in one tab, then opened",
  "cold in a new page (`readModel: \"manual\"`, so that opening and projecting are measured apart). One run per size. Stored: the",
  "segment records' bytes in IndexedDB (read back bare) per event. Memory: the module's wasm memory and the page's JS heap right",
  "after opening (every event is decoded and held in memory, with its indexes). A page: 200 events from the middle of the log.",
  "Project: every projection (with the `events` mirror, its read model set up first) brought to the head, then `SELECT count(*) FROM events`. Replay: the",
  "largest aggregate, with snapshots and without. Longest task: the longest main-thread task while generating, while opening,",
  "while paging and replaying, and while projecting everything in one `project()` call, then querying (50: none over 50 ms).",
  "",
  "| events | generate | cold open | wasm memory | JS heap | stored per event (records) | a page of 200 | project all | `count(*)` | replay with / without snapshots (events) | longest task: generate / open / page and replay / project all |",
  "|---|---|---|---|---|---|---|---|---|---|---|",
  ...rows.map(
    (r) =>
      `| ${r.events.toLocaleString("en")} | ${s(r.generateMs)} | ${s(r.openMs)} | ${r.wasmMB.toFixed(0)} MB | ${r.heapMB.toFixed(0)} MB | ${(r.bytes / r.events).toFixed(0)} B (${r.records}) | ${s(r.pageMs)} | ${s(r.projectMs)} | ${s(r.queryMs)} | ${s(r.withSnapshotsMs)} / ${s(r.withoutMs)} (${r.largestEvents.toLocaleString("en")}) | ${s(r.generateLongest)} / ${s(r.openLongest)} / ${s(r.restLongest)} / ${s(r.projectLongest)} |`,
  ),
  "",
];
appendFileSync("bench/results.md", lines.join("\n"));
console.error(lines.join("\n"));
