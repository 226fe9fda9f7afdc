// End-to-end tests of the read model and the query box: suggested queries, refused and failing
// SQL, a runaway query, pause and catch-up, a crash and restart, rebuild, what-if, and reload.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { deposit, openBrowser, openPage, pageUrl, runQuery, waitForLog } from "./harness.mjs";

let browser;
before(async () => {
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
});

const BALANCES = "SELECT account, balance FROM balances WHERE balance > 50";

/** The projections table as { name: [checkpoint text, state] }. */
async function projections(page) {
  return page.$$eval("#projections tbody tr", (rows) =>
    Object.fromEntries(rows.map((tr) => [tr.dataset.projection, [tr.cells[1].textContent, tr.querySelector(".state-badge").textContent]])),
  );
}

async function waitForCheckpoint(page, name, text) {
  await page.waitForFunction(
    ([name, text]) => document.querySelector(`#projections tr[data-projection="${name}"] td:nth-child(2)`)?.textContent.startsWith(text),
    [name, text],
    { timeout: 15_000 },
  );
}

test("the suggested query answers from SQLite, with row count and time", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  await waitForCheckpoint(page, "balances", "3 / 3");
  await page.click("#suggested button:first-child");
  await page.waitForSelector("#query-status[data-kind=ok]");
  const answer = await runQuery(page, BALANCES);
  assert.deepEqual(answer.columns, ["account", "balance"]);
  assert.deepEqual(answer.rows, [["acc-001", "120"]]);
  assert.match(answer.status, /^1 row\(s\) in [0-9.]+ ms; read balances \(current, at position 3\)\.$/);
  assert.ok((await page.$$eval("#history li", (items) => items.length)) >= 1, "the query is in the history");
  const many = await runQuery(page, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) SELECT i, NULL AS missing FROM n");
  assert.equal(many.rows.length, 200, "rows shown are capped");
  assert.deepEqual(many.rows[199], ["200", "NULL"]);
  assert.match(many.status, /^500 row\(s\) in [0-9.]+ ms; showing the first 200, 300 more; read no projection's tables\.$/);
  await page.close();
});

test("writes are refused, SQL errors read as SQLite says them, runaway queries stop", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  await waitForCheckpoint(page, "balances", "3 / 3");
  for (const [sql, message] of [
    ["DELETE FROM balances", /refused: the query box only reads; DELETE from balances would write/],
    ["DROP TABLE ledger", /refused: the query box only reads/],
    ["ATTACH DATABASE ':memory:' AS x", /refused: .*ATTACH/],
    ["PRAGMA user_version = 3", /refused: .*only pragmas that describe the schema run here/],
    ["SELECT 1; SELECT 2", /refused: one statement at a time/],
    ["SELEC 1", /^near "SELEC": syntax error$/],
  ]) {
    const answer = await runQuery(page, sql);
    assert.equal(answer.kind, "error", sql);
    assert.match(answer.status, message, sql);
  }
  await page.fill("#query-form [name=sql]", "WITH RECURSIVE forever(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM forever) SELECT count(*) FROM forever");
  await page.evaluate(() => document.querySelector("#query-status").removeAttribute("data-kind"));
  await page.click("#query-form button");
  await page.waitForFunction(() => document.querySelector("#query-status").textContent === "Running…");
  // While the runaway query runs (in a worker), the page still works: a command is refused.
  await page.selectOption("#command-form [name=command]", "Deduct");
  await page.fill("#command-form [name=payload]", '{"amount": 500}');
  await page.click("#command-form button");
  await page.waitForSelector("#command-result[data-kind=rejected]");
  assert.equal(await page.textContent("#query-status"), "Running…", "the command was answered while the query ran");
  await page.waitForSelector("#query-status[data-kind]");
  assert.match(await page.textContent("#query-status"), /stopped after 2000 ms: the query ran too long/);
  // Then the next query runs, and the table was not touched.
  assert.deepEqual((await runQuery(page, BALANCES)).rows, [["acc-001", "120"]]);
  await page.close();
});

