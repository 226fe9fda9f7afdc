// End-to-end tests that every value from a user stays text: event data, aggregate ids, rule
// errors that quote input, query cells and column names, URL parameters and scenario names; and
// that the page's Content-Security-Policy lets the app run (wasm, the query worker, charts) while
// refusing inline script.
import { readFile } from "node:fs/promises";
import { deflateRawSync } from "node:zlib";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { clickAndWait, freshName, openBrowser, openPage, pageUrl, runQuery, waitForLog } from "./harness.mjs";

let browser;
before(async () => {
  browser = await openBrowser();
  // Every CSP violation the page meets is recorded for the tests to read.
  await browser.context.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (event) => window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`));
  });
});
after(async () => {
  await browser?.close();
});

const PAYLOADS = ['<img src=x onerror="window.__xss=1">', "</script><script>window.__xss=2</script>", '"><svg onload="window.__xss=3">'];

/** Nothing a payload carries became an element, and nothing ran. */
async function assertInert(page) {
  await page.waitForTimeout(300);
  const found = await page.evaluate(() => ({
    xss: window.__xss,
    images: document.querySelectorAll("img").length,
    svgHandlers: document.querySelectorAll("svg[onload], [onerror]").length,
    scripts: [...document.querySelectorAll("script")].filter((s) => !s.src).length,
  }));
  assert.deepEqual(found, { xss: undefined, images: 0, svgHandlers: 0, scripts: 0 });
}


test("URL parameters are text: unknown scenarios and storages are ignored, a store name is only a name", async () => {
  const query = new URLSearchParams({ scenario: PAYLOADS[0], storage: PAYLOADS[2], name: `${PAYLOADS[1]}${freshName("url")}` });
  const page = await browser.context.newPage();
  await page.goto(`${browser.url}?${query}`);
  await page.waitForFunction(() => /events are stored|Could not open/.test(document.querySelector("#status").textContent), null, { timeout: 30_000 });
  assert.equal(await page.inputValue("#scenario"), "bank");
  assert.equal(await page.inputValue("#storage"), "indexeddb");
  await assertInert(page);
  await page.close();
});

test("event data, aggregate ids and rule errors quoting input are shown as text", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url, { scenario: "orders" }));
  // An aggregate id carrying markup is an id like any other (ids refuse only control characters
  // and edge whitespace): stored as typed, and shown as text.
  await page.fill("#command-form [name=aggregateId]", `ord-${PAYLOADS[0]}`);
  await page.dispatchEvent("#command-form [name=aggregateId]", "input");
  await page.selectOption("#command-form [name=command]", "Place");
  await page.fill("#command-form [name=payload]", JSON.stringify({ items: [{ sku: PAYLOADS[1], qty: 1, price: 5 }] }));
  const placed = await clickAndWait(page, "#command-form button", "#command-result");
  assert.match(placed, /^Stored OrderPlaced \(version 1, position \d+\)\.$/);
  // The log fetches its rows after the command answers: wait for the row, then read.
  await page
    .waitForFunction((id) => [...document.querySelectorAll("#events td[data-col=aggregate]")].some((td) => td.firstChild.textContent === id), `ord-${PAYLOADS[0]}`)
    .catch(() => {});
  assert.ok(
    (await page.$$eval("#events td[data-col=aggregate]", (cells) => cells.map((td) => td.firstChild.textContent))).includes(`ord-${PAYLOADS[0]}`),
    "the id, markup and all, is in the log as text",
  );
  // A rule's refusal that quotes the input.
  await page.fill("#command-form [name=aggregateId]", "ord-77");
  await page.dispatchEvent("#command-form [name=aggregateId]", "input");
  await page.selectOption("#command-form [name=command]", "Place");
  await page.fill("#command-form [name=payload]", JSON.stringify({ items: [{ sku: PAYLOADS[2], qty: 0, price: 5 }] }));
  const refused = await clickAndWait(page, "#command-form button", "#command-result");
  assert.ok(refused.includes(`${PAYLOADS[2]}: the quantity must be positive, got 0`), refused);
  // Data in the log, the state, the CRUD table, the what-if and the schema lab.
  await page.fill("#command-form [name=payload]", JSON.stringify({ items: [{ sku: PAYLOADS[2], qty: 2, price: 5 }] }));
  await clickAndWait(page, "#command-form button", "#command-result");
  await waitForLog(page, 8);
  // Shown as compact JSON: the markup is there as text, its quotes escaped.
  assert.ok((await page.textContent("#events")).includes("<svg onload="));
  for (const panel of ["#crud-panel", "#what-if-panel", "#schema-panel", "#idempotency-panel", "#storage-panel"]) {
    await page.locator(panel).scrollIntoViewIfNeeded();
  }
  await assertInert(page);
  await page.close();
});

test("query cells and column names are text", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  const answer = await runQuery(page, `SELECT '${PAYLOADS[0]}' AS "${PAYLOADS[2].replaceAll('"', '""')}", '${PAYLOADS[1]}' AS b`);
  assert.deepEqual(answer.columns, [PAYLOADS[2], "b"]);
  assert.deepEqual(answer.rows, [[PAYLOADS[0], PAYLOADS[1]]]);
  await assertInert(page);
  await page.close();
});

