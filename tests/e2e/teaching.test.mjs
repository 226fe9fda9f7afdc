// End-to-end tests of what the page teaches, one visitor in one tab: time travel, snapshots and
// generation, what-if side by side, storage growth and the replay cost, the state's chart and
// the projections' lag, the event table through thousands of events, idempotency, schema
// evolution and the rules editor. Each checks what a person sees.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { clickAndWait, eventRows, freshName, openBrowser, openPage, pageUrl, runQuery, waitForLog, waitForRowsFetched } from "./harness.mjs";

let browser;
before(async () => {
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
});

const text = (page, selector) => page.textContent(selector);
/** The state panel's fields: { name: [name, how the last event changed it] }. */
const fields = (page, table = "#state-fields") =>
  page.$$eval(`${table} tbody tr`, (rows) => Object.fromEntries(rows.map((r) => [r.dataset.field, [r.cells[0].textContent, r.dataset.change ?? ""]])));
const stateOf = async (page) => JSON.parse(await page.textContent("#state"));

/** Sets the snapshot interval and generates commands from a seed; returns the result line. */
async function generate(page, count, seed = 1) {
  await page.fill("[data-testid=generate-count]", String(count));
  await page.fill("[data-testid=generate-seed]", String(seed));
  return clickAndWait(page, "[data-testid=generate]", "#generate-result", "ok");
}

async function setInterval(page, interval) {
  await page.fill("[data-testid=snapshot-interval]", String(interval));
  return clickAndWait(page, "#interval-form button", "#snapshot-result", "ok");
}

test("time travel: the slider and a row set the cursor; state, trace, changes and answers follow; now returns", async () => {
  const { page, problems } = await openPage(browser.context, pageUrl(browser.url));
  await page.locator("#cursor").fill("1");
  await page.waitForFunction(() => document.querySelector("#as-of").textContent.startsWith("As of position 1 of 3"));
  await page.waitForFunction(() => document.querySelector("#replay-info").textContent.includes("as of position 1"));
  assert.equal((await stateOf(page)).balance, 100);
  assert.deepEqual((await fields(page)).balance, ["balance", "increased"]);
  assert.deepEqual(
    await page.$$eval("#events tbody tr[data-position]", (rows) => rows.map((r) => [r.dataset.position, r.classList.contains("future")])),
    [["1", false], ["2", true], ["3", true]],
    "later events are the future",
  );
  // A click on a row travels there.
  await page.click('#events tbody tr[data-position="2"] td[data-col="type"]');
  await page.waitForFunction(() => document.querySelector("#as-of").textContent.startsWith("As of position 2 of 3"));
  await page.waitForFunction(() => JSON.parse(document.querySelector("#state").textContent).balance === 70);
  assert.match(await page.textContent('#state-fields tr[data-field="balance"]'), /▼ down \(was 100\)/);
  assert.match(await text(page, "#trace"), /v2 Deducted balance 70/);
  assert.doesNotMatch(await text(page, "#trace"), /v3/, "the trace stops at the cursor");
  // Commands act on now: held while the page shows the past.
  assert.equal(await page.isDisabled("#command-form button"), true);
  assert.match(await text(page, "#command-panel .held"), /as of position 2: return to now/);
  // The read model answers as of the cursor, saying so.
  const past = await runQuery(page, "SELECT account, balance FROM balances");
  assert.deepEqual(past.rows, [["acc-001", "70"]]);
  assert.match(past.status, /as of position 2: computed from the log up to it/);
  await page.click("#now");
  await page.waitForFunction(() => document.querySelector("#as-of").textContent.startsWith("Now: position 3 of 3"));
  await page.waitForFunction(() => JSON.parse(document.querySelector("#state").textContent).balance === 120);
  assert.equal(await page.isDisabled("#command-form button"), false);
  assert.equal(await page.locator("#events tr.future").count(), 0);
  // Keyboard: a focused row travels with Enter.
  await page.focus('#events tbody tr[data-position="1"]');
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.querySelector("#as-of").textContent.startsWith("As of position 1 of 3"));
  assert.deepEqual(problems, []);
  await page.close();
});

