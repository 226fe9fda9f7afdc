// End-to-end tests of defects found trying the page, each as a person meets it: ids with spaces,
// forms after a store that does not open, crash feedback, reset's confirmation, the layout at
// 360 px, expected versions as typed, the query box (pragmas, huge values, long cells,
// Ctrl+Enter, per-scenario history, answers after a switch), messages, labels, keyboard.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { clickAndWait, eventRows, freshName, openBrowser, openPage, pageUrl, runQuery, waitForLog } from "./harness.mjs";

let browser;
before(async () => {
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
});


test("an aggregate id typed with spaces around it still finds its commands and event types", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  await page.fill("#command-form [name=aggregateId]", "  acc-001 ");
  await page.dispatchEvent("#command-form [name=aggregateId]", "input");
  assert.deepEqual(await page.$$eval("#command-form [name=command] option", (o) => o.map((x) => x.value)), ["Create", "Deduct", "Deposit"]);
  await page.fill("#append-form [name=aggregateId]", " acc-001");
  await page.dispatchEvent("#append-form [name=aggregateId]", "input");
  assert.deepEqual(await page.$$eval("#append-form [name=type] option", (o) => o.map((x) => x.value)), ["Created", "Deducted", "Deposited"]);
  await page.selectOption("#command-form [name=command]", "Deposit");
  await page.fill("#command-form [name=payload]", '{"amount": 1}');
  assert.match(await clickAndWait(page, "#command-form button", "#command-result", "ok"), /Stored Deposited \(version 4, position 4\)/);
  await page.close();
});

test("a store that does not open holds every form, saying why, instead of throwing", async () => {
  const name = freshName("held");
  const { page } = await openPage(browser.context, pageUrl(browser.url, { name }));
  await page.evaluate(async (name) => {
    const db = await new Promise((done, fail) => {
      const request = indexedDB.open(`es-sandbox/${name}`);
      request.onsuccess = () => done(request.result);
      request.onerror = () => fail(request.error);
    });
    await new Promise((done) => {
      const tx = db.transaction("segments", "readwrite");
      tx.objectStore("segments").put("edited by hand", 2);
      tx.oncomplete = done;
    });
    db.close();
  }, name);
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.reload();
  await page.waitForSelector("#recovery:not([hidden])");
  for (const form of ["#command-form", "#append-form", "#generate-form", "#conflict-lab", "#crud-lab", "#idempotency-form"]) {
    assert.equal(await page.isDisabled(`${form} button[type=submit], ${form} button >> nth=0`), true, form);
  }
  assert.match(await page.textContent("#command-panel .held"), /No store is open\./);
  await page.click("#command-form", { force: true });
  assert.deepEqual(problems, []);
  await page.close();
});

test("crash gives feedback at once; reset asks first, and keeping keeps", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  await page.click('#projections tr[data-projection="balances"] button[data-action="Crash"]');
  await page.waitForSelector("#projection-result[data-kind=ok]");
  assert.match(await page.textContent("#projection-result"), /^balances will crash in its next round, after applying one event and before committing/);
  await page.selectOption("#command-form [name=command]", "Deposit");
  await clickAndWait(page, "#command-form button", "#command-result", "ok");
  await waitForLog(page, 4);

  await page.click("[data-testid=reset]");
  assert.equal(await page.isVisible("[data-testid=reset-confirm]"), true);
  assert.match(await page.textContent("#reset-question"), /Delete every event of this store/);
  await page.click('[data-testid=reset-confirm] [data-answer="no"]');
  assert.equal(await page.isHidden("[data-testid=reset-confirm]"), true);
  assert.equal((await eventRows(page)).length, 4, "kept");
  await page.click("[data-testid=reset]");
  await page.click('[data-testid=reset-confirm] [data-answer="yes"]');
  await page.waitForFunction(() => document.querySelector("#log-count").textContent === "3 events in the log");
  await page.close();
});