test("a paused projection answers with old data until it catches up", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  await waitForCheckpoint(page, "balances", "3 / 3");
  await page.click('#projections tr[data-projection="balances"] button[data-action="Pause"]');
  await deposit(page, 5);
  await waitForCheckpoint(page, "ledger", "4 / 4");
  assert.deepEqual((await projections(page)).balances, ["3 / 4 (1 behind)", "paused"]);
  const stale = await runQuery(page, BALANCES);
  assert.deepEqual(stale.rows, [["acc-001", "120"]]);
  assert.match(stale.status, /read balances, 1 event\(s\) behind the log \(at position 3\): the answer may be stale/);
  await page.click('#projections tr[data-projection="balances"] button[data-action="Resume"]');
  await waitForCheckpoint(page, "balances", "4 / 4");
  assert.deepEqual((await runQuery(page, BALANCES)).rows, [["acc-001", "125"]]);
  await page.close();
});

test("with a delay the lag is visible, then the read model catches up", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  await waitForCheckpoint(page, "balances", "3 / 3");
  await page.fill("#delay", "1500");
  await page.dispatchEvent("#delay", "change");
  await deposit(page, 1);
  assert.deepEqual((await runQuery(page, BALANCES)).rows, [["acc-001", "120"]]);
  await waitForCheckpoint(page, "balances", "4 / 4");
  assert.deepEqual((await runQuery(page, BALANCES)).rows, [["acc-001", "121"]]);
  await page.close();
});

test("a crashed projection keeps nothing of its round and restarts from its checkpoint", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  await waitForCheckpoint(page, "balances", "3 / 3");
  await page.click('#projections tr[data-projection="balances"] button[data-action="Crash"]');
  await deposit(page, 5);
  await deposit(page, 7);
  await page.waitForFunction(() => document.querySelector('#projections tr[data-projection="balances"] .state-badge')?.textContent === "crashed");
  assert.equal((await projections(page)).balances[0].split(" ")[0], "3");
  assert.deepEqual((await runQuery(page, BALANCES)).rows, [["acc-001", "120"]]);
  await page.click('#projections tr[data-projection="balances"] button[data-action="Resume"]');
  await waitForCheckpoint(page, "balances", "5 / 5");
  assert.deepEqual((await runQuery(page, BALANCES)).rows, [["acc-001", "132"]]);
  await page.close();
});

test("rebuild replays a projection from position 0 to the same answer", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  await waitForCheckpoint(page, "ledger", "3 / 3");
  const before = await runQuery(page, "SELECT * FROM ledger ORDER BY position");
  // With a delay, the rebuilt projection is seen empty at position 0 before it replays the log.
  await page.fill("#delay", "1500");
  await page.dispatchEvent("#delay", "change");
  await page.click('#projections tr[data-projection="ledger"] button[data-action="Rebuild"]');
  await waitForCheckpoint(page, "ledger", "0 / 3 (3 behind)");
  assert.deepEqual((await runQuery(page, "SELECT count(*) FROM ledger")).rows, [["0"]]);
  await waitForCheckpoint(page, "ledger", "3 / 3");
  const after = await runQuery(page, "SELECT * FROM ledger ORDER BY position");
  assert.deepEqual(after.rows, before.rows);
  assert.equal(after.rows.length, 3);
  await page.close();
});

test("what-if: leaving an event out changes the state and the queries, not the store", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  await waitForCheckpoint(page, "balances", "3 / 3");
  await page.check('#events tbody tr[data-position="2"] input[type=checkbox]');
  await page.waitForSelector("#what-if:not([hidden])");
  await page.waitForFunction(() => JSON.parse(document.querySelector("#state").textContent).balance === 150);
  const whatIf = await runQuery(page, "SELECT balance FROM balances");
  assert.deepEqual(whatIf.rows, [["150"]]);
  assert.match(whatIf.status, /what-if: computed in a separate read model/);
  await page.click("#what-if button");
  await page.waitForFunction(() => JSON.parse(document.querySelector("#state").textContent).balance === 120);
  assert.deepEqual((await runQuery(page, "SELECT balance FROM balances")).rows, [["120"]]);
  assert.deepEqual((await runQuery(page, "SELECT count(*) FROM events")).rows, [["3"]]);
  await page.close();
});

test("after a reload the read model is rebuilt and gives the same answers", async () => {
  const address = pageUrl(browser.url);
  const { page } = await openPage(browser.context, address);
  await deposit(page, 9);
  await waitForCheckpoint(page, "balances", "4 / 4");
  const before = await runQuery(page, "SELECT * FROM balances");
  assert.match(await page.textContent("#read-model-where"), /in memory, rebuilt from the log/);
  await page.reload();
  await waitForLog(page, 4);
  await waitForCheckpoint(page, "balances", "4 / 4");
  assert.deepEqual((await runQuery(page, "SELECT * FROM balances")).rows, before.rows);
  await page.close();
});