test("a moved time-travel cursor: the state answers first, then the log and the timeline follow", async () => {
  const { page, problems } = await openPage(browser.context, pageUrl(browser.url));
  await page.waitForFunction(() => document.querySelector("#replay-info").textContent.includes("at version 3"));
  // Every panel that follows the cursor draws in a turn of its own; each turn before the
  // state's may let the page draw a frame first, so the state, which answers the move, goes first.
  const order = await page.evaluate(async () => {
    const seen = [];
    const places = { state: "#replay-info", log: "#events tbody", timeline: "#as-of" };
    const observer = new MutationObserver((records) => {
      for (const record of records) {
        const place = Object.keys(places).find((name) => document.querySelector(places[name]).contains(record.target));
        if (place && !seen.includes(place)) seen.push(place);
      }
    });
    observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    const slider = document.querySelector("#cursor");
    slider.value = "1";
    slider.dispatchEvent(new Event("input", { bubbles: true }));
    const info = document.querySelector("#replay-info");
    while (seen.length < 3 || !info.textContent.includes("as of position 1")) await new Promise((done) => setTimeout(done, 20));
    observer.disconnect();
    return seen;
  });
  assert.deepEqual(order[0], "state", `drawn in the order ${order.join(", ")}`);
  assert.deepEqual([...order].sort(), ["log", "state", "timeline"]);
  assert.deepEqual(problems, []);
  await page.close();
});

test("snapshots: markers in the table, the interval knob, taking one, the replay from it, and stale after a rules edit", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  assert.match(await setInterval(page, 2), /every 2 events/);
  assert.match(await generate(page, 9, 7), /^Stored 9 events from 9 commands/);
  await waitForLog(page, 12);
  // acc-001 went from version 3 to more; its snapshots are marked in the log.
  await page.selectOption("#log-aggregate", "acc-001");
  // The count comes first; the rows are fetched and drawn after it: wait for acc-001's own rows.
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll("#events tbody tr[data-position]")];
    return document.querySelector("#log-count").textContent.includes("match the filters") && rows.length > 0 && rows.every((r) => r.querySelector("td[data-col=aggregate]")?.textContent === "acc-001");
  });
  const badges = await page.$$eval("#events td[data-col=version] .badge", (b) => b.map((x) => x.textContent));
  assert.ok(badges.length >= 1 && badges.every((b) => b === "snapshot"), `${badges}`);
  assert.match(await clickAndWait(page, "[data-testid=take-snapshot]", "#snapshot-result", "ok"), /Took a snapshot of acc-001 after version \d+: a replay now starts there\./);
  await page.waitForFunction(() => /from the snapshot at v\d+ \+ 0 event\(s\)/.test(document.querySelector("#replay-info").textContent));
  // The trace starts with the snapshot, not empty.
  assert.match(await page.textContent("#trace li:first-child"), /^snapshot at v\d+/);
  const listed = await page.$$eval("#snapshot-list tbody tr", (rows) => rows.map((r) => r.cells[4].textContent));
  assert.ok(listed.length >= 2 && listed.every((t) => t === "usable"), `${listed}`);

  // Rules that fold deposits twice: every snapshot under the old rules is stale and skipped.
  await page.selectOption("[data-testid=rules-part]", "aggregate:0");
  const source = await page.inputValue("[data-testid=rules-source]");
  await page.fill("[data-testid=rules-source]", source.replace("state.balance += data.amount;", "state.balance += 2 * data.amount;"));
  assert.match(await clickAndWait(page, "[data-testid=rules-apply]", "#rules-result", "ok"), /snapshot\(s\) were taken under other rules and are stale \(skipped\)/);
  await page.waitForFunction(() => document.querySelector("#replay-info").textContent.includes("Skipped the snapshot"));
  assert.match(await text(page, "#replay-info"), /from the start: \d+ event\(s\) replayed\. Skipped the snapshot at version \d+: made with other rules/);
  await page.locator("#snapshots-panel").scrollIntoViewIfNeeded();
  await page.waitForFunction(() => [...document.querySelectorAll("#snapshot-list tbody tr")].some((r) => r.cells[4].textContent.startsWith("stale:")));
  await page.selectOption("#log-aggregate", "acc-001");
  await page.waitForSelector("#events .badge.stale");
  await page.close();
});