test("at 360 px wide nothing scrolls sideways and the data column stays readable", async () => {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 360, height: 780 });
  await page.goto(pageUrl(browser.url));
  await waitForLog(page, 3);
  const height = await page.evaluate(() => document.body.scrollHeight);
  for (let y = 0; y < height; y += 700) {
    await page.evaluate((y) => window.scrollTo(0, y), y);
    await page.waitForTimeout(50);
  }
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 360);
  const data = await page.$eval("#events td[data-col=data]", (td) => td.getBoundingClientRect().width);
  assert.ok(data > 80, `data column ${data} px`);
  await page.close();
});

test("expected versions as typed: any, noStream, exists, digits; 1e3 and 0x10 are refused", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  const append = async (expected) => {
    await page.fill("#append-form [name=aggregateId]", "acc-001");
    await page.dispatchEvent("#append-form [name=aggregateId]", "input");
    await page.selectOption("#append-form [name=type]", "Deposited");
    await page.fill("#append-form [name=data]", '{"amount": 1}');
    await page.fill("#append-form [name=expected]", expected);
    await page.evaluate(() => document.querySelector("#append-result").removeAttribute("data-kind"));
    await page.click("#append-form button");
    await page.waitForSelector("#append-result[data-kind]");
    return [await page.getAttribute("#append-result", "data-kind"), await page.textContent("#append-result")];
  };
  assert.deepEqual(await append("noStream"), ["conflict", "Conflict: expected version noStream, actual version 3. Nothing was stored."]);
  assert.equal((await append("exists"))[0], "ok");
  assert.equal((await append("any"))[0], "ok");
  assert.equal((await append("5"))[0], "ok");
  for (const typed of ["1e3", "0x10", "-1", "5.0"]) {
    const [kind, message] = await append(typed);
    assert.equal(kind, "error", typed);
    assert.match(message, /Expected version must be any, noStream, exists or a version in digits/, typed);
  }
  await page.close();
});

test("query box: schema pragmas run, huge values stop, long cells fold, Ctrl+Enter runs, history is per scenario", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  const info = await runQuery(page, "PRAGMA table_info(balances)");
  assert.equal(info.kind, "ok");
  assert.deepEqual(info.rows.map((r) => r[1]), ["account", "balance", "updated_at"]);
  const huge = await runQuery(page, "SELECT zeroblob(500000000)");
  assert.equal(huge.kind, "error");
  assert.match(huge.status, /too big/);
  const long = await runQuery(page, "SELECT printf('%.*c', 20000, 'x') AS long");
  assert.equal(long.kind, "ok");
  const cell = await page.textContent("#query-result tbody td");
  assert.ok(cell.length < 300 && cell.includes("show all 20,000 characters"), cell.slice(0, 300));
  await page.click("#query-result tbody td button");
  assert.equal((await page.textContent("#query-result tbody td")).length, 20000);
  // Ctrl+Enter runs the statement.
  await page.fill("#query-form [name=sql]", "SELECT 41 + 1 AS answer");
  await page.evaluate(() => document.querySelector("#query-status").removeAttribute("data-kind"));
  await page.focus("#query-form [name=sql]");
  await page.keyboard.press("Control+Enter");
  await page.waitForSelector("#query-status[data-kind=ok]");
  assert.equal(await page.textContent("#query-result tbody td"), "42");
  // The history is the scenario's own.
  await page.selectOption("#scenario", "orders");
  await page.waitForFunction(() => document.querySelector("#events td[data-col=aggregate]")?.textContent.startsWith("ord-"));
  const history = await page.$$eval("#history li", (items) => items.map((li) => li.textContent));
  assert.ok(!history.includes("SELECT 41 + 1 AS answer"), `${history}`);
  await page.close();
});

