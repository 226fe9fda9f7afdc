// The consumers lab's benchmark, run by scripts/bench: 100,000 bank events to 3 consumers in
// workers over a perfect link, driven as the page drives them (the lab's player, an 8 ms budget
// per frame, at a speed that never waits for simulated time). Measured: events per second per
// consumer end to end (the store's side on the page, the link, the worker, SQLite, the ack),
// beside the page's own read model projecting the same events in the same run; the page's
// frames while the run goes on; each worker's memory after it. Appends a section to
// bench/results.md. Medians of RUNS runs, each on a fresh profile.
import { appendFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BLANK, launch } from "../tests/e2e/harness.mjs";
import { startServer } from "../scripts/static-server.mjs";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const EVENTS = 100_000;
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fmt = (value) => (value >= 10_000 ? `${(value / 1000).toFixed(0)}k` : value >= 100 ? value.toFixed(0) : value.toFixed(1));
const cell = (values) => `${fmt(median(values))} [${fmt(Math.min(...values))}–${fmt(Math.max(...values))}]`;

/** One run in the page: returns rates, frames and memory. */
async function inPage(events) {
  const { loadWasm } = await import("/wasm-source.js");
  const { LabRunner } = await import("/lab-runner.js");
  const { LabPlayer } = await import("/lab-player.js");
  const { Sandbox } = await loadWasm(false);
  const sandbox = await Sandbox.open({ storage: "memory", name: "bench-consumers", scenario: "bank", readModel: "manual" });
  // 100,000 events over 10 accounts, in batches of 1,000 (as the storage benchmark's).
  const versions = new Array(10).fill(0);
  for (let b = 0; b < events / 1000; b++) {
    const k = b % 10;
    const batch = Array.from({ length: 1000 }, (_, i) => {
      versions[k] += 1;
      const created = versions[k] === 1;
      return { type: created ? "Created" : i % 3 ? "Deposited" : "Deducted", data: created ? { balance: 0 } : { amount: (i % 7) + 1 } };
    });
    await sandbox.append(`acc-${k}`, batch);
  }
  const head = await sandbox.headPosition();
  // The page's read model: the same projections the consumers run (the events mirror paused), then with it.
  sandbox.pauseProjection("events");
  let started = performance.now();
  await sandbox.project();
  const inPageMs = performance.now() - started;

  const lab = await sandbox.consumersLab({
    settings: { consumers: 3, link: { latencyMs: 100 }, handlingMs: 0, group: { inFlightLimit: 2000, maxCheckpointCount: 1000 } },
    namespace: "bench",
  });
  const runner = new LabRunner(lab);
  const player = new LabPlayer(runner);
  player.speed = 1e6;
  const frames = [];
  const long = [];
  started = performance.now();
  // Long animation frames (over 50 ms) that began during the run, with what ran in them.
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.startTime < started) continue;
      long.push({ ms: e.duration, scripts: e.scripts.map((s) => `${s.invoker} ${s.sourceFunctionName || ""} ${Math.round(s.duration)} ms`).slice(0, 5) });
    }
  }).observe({ type: "long-animation-frame" });
  player.play();
  let last = performance.now();
  const done = new Array(3).fill(undefined);
  await new Promise((resolve) => {
    const frame = () => {
      const now = performance.now();
      frames.push(now - last);
      last = now;
      const status = lab.status();
      status.consumers.forEach((c, i) => {
        if (done[i] === undefined && c.checkpoint === head) done[i] = now - started;
      });
      if (done.every((d) => d !== undefined) && status.settled) resolve();
      else requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
  player.pause();
  const memory = await runner.memory();
  const answers = await Promise.all([0, 1, 2].map((i) => runner.query(i, "SELECT count(*) FROM ledger")));
  const status = lab.status();
  player.stop();
  return {
    head,
    inPage: (head / inPageMs) * 1000,
    perConsumer: done.map((ms) => (head / ms) * 1000),
    frames,
    longest: Math.max(0, ...long.map((l) => l.ms)),
    longFrames: long.length,
    longWhat: long.sort((a, b) => b.ms - a.ms)[0]?.scripts ?? [],
    memory: memory.map((m) => m?.wasmBytes ?? NaN),
    ledger: answers.map((a) => a?.rows[0][0]),
    diverged: status.consumers.filter((c) => c.diverged).length,
  };
}

const { server, url } = await startServer({ root: "www", port: 0, pages: { "/blank.html": BLANK } });
const results = [];
for (let run = 0; run < RUNS; run++) {
  const profile = await mkdtemp(join(tmpdir(), "es-sandbox-bench-consumers-"));
  const context = await launch(profile);
  try {
    const page = await context.newPage();
    page.on("pageerror", (e) => console.error("page error:", e.message));
    await page.goto(`${url}/blank.html`);
    const result = await page.evaluate(inPage, EVENTS);
    if (result.ledger.some((n) => n !== result.head) || result.diverged) throw new Error(`a consumer did not converge: ${JSON.stringify(result.ledger)}`);
    results.push(result);
    console.error(`run ${run + 1}: ${result.perConsumer.map(fmt).join(", ")} events/s per consumer; in-page ${fmt(result.inPage)}; ${result.longFrames} long frame(s), the longest ${fmt(result.longest)} ms: ${result.longWhat.join("; ")}`);
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}
server.close();

const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))];
const perConsumer = results.map((r) => median(r.perConsumer));
const slowest = results.map((r) => Math.min(...r.perConsumer));
const frameMedian = results.map((r) => median(r.frames));
const frame95 = results.map((r) => percentile(r.frames, 95));
const longest = results.map((r) => r.longest);
const memory = results.map((r) => median(r.memory) / 1024 / 1024);
const section = `
## Consumers lab

Measured in headless Chromium, ${RUNS} runs each on a fresh profile, median [min–max]: ${fmt(EVENTS)} bank events (10 accounts) in a
memory store, handed to 3 consumers in workers of their own (persistent subscriptions, one group each, a perfect link of 100 ms
simulated latency, in-flight limit 2,000, handling 0 ms, inbox off), driven as the page drives them: the lab's player at a speed that
never waits for simulated time, the runner working at most 8 ms per frame and handing out at most 512 deliveries at once. A consumer's
rate is the log's events over the wall time until its checkpoint reached the head: the store's side on the page, the message to its
worker, its SQLite read model (\`balances\`, \`ledger\`, \`deposits\`: three SQL writes per event, each event in a savepoint, each batch of deliveries in one transaction), its ack
back. Beside it, the page's own read model projecting the same events into the same three projections (\`Sandbox.project()\`, the
\`events\` mirror paused) in the same run. Frames: the interval between animation frames while the run goes on. Memory: each worker's
wasm linear memory after the run (its SQLite, its page cache, the module's heap). Every run ends with each consumer's ledger
holding every event once.

| | measured | target |
|---|---|---|
| Events/s per consumer, end to end (median of the three) | ${cell(perConsumer)} | |
| … the slowest of the three | ${cell(slowest)} | |
| The page's own read model, same projections, same run (events/s) | ${cell(results.map((r) => r.inPage))} | |
| Interval between frames while the run goes on, median (ms) | ${cell(frameMedian)} | |
| … 95th percentile (ms) | ${cell(frame95)} | < 16 ms of work per frame |
| Longest animation frame during the run (ms; 0: none over 50 ms) | ${cell(longest)} | |
| … animation frames over 50 ms during the run | ${cell(results.map((r) => r.longFrames))} | |
| wasm memory per worker after the run (MB) | ${cell(memory)} | |
`;
appendFileSync("bench/results.md", section);
console.error(section);