test("generate: the same seed gives the same commands; the table counts and scrolls through thousands, filtered", async () => {
  const logs = [];
  for (const seed of [5, 5, 6]) {
    const { page } = await openPage(browser.context, pageUrl(browser.url, { storage: "memory" }));
    await generate(page, 40, seed);
    await page.waitForFunction(() => document.querySelector("#log-count").textContent.startsWith("43 events"));
    logs.push((await eventRows(page)).map(([, aggregate, version, type, , data]) => [aggregate, version, type, data].join(" ")));
    await page.close();
  }
  assert.deepEqual(logs[0], logs[1], "seed 5 twice: the same log");
  assert.notDeepEqual(logs[0], logs[2], "seed 6: another log");

  const { page } = await openPage(browser.context, pageUrl(browser.url));
  await generate(page, 5000, 3);
  await page.waitForFunction(() => document.querySelector("#log-count").textContent === "5,003 events in the log");
  // Only the rows in view are drawn, and the view follows the end of the log.
  await waitForRowsFetched(page);
  const drawn = await page.$$eval("#events tbody tr[data-position]", (rows) => rows.map((r) => Number(r.dataset.position)));
  assert.ok(drawn.length < 80, `${drawn.length} rows drawn`);
  assert.equal(Math.max(...drawn), 5003);
  // Scrolling to the middle draws the middle.
  await page.$eval("#log-scroll", (s) => (s.scrollTop = 2500 * 32));
  await page.waitForFunction(() => [...document.querySelectorAll("#events tbody tr[data-position]")].some((r) => r.dataset.position === "2510"));
  // Filters: one type, counted.
  await page.selectOption("#log-type", "Deducted");
  await page.waitForFunction(() => document.querySelector("#log-count").textContent.endsWith("match the filters"));
  const count = Number((await text(page, "#log-count")).split(" ")[0].replace(/,/g, ""));
  const sql = await runQuery(page, "SELECT count(*) FROM events WHERE type = 'Deducted'");
  assert.equal(String(count), sql.rows[0][0]);
  // The filtered rows are drawn after their count: wait for them, then read them.
  await page.waitForFunction(() => {
    const cells = [...document.querySelectorAll("#events td[data-col=type]")];
    return cells.length > 0 && cells.every((c) => c.textContent === "Deducted");
  }).catch(() => {});
  const types = await page.$$eval("#events td[data-col=type]", (cells) => [...new Set(cells.map((c) => c.textContent))]);
  assert.deepEqual(types, ["Deducted"]);
  await page.close();
});

test("the table's rows follow its filters, even when the rows asked for before them arrive after", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url, { storage: "memory" }));
  await generate(page, 150, 2);
  await page.waitForFunction(() => document.querySelector("#log-count").textContent === "153 events in the log");
  const [, aggregate] = (await eventRows(page)).find(([, , , type]) => type === "Deposited");
  // Every read of rows now takes half a second, as on a slow machine.
  await page.evaluate(() => {
    const sandbox = document.querySelector("es-log").session.sandbox;
    const events = sandbox.events.bind(sandbox);
    sandbox.events = (query) => new Promise((resolve) => setTimeout(resolve, 500)).then(() => events(query));
  });
  // One filter's rows are asked for, and while they are on their way another filter is added.
  await page.selectOption("#log-type", "Deposited");
  await page.waitForSelector("#events tbody tr.loading");
  await page.selectOption("#log-aggregate", aggregate);
  await page.waitForFunction(() => document.querySelector("#log-count").textContent.endsWith("match the filters"));
  await waitForRowsFetched(page);
  const shown = await page.$$eval("#events tbody tr[data-position]", (rows) => [
    ...new Set(rows.map((row) => `${row.querySelector("td[data-col=aggregate]").firstChild.textContent} ${row.querySelector("td[data-col=type]").textContent}`)),
  ]);
  assert.deepEqual(shown, [`${aggregate} Deposited`], "only the chosen aggregate's deposits");
  await page.close();
});

