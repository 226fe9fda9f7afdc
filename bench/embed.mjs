// The embeds' benchmark, run by scripts/bench on dist/ (built by scripts/dist): a documentation
// page with three <es-sandbox> elements in view (two without a read-model panel, on the lean
// module; one with the query box, on the whole one), from navigation to each showing its log,
// and what it downloaded; and the sizes of the two modules and of the single offline file.
// Appends a section to bench/results.md. Medians of RUNS runs, each on a fresh profile.
import { appendFileSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { launch } from "../tests/e2e/harness.mjs";
import { startServer } from "../scripts/static-server.mjs";
import { longestTask, watchLongTasks } from "./long-tasks.mjs";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const cell = (values) => `${median(values).toFixed(0)} [${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}]`;
const kb = (bytes) => `${Math.round(bytes / 1024)} KB`;

const DOCS = `<!doctype html><meta charset="utf-8"><title>docs</title>
<h1>A page of documentation</h1><p>Three sandboxes follow.</p>
<es-sandbox id="a" scenario="bank" panels="events,state,command"></es-sandbox>
<es-sandbox id="b" scenario="users" panels="events,state" compact></es-sandbox>
<es-sandbox id="c" scenario="orders" panels="events,query" compact></es-sandbox>
<script type="module" src="embed.js"></script>`;

/** Records, from navigation start, when each embed first shows a row of its log. */
function watchEmbeds() {
  window.__ready = {};
  const check = () => {
    for (const element of document.querySelectorAll("es-sandbox")) {
      if (window.__ready[element.id] === undefined && element.shadowRoot?.querySelector("#events tbody tr[data-position]")) {
        window.__ready[element.id] = performance.now();
      }
    }
    if (Object.keys(window.__ready).length < 3) requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
}

const { server, url } = await startServer({ root: "dist", port: 0, pages: { "/docs.html": DOCS } });
const results = { paint: [], a: [], b: [], c: [], wasm: [], longest: [] };
for (let run = 1; run <= RUNS; run += 1) {
  process.stderr.write(`embed run ${run}/${RUNS}…\n`);
  const profile = await mkdtemp(join(tmpdir(), "es-sandbox-embed-bench-"));
  const context = await launch(profile);
  const page = await context.newPage();
  await page.addInitScript(watchEmbeds);
  await page.addInitScript(watchLongTasks);
  await page.goto(`${url}docs.html`);
  await page.waitForFunction(() => Object.keys(window.__ready).length === 3, null, { timeout: 60_000 });
  const measured = await page.evaluate(() => ({
    paint: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN,
    ready: window.__ready,
    wasm: performance
      .getEntriesByType("resource")
      .filter((entry) => entry.name.endsWith(".wasm"))
      .reduce((sum, entry) => sum + entry.encodedBodySize, 0),
  }));
  results.paint.push(measured.paint);
  for (const id of ["a", "b", "c"]) results[id].push(measured.ready[id]);
  results.wasm.push(measured.wasm);
  results.longest.push(await longestTask(page));
  await context.close();
  await rm(profile, { recursive: true, force: true });
}
server.close();

const size = (path) => {
  const bytes = readFileSync(path);
  return `${kb(statSync(path).size)} raw, ${kb(gzipSync(bytes, { level: 9 }).length)} gzip`;
};
const lines = [
  "",
  "## Embeds and dist",
  "",
  `Measured in headless Chromium on dist/ served over HTTP, ${RUNS} runs each on a fresh profile, median [min–max], from navigation`,
  "start: a documentation page with three embeds in view (bank: events, state, commands; users: events, state; orders: events and",
  "the query box). The first two need no read model and load the lean module; the third loads the whole one.",
  "",
  "| | measured |",
  "|---|---|",
  `| First contentful paint of the page (ms) | ${cell(results.paint)} |`,
  `| Bank embed shows its log (ms) | ${cell(results.a)} |`,
  `| Users embed shows its log (ms) | ${cell(results.b)} |`,
  `| Orders embed, with the query box, shows its log (ms) | ${cell(results.c)} |`,
  `| Longest main-thread task until then (ms; 50: none over 50) | ${cell(results.longest)} |`,
  `| wasm downloaded by the page (both modules; the test server does not compress) | ${kb(median(results.wasm))} |`,
  `| whole module (\`pkg/\`) | ${size("dist/pkg/es_sandbox_bg.wasm")} |`,
  `| lean module without the read model (\`pkg-lean/\`) | ${size("dist/pkg-lean/es_sandbox_bg.wasm")} |`,
  `| single offline file (\`es-sandbox.html\`) | ${size("dist/es-sandbox.html")} |`,
  "",
];
appendFileSync("bench/results.md", lines.join("\n"));
console.log(lines.join("\n"));
