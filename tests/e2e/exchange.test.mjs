// End-to-end tests of import, export and sharing: each format's file imported into a new store
// gives the same log event by event; a broken file imports nothing and names its lines; a share
// link opens the same scenario, log and read model in a new tab; a broken link says so and
// shows the page; a fixture is cut from an aggregate's versions.
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { clickAndWait, eventRows, freshName, openBrowser, openPage, pageUrl, runQueryUntil, waitForLog } from "./harness.mjs";

let browser;
before(async () => {
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
});

/** Downloads the open log in a format through the panel; returns the file's text. */
async function exportLog(page, format) {
  await page.locator("#exchange-panel").scrollIntoViewIfNeeded();
  await page.selectOption("#export-format", format);
  const [file] = await Promise.all([page.waitForEvent("download"), page.click("#export-events")]);
  return readFile(await file.path(), "utf8");
}

/** Imports a file through the panel; returns the import line once it says something. */
async function importFile(page, name, text, format = "auto") {
  await page.locator("#exchange-panel").scrollIntoViewIfNeeded();
  await page.selectOption("#import-format", format);
  await page.evaluate(() => document.querySelector("#import-result").removeAttribute("data-kind"));
  await page.setInputFiles("#import-file", { name, mimeType: "application/json", buffer: Buffer.from(text) });
  await page.waitForFunction(() => {
    const result = document.querySelector("#import-result");
    return result.dataset.kind === "error" || /^Imported/.test(result.textContent);
  }, undefined, { timeout: 60_000 });
  return page.textContent("#import-result");
}

/** The NDJSON event lines (the header names the store's rules hash and count too). */
const eventLines = (ndjson) => ndjson.trim().split("\n").slice(1);

async function generated(storage) {
  const { page, problems } = await openPage(browser.context, pageUrl(browser.url, { storage, name: freshName("exchange") }));
  await page.locator("#snapshots-panel").scrollIntoViewIfNeeded();
  await page.fill("[data-testid=generate-count]", "120");
  await clickAndWait(page, "[data-testid=generate]", "#generate-result", "ok");
  return { page, problems };
}

for (const format of ["ndjson", "kurrent", "cloudEvents"]) {
  test(`${format}: export, import into a new store, export again: the same log event by event`, async () => {
    const { page, problems } = await generated("indexeddb");
    const original = await exportLog(page, "ndjson");
    const file = await exportLog(page, format);
    const said = await importFile(page, `log.${format}`, file);
    assert.match(said, new RegExp(`^Imported ${eventLines(original).length} events from log\\.${format} into the new store bank-import-`));
    await waitForLog(page);
    assert.deepEqual(eventLines(await exportLog(page, "ndjson")), eventLines(original));
    assert.equal(await exportLog(page, format), file);
    // The read model is rebuilt from the imported log (eventually: it follows the log).
    const count = String(eventLines(original).length);
    const answer = await runQueryUntil(page, "SELECT COUNT(*) FROM events", (a) => a.rows[0]?.[0] === count);
    assert.deepEqual(answer.rows, [[count]]);
    // A reload opens the imported store again.
    await page.reload();
    await waitForLog(page);
    assert.deepEqual(eventLines(await exportLog(page, "ndjson")), eventLines(original));
    assert.deepEqual(problems, []);
    await page.close();
  });
}

test("a broken file imports nothing and lists its problems with their lines", async () => {
  const { page, problems } = await generated("indexeddb");
  const before = await exportLog(page, "ndjson");
  const lines = before.trim().split("\n");
  lines[2] = lines[2].slice(0, 40);
  lines[4] = lines[4].replace(/"type":"\w+"/, '"type":"Teleported"');
  const said = await importFile(page, "broken.ndjson", lines.join("\n"));
  assert.match(said, /^Nothing was imported: line 3: not JSON/);
  const listed = await page.$$eval("#import-problems li", (items) => items.map((li) => li.textContent));
  assert.equal(listed.length, 1, "syntax first: the rules are checked once every line reads");
  assert.match(listed[0], /^line 3: not JSON/);
  await waitForLog(page);
  assert.deepEqual(await exportLog(page, "ndjson"), before, "the open store is unchanged");
  // Syntax fixed, the unknown type is named at its line; a file of another scenario says which.
  lines[2] = before.trim().split("\n")[2];
  const said2 = await importFile(page, "broken.ndjson", lines.join("\n"));
  assert.match(said2, /line 5: .*"Teleported"/);
  // A file that says it is of another shipped scenario is imported under that one's rules.
  const orders = lines.join("\n").replace('"scenario":"bank"', '"scenario":"orders"');
  assert.match(await importFile(page, "orders.ndjson", orders), /line 2: no aggregate of scenario orders has an id like "acc-001"/);
  assert.equal(await page.inputValue("#scenario"), "bank", "back on the store it had open");
  assert.deepEqual(problems, []);
  await page.close();
});