test("what-if side by side: the real and the hypothetical state and answers, differences marked; commands held", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  await page.locator("#what-if-panel").scrollIntoViewIfNeeded();
  await page.check('#what-if-events input[type=checkbox] >> nth=1');
  await page.waitForFunction(() => document.querySelector('#hypothetical-state tr[data-field="balance"]')?.textContent.includes("150"));
  assert.match(await text(page, '#hypothetical-state tr[data-field="balance"]'), /150 \(real: 120\)/);
  assert.equal(await page.getAttribute('#hypothetical-state tr[data-field="balance"]', "data-change"), "increased");
  assert.match(await text(page, '#real-state tr[data-field="balance"]'), /120/);
  assert.match(await text(page, "#what-if-summary"), /1 event\(s\) left out, 1 of them acc-001's \(version 2\)/);
  await page.waitForFunction(() => document.querySelector("#hypothetical-answer td.differs")?.textContent === "150");
  assert.equal(await page.textContent("#real-answer tbody td:nth-child(2)"), "120");
  // While a what-if is shown, commands are held with the reason (they would act on the real log).
  assert.equal(await page.isDisabled("#command-form button"), true);
  assert.match(await text(page, "#command-panel .held"), /A what-if is shown/);
  await page.click("#what-if button");
  // The button is in the log, at the top: the what-if panel draws when it is back in view.
  await page.locator("#what-if-panel").scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector("#what-if-summary").textContent.startsWith("Nothing left out"));
  assert.equal(await page.isDisabled("#command-form button"), false);
  await page.close();
});

test("storage growth and the replay cost's saw-tooth; the state's chart travels; projections' lag shows travelling events", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  await page.locator("#storage-panel").scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector("#storage-summary").textContent.startsWith("3 events"));
  assert.match(await text(page, "#storage-summary"), /^3 events, \d+ B as JSON; 0 snapshot\(s\), 0 B\./);
  assert.deepEqual(await page.$$eval("#storage-aggregates tbody tr", (rows) => rows.map((r) => [r.cells[0].textContent, r.cells[1].textContent])), [["acc-001", "3"]]);
  await setInterval(page, 3);
  for (let i = 0; i < 7; i++) {
    await page.selectOption("#command-form [name=command]", "Deposit");
    await page.fill("#command-form [name=payload]", '{"amount": 1}');
    await clickAndWait(page, "#command-form button", "#command-result", "ok");
  }
  await page.locator("#storage-panel").scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector("#replay-cost-note").textContent.startsWith("At its last version, v10"));
  assert.equal(await text(page, "#replay-cost-note"), "At its last version, v10, a replay folds 1 event(s) with snapshots, 10 without; 3 usable snapshot(s).");
  assert.equal(await page.locator("#replay-cost-chart polyline.series").count(), 2);
  assert.equal(await page.locator("#replay-cost-chart line.mark").count(), 3);
  // The state's numbers as a line; a click on a point travels there.
  assert.equal(await page.locator("#state-chart .dots circle").count(), 10);
  await page.locator("#state-chart .dots circle").nth(1).click();
  await page.waitForFunction(() => document.querySelector("#as-of").textContent.startsWith("As of position 2 of 10"));
  await page.click("#now");
  // A delay makes the lag visible: the new event travels to each projection, then arrives.
  await page.fill("#delay", "1500");
  await page.dispatchEvent("#delay", "change");
  await page.selectOption("#command-form [name=command]", "Deposit");
  await clickAndWait(page, "#command-form button", "#command-result", "ok");
  await page.waitForSelector('#projections tr[data-projection="balances"] .lag-dot');
  assert.match(await page.getAttribute('#projections tr[data-projection="balances"] .lag-track', "aria-label"), /1 event\(s\) on their way to balances/);
  await page.waitForFunction(() => !document.querySelector('#projections tr[data-projection="balances"] .lag-dot'), null, { timeout: 10_000 });
  await page.close();
});

test("idempotency lab: re-sending an event writes nothing; its id with other data is refused, naming the id", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  await page.click('#events tbody tr[data-position="2"] td[data-col="data"]');
  await page.locator("#idempotency-panel").scrollIntoViewIfNeeded();
  const id = await page.getAttribute('#events tbody tr[data-position="2"] td[data-col="id"]', "title");
  await page.waitForFunction((id) => document.querySelector("#idempotency-selected").textContent.includes(id), id);
  assert.match(await text(page, '#events tbody tr[data-position="2"] td[data-col="id"]'), /^[0-9a-f]{8}$/);
  const resent = await clickAndWait(page, "[data-testid=resend]", "#idempotency-result");
  assert.equal(resent, "alreadyStored: nothing was written. The event is where it was, at position 2 (version 2); the log still ends at position 3 (it was 3).");
  const refused = await clickAndWait(page, "[data-testid=resend-other]", "#idempotency-result", "rejected");
  assert.ok(refused.startsWith("Refused: ") && refused.includes(id), refused);
  assert.equal((await eventRows(page)).length, 3);
  await page.close();
});