test("an answer started before a scenario switch never lands in the new scenario's panel", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  await page.fill("#query-form [name=sql]", "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) SELECT count(*) AS slow FROM n");
  await page.click("#query-form button");
  await page.selectOption("#scenario", "users");
  await page.waitForFunction(() => document.querySelector("#events td[data-col=aggregate]")?.textContent.startsWith("usr-"));
  await page.waitForTimeout(2500);
  assert.deepEqual(await page.$$eval("#query-result thead th", (th) => th.map((x) => x.textContent)), []);
  assert.equal(await page.textContent("#query-status"), "", "neither its answer nor its error");
  await page.close();
});

test("messages: an order never placed, a projection's failing event, the boxes that leave an event out", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url, { scenario: "orders" }));
  await page.fill("#command-form [name=aggregateId]", "ord-new");
  await page.dispatchEvent("#command-form [name=aggregateId]", "input");
  await page.selectOption("#command-form [name=command]", "ReserveStock");
  const refused = await clickAndWait(page, "#command-form button", "#command-result", "rejected");
  assert.equal(refused, "Rejected: there is no such order: place it first. Nothing was stored.");
  const labels = await page.$$eval("#events input[type=checkbox]", (boxes) => boxes.slice(0, 2).map((b) => b.getAttribute("aria-label")));
  assert.deepEqual(labels, ["Leave out event 1 (OrderPlaced of ord-1001)", "Leave out event 2 (StockReserved of ord-1001)"]);
  // A null where a value is due is named as null (it read "got ." before).
  await page.fill("#command-form [name=aggregateId]", "ord-1001");
  await page.dispatchEvent("#command-form [name=aggregateId]", "input");
  await page.selectOption("#command-form [name=command]", "Ship");
  await page.fill("#command-form [name=payload]", '{"carrier": null}');
  const nulled = await clickAndWait(page, "#command-form button", "#command-result", "error");
  assert.equal(nulled, "the payload of Ship: `carrier` must be string, found null");
  await page.close();
});

test("the page follows the system's dark theme", async () => {
  const page = await browser.context.newPage();
  await page.emulateMedia({ colorScheme: "dark" });
  await page.goto(pageUrl(browser.url));
  await waitForLog(page, 3);
  const [background, ink] = await page.evaluate(() => [getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]);
  const lightness = (rgb) => rgb.match(/\d+/g).slice(0, 3).reduce((sum, v) => sum + Number(v), 0) / 3;
  assert.ok(lightness(background) < 60 && lightness(ink) > 180, `${background} / ${ink}`);
  await page.emulateMedia({ colorScheme: "light" });
  assert.ok(lightness(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)) > 200);
  await page.close();
});

test("keyboard: every control is reachable, focus is visible, and the slider moves in time", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  const unlabelled = await page.$$eval("input, select, textarea, button", (controls) =>
    controls
      .filter((c) => !c.closest("[hidden]"))
      .filter((c) => !(c.labels?.length || c.getAttribute("aria-label") || c.textContent.trim()))
      .map((c) => c.outerHTML.slice(0, 80)),
  );
  assert.deepEqual(unlabelled, [], "every control has a label");
  await page.focus("#cursor");
  const outline = await page.$eval("#cursor", (el) => getComputedStyle(el).outlineStyle);
  assert.notEqual(outline, "none", "focus is visible");
  await page.keyboard.press("ArrowLeft");
  await page.waitForFunction(() => document.querySelector("#as-of").textContent.startsWith("As of position 2 of 3"));
  // Tab order reaches the log's rows and the query box.
  let reached = new Set();
  for (let i = 0; i < 60 && !(reached.has("row") && reached.has("sql")); i++) {
    await page.keyboard.press("Tab");
    const where = await page.evaluate(() => (document.activeElement.matches("#events tr") ? "row" : document.activeElement.matches("[name=sql]") ? "sql" : ""));
    if (where) reached.add(where);
  }
  assert.ok(reached.has("row"), "a log row takes the focus");
  await page.close();
});
