// End-to-end tests of the embeds, on dist/ as it is hosted: embed.html with three <es-sandbox>
// elements of different scenarios, each driven on its own (commands, the query box, read-only);
// nothing starts before it comes near the screen; the host page's styles stay out; themes; each
// embed's query history apart; the iframe embed from URL parameters.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../../scripts/static-server.mjs";
import { launch, runQueryUntil } from "./harness.mjs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A host page with styles of its own that would spoil an embed if they reached in. */
const HOST = `<!doctype html><meta charset="utf-8"><title>host</title>
<style>button { color: rgb(255, 0, 0) !important; } main { color: rgb(0, 128, 0); } #themed { --accent: rgb(181, 23, 158); }</style>
<section id="outside"><button type="button">the host's own button</button></section>
<es-sandbox id="themed" scenario="bank" panels="events,command" eager></es-sandbox>
<es-sandbox id="dark" scenario="orders" panels="events" theme="dark" eager></es-sandbox>
<es-sandbox id="light" scenario="users" panels="events" theme="light" eager></es-sandbox>
<script type="module" src="embed.js"></script>`;

/** A page of embeds without read-model panels. */
const LEAN = `<!doctype html><meta charset="utf-8"><title>lean</title>
<es-sandbox id="one" scenario="bank" panels="events,state,timeline,snapshots" eager></es-sandbox>
<es-sandbox id="two" scenario="orders" panels="events,command,crud" eager></es-sandbox>
<script type="module" src="embed.js"></script>`;

/** A page of an embed with the query box (the whole module) and a lean one, in either order. */
const mixed = (wholeFirst) => {
  const embeds = [
    '<es-sandbox id="lean" scenario="bank" panels="events,state" eager></es-sandbox>',
    '<es-sandbox id="whole" scenario="orders" panels="events,query" eager></es-sandbox>',
  ];
  if (wholeFirst) embeds.reverse();
  return `<!doctype html><meta charset="utf-8"><title>mixed</title>\n${embeds.join("\n")}\n<script type="module" src="embed.js"></script>`;
};

/** A page with an embed that can share its log. */
const EXCHANGE = `<!doctype html><meta charset="utf-8"><title>exchange</title>
<es-sandbox id="x" scenario="bank" panels="events,command,exchange" eager></es-sandbox>
<script type="module" src="embed.js"></script>`;

let server;
let url;
let context;
let profile;
before(async () => {
  await stat("dist/embed.html").catch(() => assert.fail("dist/ is not built: run scripts/dist (scripts/test does)"));
  const bank = JSON.parse(await readFile("scenarios/bank.json", "utf8"));
  bank.title = "An inline bank";
  const attribute = JSON.stringify(bank).replaceAll("&", "&amp;").replaceAll('"', "&quot;");
  const inline = `<!doctype html><meta charset="utf-8"><title>inline</title>
<div id="holder"><es-sandbox id="inline" scenario="${attribute}" panels="events,state" eager></es-sandbox></div>
<div id="elsewhere"></div>
<script type="module" src="embed.js"></script>`;
  ({ server, url } = await startServer({ root: "dist", port: 0, pages: { "/host.html": HOST, "/lean.html": LEAN, "/lean-first.html": mixed(false), "/whole-first.html": mixed(true), "/inline.html": inline, "/exchange.html": EXCHANGE } }));
  profile = await mkdtemp(join(tmpdir(), "es-sandbox-embed-"));
  context = await launch(profile);
});
after(async () => {
  await context?.close();
  server?.close();
  await rm(profile, { recursive: true, force: true });
});

/** The event rows an embed shows (the log panel inside its shadow root). */
const rowsOf = (page, id) => page.locator(`#${id} #events tbody tr[data-position]`);

async function waitForRows(page, id, count) {
  await page.waitForFunction(
    ([id, count]) => document.getElementById(id).shadowRoot?.querySelectorAll("#events tbody tr[data-position]").length >= count,
    [id, count],
    { timeout: 30_000 },
  );
}

