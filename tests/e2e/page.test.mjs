// End-to-end tests of the page in Chromium: the bank walk-through, commands, raw appends. Each
// test uses its own store name, so tests never see each other's events.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { eventRows, openBrowser, openPage, pageUrl, waitForLog } from "./harness.mjs";

let browser;
before(async () => {
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
});

test("the bank page shows the three events and balance 120", async () => {
  const { page, problems } = await openPage(browser.context, pageUrl(browser.url));
  const rows = await eventRows(page);
  assert.deepEqual(
    rows.map(([position, aggregate, version, type, schema, data]) => [position, aggregate, version, type, schema, data]),
    [
      ["1", "acc-001", "1", "Created", "v1", '{"balance":100}'],
      ["2", "acc-001", "2", "Deducted", "v1", '{"amount":30}'],
      ["3", "acc-001", "3", "Deposited", "v1", '{"amount":50}'],
    ],
  );
  const state = JSON.parse(await page.textContent("#state"));
  assert.equal(state.balance, 120);
  const trace = await page.$$eval("#trace li", (items) => items.map((li) => li.textContent));
  assert.deepEqual(trace, ['initial state {"balance":0,"open":false}', "v1 Created balance 100, open true", "v2 Deducted balance 70", "v3 Deposited balance 120"]);
  assert.deepEqual(problems, []);
  await page.close();
});

test("a rejected command shows its business error and stores nothing", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  await page.selectOption("#command-form [name=command]", "Deduct");
  await page.fill("#command-form [name=payload]", '{"amount": 500}');
  await page.click("#command-form button");
  await page.waitForSelector("#command-result[data-kind=rejected]");
  assert.match(await page.textContent("#command-result"), /insufficient funds: balance 120, asked 500/);
  assert.equal((await eventRows(page)).length, 3);
  await page.close();
});

test("an accepted command appends and the state follows", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  await page.selectOption("#command-form [name=command]", "Deposit");
  await page.fill("#command-form [name=payload]", '{"amount": 5}');
  await page.click("#command-form button");
  await page.waitForSelector("#command-result[data-kind=ok]");
  assert.match(await page.textContent("#command-result"), /Deposited \(version 4, position 4\)/);
  await page.waitForFunction(() => document.querySelectorAll("#events tbody tr[data-position]").length === 4);
  assert.equal(JSON.parse(await page.textContent("#state")).balance, 125);
  await page.close();
});

test("a raw append with a stale expected version shows expected and actual", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  await page.selectOption("#append-form [name=type]", "Deposited");
  await page.fill("#append-form [name=data]", '{"amount": 1}');
  await page.fill("#append-form [name=expected]", "2");
  await page.click("#append-form button");
  await page.waitForSelector("#append-result[data-kind=conflict]");
  assert.equal(await page.textContent("#append-result"), "Conflict: expected version 2, actual version 3. Nothing was stored.");

  await page.fill("#append-form [name=expected]", "3");
  await page.click("#append-form button");
  await page.waitForSelector("#append-result[data-kind=ok]");
  await page.waitForFunction(() => document.querySelectorAll("#events tbody tr[data-position]").length === 4);
  assert.equal(JSON.parse(await page.textContent("#state")).balance, 121);
  await page.close();
});

test("event data is rendered as text, never as HTML", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url, { scenario: "users" }));
  await page.selectOption("#aggregate", "usr-003");
  await page.selectOption("#command-form [name=command]", "ChangeEmail");
  await page.fill("#command-form [name=payload]", JSON.stringify({ email: "<img src=x onerror=alert(1)>@x" }));
  await page.click("#command-form button");
  await page.waitForSelector("#command-result[data-kind=ok]");
  const cell = page.locator("#events tbody tr[data-position] td.data").last();
  assert.match(await cell.textContent(), /<img src=x onerror=alert\(1\)>@x/);
  assert.equal(await page.locator("#events img").count(), 0);
  await page.close();
});

test("the page preloads exactly the modules it imports, so none waits for the module that imports it", async () => {
  const page = await browser.context.newPage();
  const fetched = new Set();
  // The glue's snippets are named by a hash of the build: the glue itself is preloaded.
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname.slice(1);
    if (path.endsWith(".js") && !path.startsWith("pkg/snippets/") && request.frame() === page.mainFrame() && !request.isNavigationRequest()) fetched.add(path);
  });
  await page.goto(pageUrl(browser.url));
  await waitForLog(page);
  await page.waitForLoadState("networkidle");
  const preloads = await page.$$eval("link[rel=modulepreload]", (links) => links.map((l) => l.getAttribute("href")));
  const workers = new Set(["query-worker.js", "consumer-worker.js"]);
  const imported = [...fetched].filter((path) => !workers.has(path));
  assert.deepEqual([...new Set(preloads)].sort(), imported.sort(), "link rel=modulepreload in index.html lists every module the page imports, and nothing else");
  await page.close();
});