test("a scenario's title and description from an edited document are text", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url, { name: freshName("xss-scenario") }));
  await page.selectOption("[data-testid=rules-part]", "document");
  const document = JSON.parse(await page.inputValue("[data-testid=rules-source]"));
  document.title = PAYLOADS[0];
  document.description = PAYLOADS[1];
  await page.fill("[data-testid=rules-source]", JSON.stringify(document, null, 2));
  await clickAndWait(page, "[data-testid=rules-apply]", "#rules-result", "ok");
  await page.waitForFunction((title) => document.querySelector("#status").textContent.startsWith(title), PAYLOADS[0]);
  assert.equal(await page.textContent("#scenario-description"), PAYLOADS[1]);
  await assertInert(page);
  await page.close();
});

/** A share link's data for a payload (what the page writes: raw deflate, then base64url). */
function shareData(payload) {
  return deflateRawSync(Buffer.from(JSON.stringify(payload))).toString("base64url");
}

test("a share link is data: markup in its scenario, events and a broken payload stays text, and nothing runs", async () => {
  const bank = JSON.parse(await readFile("scenarios/bank.json", "utf8"));
  bank.title = PAYLOADS[0];
  bank.description = PAYLOADS[1];
  const header = { format: "es-sandbox/events", formatVersion: 1, scenario: "bank", events: 1 };
  const event = {
    position: 1, eventId: "7f0e2a7e-0000-4000-8000-000000000001", aggregateId: `acc-${PAYLOADS[2]}`, version: 1,
    type: "Created", schemaVersion: 1, data: { balance: 10 }, timestamp: 0,
  };
  const events = `${JSON.stringify(header)}\n${JSON.stringify(event)}\n`;
  const link = shareData({ format: "es-sandbox/share", scenario: bank, events });
  const { page } = await openPage(browser.context, `${browser.url}#share=${link}`);
  await page.waitForFunction((title) => document.querySelector("#status").textContent.startsWith(title), PAYLOADS[0]);
  assert.equal(await page.textContent("#scenario-description"), PAYLOADS[1]);
  assert.equal(await page.textContent('#events td[data-col="aggregate"]'), `acc-${PAYLOADS[2]}`);
  await assertInert(page);
  await page.close();
  // A link whose event is refused (a field the shape does not have) is reported as text too.
  event.type = PAYLOADS[0];
  const refused = shareData({ format: "es-sandbox/share", scenario: bank, events: `${JSON.stringify(header)}\n${JSON.stringify(event)}\n` });
  const { page: other } = await openPage(browser.context, `${browser.url}#share=${refused}`);
  assert.match(await other.textContent("#notice"), /This shared link could not be opened.*line 2: event type "<img src=x onerror=/);
  await assertInert(other);
  await other.close();
});

test("the Content-Security-Policy: the app runs without a violation; inline script is refused; no eval, no remote origin", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  await runQuery(page, "SELECT * FROM balances");
  await page.locator("#storage-panel").scrollIntoViewIfNeeded();
  await page.waitForSelector("#replay-cost-chart svg");
  await page.locator("#rules-panel").scrollIntoViewIfNeeded();
  assert.deepEqual(await page.evaluate(() => window.__violations), [], "the app itself needs nothing the policy refuses");
  const attempts = await page.evaluate(async () => {
    const script = document.createElement("script");
    script.textContent = "window.__inline = 1";
    document.body.append(script);
    await new Promise((done) => setTimeout(done, 100));
    const policy = document.querySelector('meta[http-equiv="Content-Security-Policy"]').content;
    return { inline: window.__inline, violations: window.__violations.length, policy };
  });
  assert.equal(attempts.inline, undefined, "inline script does not run");
  assert.ok(attempts.violations >= 1, "and the refusal is reported");
  // (Playwright's own evaluation may use eval whatever the policy: the policy itself is checked.)
  assert.doesNotMatch(attempts.policy, /'unsafe-inline'|'unsafe-eval'|https?:|\*/, "no inline script, no eval, no remote origin");
  assert.match(attempts.policy, /script-src 'self' 'wasm-unsafe-eval'/);
  await page.close();
});