test("schema evolution lab: a v1 event as stored and upcast; a v3 upcaster changes every read, not the stored bytes", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url, { scenario: "users" }));
  await page.locator("#schema-panel").scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector("#schema-stored").textContent.includes('"schemaVersion": 1'));
  const stored = JSON.parse(await text(page, "#schema-stored"));
  assert.deepEqual(stored, { type: "UserRegistered", schemaVersion: 1, data: { name: "Ada Lovelace", email: "ada@example.org" } });
  assert.deepEqual(JSON.parse(await text(page, "#schema-upcast")).data, { first_name: "Ada", last_name: "Lovelace", email: "ada@example.org" });
  assert.match(await text(page, "#schema-upcasters"), /UserRegistered v1 → v2/);
  await page.click("[data-testid=schema-add-upcaster]");
  await page.waitForFunction(() => document.querySelector("[data-testid=rules-part]").selectedOptions[0].textContent === "upcaster UserRegistered v2");
  await page.fill("[data-testid=rules-source]", "fn upcast(data) {\n    data.last_name = data.last_name.to_upper();\n    data\n}");
  await clickAndWait(page, "[data-testid=rules-apply]", "#rules-result", "ok");
  await page.locator("#schema-panel").scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector("#schema-upcast").textContent.includes("LOVELACE"));
  assert.equal(JSON.parse(await text(page, "#schema-upcast")).schemaVersion, 3);
  assert.deepEqual(JSON.parse(await text(page, "#schema-stored")), stored, "the stored bytes are the same");
  assert.match(await text(page, "#schema-upcasters"), /v1 → v2[\s\S]*v2 → v3/);
  const directory = await runQuery(page, "SELECT last_name FROM users WHERE user_id = 'usr-001'");
  assert.deepEqual(directory.rows, [["LOVELACE"]]);
  const bytes = await runQuery(page, "SELECT data FROM events WHERE position = 1");
  assert.deepEqual(JSON.parse(bytes.rows[0][0]), { name: "Ada Lovelace", email: "ada@example.org" });
  await page.close();
});

test("rules editor: a compile error points at its line and column; an edit applies, persists with the store, and resets", async () => {
  const name = freshName("rules");
  const { page } = await openPage(browser.context, pageUrl(browser.url, { name }));
  await page.selectOption("[data-testid=rules-part]", "aggregate:0");
  const source = await page.inputValue("[data-testid=rules-source]");
  const lines = source.split("\n");
  const at = lines.findIndex((l) => l.includes("state.balance -= data.amount;"));
  lines[at] = "    state.balance -= data.amount +;";
  await page.fill("[data-testid=rules-source]", lines.join("\n"));
  const error = await clickAndWait(page, "[data-testid=rules-check]", "#rules-result", "error");
  assert.match(error, new RegExp(`account rules: .*\\(line ${at + 1}, column \\d+\\)`));
  assert.equal(await text(page, "#rules-panel .gutter .error"), String(at + 1));
  assert.equal(await page.isVisible("#rules-panel .editor-error"), true);
  // Fixed and changed: a deduction now costs 1 more.
  lines[at] = "    state.balance -= data.amount + 1;";
  await page.fill("[data-testid=rules-source]", lines.join("\n"));
  await clickAndWait(page, "[data-testid=rules-apply]", "#rules-result", "ok");
  await page.waitForFunction(() => JSON.parse(document.querySelector("#state").textContent).balance === 119);
  assert.equal(await page.locator("#rules-panel .gutter .error").count(), 0);
  // The edited rules are kept with the store: a reload uses them.
  await page.reload();
  await waitForLog(page, 3);
  await page.waitForFunction(() => JSON.parse(document.querySelector("#state").textContent || "{}").balance === 119);
  assert.match(await text(page, "#status"), /opened with the rules recorded with this store/);
  await clickAndWait(page, "[data-testid=rules-reset]", "#rules-result", "ok");
  await page.waitForFunction(() => JSON.parse(document.querySelector("#state").textContent || "{}").balance === 120);
  await page.close();
});