test("a file of another scenario opens under that scenario's rules", async () => {
  const { page, problems } = await openPage(browser.context, pageUrl(browser.url, { scenario: "orders", storage: "memory" }));
  const orders = await exportLog(page, "cloudEvents");
  await page.selectOption("#scenario", "bank");
  await waitForLog(page);
  assert.match(await importFile(page, "orders.json", orders), /^Imported \d+ events from orders\.json into the new store orders-import-/);
  assert.equal(await page.inputValue("#scenario"), "orders");
  assert.equal(await exportLog(page, "cloudEvents"), orders);
  assert.deepEqual(problems, []);
  await page.close();
});

test("a share link opens the same scenario, log, state and read model in another tab; a broken one says so", async () => {
  const { page, problems } = await generated("indexeddb");
  await page.locator("#exchange-panel").scrollIntoViewIfNeeded();
  await clickAndWait(page, "#share", "#share-result", "ok");
  const link = await page.inputValue("#share-link");
  assert.match(link, /#share=[A-Za-z0-9_-]+$/);
  assert.equal(page.url(), link, "the address bar holds the link");
  const rows = await eventRows(page);
  const query = "SELECT account, balance FROM balances ORDER BY account";
  // Once every projection has reached the log's head, the balances are final.
  const head = String(eventLines(await exportLog(page, "ndjson")).length);
  const caughtUp = await runQueryUntil(page, "SELECT MIN(position) FROM projection_checkpoints", (a) => a.rows[0]?.[0] === head);
  assert.deepEqual(caughtUp.rows, [[head]]);
  const answer = await runQueryUntil(page, query, () => true);
  assert.equal(answer.kind, "ok", answer.status);
  assert.ok(answer.rows.length >= 3, "the generated accounts are there");

  const { page: other, problems: otherProblems } = await openPage(browser.context, link);
  assert.deepEqual(await eventRows(other), rows);
  const same = (a) => JSON.stringify(a.rows) === JSON.stringify(answer.rows);
  assert.deepEqual((await runQueryUntil(other, query, same)).rows, answer.rows);
  assert.equal(await other.textContent("#state"), await page.textContent("#state"));
  // The log moves on: the address bar follows it without new history entries.
  const length = await other.evaluate(() => history.length);
  await other.selectOption("#command-form [name=command]", "Deposit");
  await other.fill("#command-form [name=payload]", '{"amount": 7}');
  await clickAndWait(other, "#command-form button", "#command-result", "ok");
  await other.waitForFunction((before) => location.href !== before, link, { timeout: 10_000 });
  assert.equal(await other.evaluate(() => history.length), length);
  assert.deepEqual(otherProblems, []);
  await other.close();

  for (const broken of [link.slice(0, link.length - 40), `${browser.url}#share=not*a*link`]) {
    const { page: third, problems: thirdProblems } = await openPage(browser.context, broken);
    assert.match(await third.textContent("#notice"), /This shared link could not be opened, so the bank scenario is shown instead\. .*cut short or damaged/);
    assert.deepEqual(thirdProblems, []);
    await third.close();
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test("a fixture is cut from the selected aggregate's versions", async () => {
  const { page, problems } = await openPage(browser.context, pageUrl(browser.url, { storage: "memory" }));
  await page.locator("#exchange-panel").scrollIntoViewIfNeeded();
  await page.fill("#fixture-from", "2");
  await page.fill("#fixture-to", "3");
  await clickAndWait(page, "#fixture", "#fixture-result", "ok");
  const fixture = JSON.parse(await page.textContent("#fixture-text"));
  assert.equal(fixture.fixture, "es-sandbox/given-when-then");
  assert.deepEqual(fixture.given.map((e) => e.type), ["Created"]);
  assert.deepEqual(fixture.when.map((e) => e.type), ["Deducted", "Deposited"]);
  assert.deepEqual(fixture.then, { version: 3, state: { balance: 120, open: true } });
  await page.fill("#fixture-to", "9");
  assert.match(await clickAndWait(page, "#fixture", "#fixture-result", "error"), /not within versions 1 to 3/);
  assert.deepEqual(problems, []);
  await page.close();
});

test("a log too long for a link is offered as a file instead", async () => {
  const { page, problems } = await openPage(browser.context, pageUrl(browser.url, { storage: "memory" }));
  await page.locator("#snapshots-panel").scrollIntoViewIfNeeded();
  await page.fill("[data-testid=generate-count]", "45000");
  await clickAndWait(page, "[data-testid=generate]", "#generate-result", "ok");
  await page.locator("#exchange-panel").scrollIntoViewIfNeeded();
  const [file] = await Promise.all([page.waitForEvent("download", { timeout: 60_000 }), page.click("#share")]);
  assert.match(file.suggestedFilename(), /\.ndjson$/);
  assert.match(await page.textContent("#share-result"), /too long for a link .* as an NDJSON file/);
  assert.ok(eventLines(await readFile(await file.path(), "utf8")).length > 45_000);
  assert.equal(await page.isHidden("#share-link"), true);
  assert.deepEqual(problems, []);
  await page.close();
});