test("embed.html: three embeds of different scenarios start near the screen and are driven apart", async () => {
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
  const wasm = [];
  page.on("request", (request) => {
    if (request.url().endsWith(".wasm")) wasm.push(request.url());
  });
  await page.goto(`${url}embed.html`);
  // The last embed is far below: it has not started, and shows what it will be.
  assert.match(await page.locator("#embed-users .embed-waiting").textContent(), /es-sandbox: scenarios\/users\.json starts when it comes into view/);

  // The bank: a command moves its log and state, and nobody else's.
  await page.locator("#embed-bank").scrollIntoViewIfNeeded();
  await waitForRows(page, "embed-bank", 3);
  await page.locator("#embed-bank #command-form [name=command]").selectOption("Deposit");
  await page.locator("#embed-bank #command-form [name=payload]").fill('{"amount": 5}');
  await page.locator("#embed-bank #command-form button").click();
  await page.locator("#embed-bank #command-result[data-kind=ok]").waitFor();
  await waitForRows(page, "embed-bank", 4);
  assert.equal(JSON.parse(await page.locator("#embed-bank #state").textContent()).balance, 125);
  // Without a read-model panel, the lean module came first.
  assert.equal(new URL(wasm[0]).pathname, "/pkg-lean/es_sandbox_bg.wasm");

  // Orders: the query box answers from its own read model; its history is its own.
  await page.locator("#embed-orders").scrollIntoViewIfNeeded();
  await waitForRows(page, "embed-orders", 1);
  const orderRows = await rowsOf(page, "embed-orders").count();
  const answer = await runQueryUntil(page, "SELECT COUNT(*) FROM events", (a) => a.rows[0]?.[0] === String(orderRows), "#embed-orders");
  assert.deepEqual(answer.rows, [[String(orderRows)]]);
  const histories = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("es-sandbox/query-history/")));
  assert.deepEqual(histories, ["es-sandbox/query-history/es-sandbox-embed-orders-2/orders"]);

  // Users, from a document's URL, read-only: its command form says why it is held.
  await page.locator("#embed-users").scrollIntoViewIfNeeded();
  await waitForRows(page, "embed-users", 1);
  assert.equal(await page.locator("#embed-users #command-form button").isDisabled(), true);
  assert.match(await page.locator("#embed-users .held").first().textContent(), /read-only/);

  // The live iframe example shows its log too.
  await page.locator("[data-testid=example-frame]").scrollIntoViewIfNeeded();
  await page.frameLocator("[data-testid=example-frame]").locator("es-sandbox #events tbody tr[data-position]").first().waitFor({ timeout: 30_000 });
  // The bank's log did not move with the others.
  assert.equal(await rowsOf(page, "embed-bank").count(), 4);
  // The query box needed the whole module (the page and its query worker load it); the
  // read-only users embed reused the lean one.
  assert.deepEqual([...new Set(wasm.map((u) => new URL(u).pathname))], ["/pkg-lean/es_sandbox_bg.wasm", "/pkg/es_sandbox_bg.wasm"]);
  assert.deepEqual(problems, []);
  await page.close();
});

for (const order of ["lean-first", "whole-first"]) {
  test(`a page of a lean embed and one with the query box (${order}) fetches the whole module after the lean one`, async () => {
    const page = await context.newPage();
    await page.goto(`${url}${order}.html`);
    for (const id of ["lean", "whole"]) await waitForRows(page, id, 1);
    const timing = await page.evaluate(() =>
      Object.fromEntries(
        performance
          .getEntriesByType("resource")
          .filter((entry) => entry.name.endsWith(".wasm"))
          .map((entry) => [new URL(entry.name).pathname, { start: entry.startTime, end: entry.responseEnd }]),
      ),
    );
    const lean = timing["/pkg-lean/es_sandbox_bg.wasm"];
    const whole = timing["/pkg/es_sandbox_bg.wasm"];
    assert.ok(lean && whole, `both modules were fetched: ${JSON.stringify(timing)}`);
    // Compiled beside the lean module, the whole one would hold back the lean embed.
    assert.ok(whole.start >= lean.end, `the whole module was fetched from ${whole.start} ms, before the lean one arrived at ${lean.end} ms`);
    await page.close();
  });
}

