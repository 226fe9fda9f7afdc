// The page's own benchmark, run by scripts/bench after the storage one: first paint of the bank
// page, frames while scrolling the event table through 100,000 events, and the time the state
// takes to follow the time-travel slider on an aggregate of 10,000 events. Appends a section to
// bench/results.md. Medians of RUNS runs, each on a fresh profile.
import { appendFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BLANK, launch } from "../tests/e2e/harness.mjs";
import { startServer } from "../scripts/static-server.mjs";
import { longestTask, resetLongTasks, watchLongTasks } from "./long-tasks.mjs";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))];
const cell = (values) => `${median(values).toFixed(1)} [${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)}]`;

/** Records, from the page's start, when the first row of the log appears. */
function watchFirstRow() {
  new MutationObserver((_, observer) => {
    if (document.querySelector("#events tbody tr[data-position]")) {
      window.__firstRow = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
}

async function firstPaint(context, url) {
  const page = await context.newPage();
  await page.addInitScript(watchFirstRow);
  await page.addInitScript(watchLongTasks);
  await page.goto(`${url}?scenario=bank&storage=indexeddb&name=paint`);
  await page.waitForFunction(() => window.__firstRow !== undefined, null, { timeout: 60_000 });
  const longest = await longestTask(page);
  const result = await page.evaluate(() => ({
    paint: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN,
    log: window.__firstRow,
  }));
  await page.close();
  return { ...result, longest };
}

/** Times every animation-frame callback of the page (the log draws in one). */
function timeFrameCallbacks() {
  window.__drawMs = [];
  const request = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (callback) =>
    request((time) => {
      const start = performance.now();
      callback(time);
      if (window.__timing) window.__drawMs.push(performance.now() - start);
    });
}

/** Frames while the table scrolls a screenful per frame through 100,000 events. */
async function tableFrames(context, url) {
  const page = await context.newPage();
  await page.addInitScript(timeFrameCallbacks);
  await page.addInitScript(watchLongTasks);
  await page.goto(`${url}?scenario=bank&storage=indexeddb&name=table`);
  await page.waitForSelector("#events tbody tr[data-position]", { timeout: 60_000 });
  await resetLongTasks(page);
  await page.fill("[data-testid=generate-count]", "100000");
  await page.click("[data-testid=generate]");
  await page.waitForSelector("#generate-result[data-kind=ok]", { timeout: 600_000 });
  const generating = await longestTask(page);
  await page.waitForFunction(() => document.querySelector("#log-count").textContent.startsWith("100,003"), null, { timeout: 60_000 });
  // The read model follows the new events in the background: measure the table once it is done.
  await page.waitForFunction(() => [...document.querySelectorAll("#projections tbody tr")].every((r) => r.cells[1].textContent.startsWith("100003 / 100003")), null, { timeout: 300_000 });
  await page.locator("#log-panel").scrollIntoViewIfNeeded();
  await resetLongTasks(page);
  const frames = await page.evaluate(async () => {
    const scroll = document.querySelector("#log-scroll");
    const frames = async (count, step) => {
      const intervals = [];
      let last = performance.now();
      for (let i = 0; i < count; i++) {
        scroll.scrollTop += step;
        await new Promise((done) => requestAnimationFrame(done));
        const now = performance.now();
        intervals.push(now - last);
        last = now;
      }
      return intervals;
    };
    scroll.scrollTop = 0;
    const idle = await frames(120, 0);
    window.__timing = true;
    // Each frame moves the view 40 rows down, for 300 frames: 12,000 rows.
    const scrolling = await frames(300, 40 * 32);
    window.__timing = false;
    return { idle, scrolling, draws: window.__drawMs.filter((ms) => ms > 0.05) };
  });
  const scrolling = await longestTask(page);
  await page.close();
  return { ...frames, longest: { generating, scrolling } };
}

/** How long the state takes to follow one move of the slider, on an aggregate of 10,000 events. */
async function sliderUpdates(context, url) {
  const setup = await context.newPage();
  await setup.goto(`${url}blank.html`);
  await setup.evaluate(async () => {
    const { default: init, Sandbox } = await import("/pkg/es_sandbox.js");
    await init();
    const sandbox = await Sandbox.open({ storage: "indexeddb", name: "slider", scenario: "bank" });
    for (let b = 0; b < 10; b++) {
      const events = Array.from({ length: 1000 }, (_, i) => ({ type: i % 3 ? "Deposited" : "Deducted", data: { amount: 1 + (i % 5) } }));
      await sandbox.append("acc-001", events);
    }
    sandbox.close();
  });
  await setup.close();
  const page = await context.newPage();
  await page.addInitScript(watchLongTasks);
  await page.goto(`${url}?scenario=bank&storage=indexeddb&name=slider`);
  await page.waitForSelector("#events tbody tr[data-position]", { timeout: 60_000 });
  await page.waitForFunction(() => document.querySelector("#replay-info").textContent.includes("of 10,003") || document.querySelector("#replay-info").textContent.includes("of 10003"));
  await resetLongTasks(page);
  const updates = await page.evaluate(async () => {
    const slider = document.querySelector("#cursor");
    const info = document.querySelector("#replay-info");
    const times = [];
    for (let i = 0; i < 60; i++) {
      // Each move in a task of its own, as a user's input events come: without this, moves
      // that end in promises only would chain into one long task.
      await new Promise((done) => setTimeout(done, 0));
      const position = 200 + i * 163;
      const changed = new Promise((done) => {
        const observer = new MutationObserver(() => {
          if (info.textContent.includes(`as of position ${position}`)) {
            observer.disconnect();
            done();
          }
        });
        observer.observe(info, { childList: true, characterData: true, subtree: true });
      });
      const start = performance.now();
      slider.value = String(position);
      slider.dispatchEvent(new Event("input", { bubbles: true }));
      await changed;
      times.push(performance.now() - start);
    }
    return times;
  });
  const longest = await longestTask(page);
  await page.close();
  return { times: updates, longest };
}

const { server, url: root } = await startServer({ root: "www", port: 0, pages: { "/blank.html": BLANK } });
const results = { paint: [], log: [], idle: [], frameMedian: [], frameP95: [], drawMedian: [], drawP95: [], sliderMedian: [], sliderP95: [], longOpen: [], longGenerate: [], longScroll: [], longSlider: [] };
for (let run = 1; run <= RUNS; run += 1) {
  process.stderr.write(`page run ${run}/${RUNS}…\n`);
  const profile = await mkdtemp(join(tmpdir(), "es-sandbox-page-bench-"));
  const context = await launch(profile);
  const paint = await firstPaint(context, root);
  results.paint.push(paint.paint);
  results.log.push(paint.log);
  results.longOpen.push(paint.longest);
  const frames = await tableFrames(context, root);
  results.idle.push(median(frames.idle));
  results.frameMedian.push(median(frames.scrolling));
  results.frameP95.push(percentile(frames.scrolling, 95));
  results.drawMedian.push(median(frames.draws));
  results.drawP95.push(percentile(frames.draws, 95));
  results.longGenerate.push(frames.longest.generating);
  results.longScroll.push(frames.longest.scrolling);
  const slider = await sliderUpdates(context, root);
  results.sliderMedian.push(median(slider.times));
  results.sliderP95.push(percentile(slider.times, 95));
  results.longSlider.push(slider.longest);
  await context.close();
  await rm(profile, { recursive: true, force: true });
}
server.close();

const lines = [
  "",
  "## The page",
  "",
  `Measured in headless Chromium, ${RUNS} runs each on a fresh profile, median [min–max]. First paint: Chromium's first contentful paint`,
  "of the bank page on IndexedDB, and the moment the log's first row is drawn (module loaded, store opened, seeded, rendered), both from",
  "navigation start. Table: after generating 100,000 commands (and the read model catching up), the log scrolls 40 rows per frame",
  "for 300 frames; measured are the page's work in each animation frame (the log draws the rows in view in one) and the intervals",
  "between frames, beside the same page's frames at rest (headless Chromium's frame clock). Slider: an aggregate of 10,003 events",
  "(snapshots every 100), the slider moved to 60 positions; the time from the input event to the state panel saying the new position.",
  "Longest task: Chromium's long-task entries during each measure (50 stands for none over 50 ms).",
  "",
  "| | measured | target |",
  "|---|---|---|",
  `| First contentful paint (ms) | ${cell(results.paint)} | < 500 ms |`,
  `| The log's first row drawn (ms) | ${cell(results.log)} | |`,
  `| Table scrolling through 100,000 events: the page's work per frame, median (ms) | ${cell(results.drawMedian)} | < 16 ms |`,
  `| … 95th percentile (ms) | ${cell(results.drawP95)} | |`,
  `| … interval between frames while scrolling, median (ms) | ${cell(results.frameMedian)} | |`,
  `| … 95th percentile (ms) | ${cell(results.frameP95)} | |`,
  `| … interval between frames at rest, median (ms) | ${cell(results.idle)} | |`,
  `| Slider to state on a 10,000-event aggregate: median (ms) | ${cell(results.sliderMedian)} | < 16 ms |`,
  `| … 95th percentile (ms) | ${cell(results.sliderP95)} | |`,
  `| Longest main-thread task: loading and opening, to the first row (ms) | ${cell(results.longOpen)} | < 200 ms |`,
  `| … generating 100,000 commands (ms) | ${cell(results.longGenerate)} | < 200 ms |`,
  `| … scrolling the table (ms) | ${cell(results.longScroll)} | |`,
  `| … moving the slider (ms) | ${cell(results.longSlider)} | |`,
  "",
];
appendFileSync("bench/results.md", lines.join("\n"));
console.log(lines.join("\n"));