test("a page whose embeds show no read-model panel never downloads the module with SQLite", async () => {
  const page = await context.newPage();
  const wasm = [];
  page.on("request", (request) => {
    if (request.url().endsWith(".wasm")) wasm.push(new URL(request.url()).pathname);
  });
  await page.goto(`${url}lean.html`);
  for (const id of ["one", "two"]) await waitForRows(page, id, 1);
  await page.locator("#two #command-form [name=command]").selectOption("Ship");
  assert.deepEqual(wasm, ["/pkg-lean/es_sandbox_bg.wasm"]);
  await page.close();
});

test("styles: the host page's do not reach in, nor the embed's out; themes and custom colours do", async () => {
  const page = await context.newPage();
  await page.goto(`${url}host.html`);
  for (const id of ["themed", "dark", "light"]) await waitForRows(page, id, 1);
  const style = (selector, property) => page.locator(selector).first().evaluate((node, p) => getComputedStyle(node)[p], property);
  assert.equal(await style("#outside button", "color"), "rgb(255, 0, 0)", "the host's rule holds outside");
  assert.notEqual(await style("#themed #command-form button", "color"), "rgb(255, 0, 0)", "and not inside");
  assert.equal(await style("#outside", "backgroundColor"), "rgba(0, 0, 0, 0)", "the embed's section style stays inside");
  assert.equal(await style("#themed #command-form button", "backgroundColor"), "rgb(181, 23, 158)", "a custom colour set on the element");
  assert.equal(await style("#dark main", "color"), "rgb(230, 233, 239)", "theme=dark");
  assert.equal(await style("#light main", "color"), "rgb(29, 36, 48)", "theme=light");
  await page.close();
});

test("a scenario given inline as JSON; an embed moved elsewhere on the page opens again", async () => {
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(`${url}inline.html`);
  await waitForRows(page, "inline", 3);
  await page.locator("#inline #status").filter({ hasText: "An inline bank" }).waitFor();
  await page.evaluate(() => {
    const embed = document.getElementById("inline");
    window.before = embed.session.sandbox;
    document.getElementById("elsewhere").append(embed);
  });
  await page.waitForFunction(() => {
    const sandbox = document.getElementById("inline").session.sandbox;
    return sandbox !== undefined && sandbox !== window.before;
  });
  await waitForRows(page, "inline", 3);
  assert.equal(await page.evaluate(() => document.getElementById("inline").session.info.title), "An inline bank");
  assert.deepEqual(problems, []);
  await page.close();
});

test("an embed's share link opens the full page, and leaves the host page's address alone", async () => {
  const page = await context.newPage();
  await page.goto(`${url}exchange.html`);
  await waitForRows(page, "x", 3);
  await page.locator("#x #command-form [name=command]").selectOption("Deposit");
  await page.locator("#x #command-form [name=payload]").fill('{"amount": 9}');
  await page.locator("#x #command-form button").click();
  await waitForRows(page, "x", 4);
  await page.locator("#x #share").click();
  await page.locator("#x #share-result[data-kind=ok]").waitFor();
  const link = await page.locator("#x #share-link").inputValue();
  assert.ok(link.startsWith(`${url}index.html#share=`), link);
  assert.equal(page.url(), `${url}exchange.html`);
  assert.doesNotMatch(await page.locator("#x #share-result").textContent(), /address bar/);
  const full = await context.newPage();
  await full.goto(link);
  await full.waitForFunction(() => document.querySelectorAll("#events tbody tr[data-position]").length === 4, undefined, { timeout: 30_000 });
  assert.equal(JSON.parse(await full.textContent("#state")).balance, 129);
  await full.close();
  await page.close();
});

test("the iframe embed takes its choices from the URL", async () => {
  const page = await context.newPage();
  await page.goto(`${url}frame.html?scenario=users&panels=events&theme=dark&compact`);
  await page.waitForFunction(() => document.querySelector("es-sandbox")?.shadowRoot?.querySelectorAll("#events tbody tr[data-position]").length > 0, undefined, { timeout: 30_000 });
  assert.equal(await page.locator("es-sandbox").getAttribute("theme"), "dark");
  assert.equal(await page.locator("es-sandbox #state").count(), 0, "only the events panel");
  assert.equal(await page.locator("header, nav").count(), 0, "no page chrome");
  await page.close();
});
