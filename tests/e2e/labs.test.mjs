// End-to-end tests of the two-tab labs and the tour: CRUD's lost update beside the log, the
// guided optimistic-concurrency conflict, and the eight-step tour (opened on a first visit,
// remembered, reopened).
import { rm } from "node:fs/promises";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { clickAndWait, freshName, launch, openBrowser, openPage, pageUrl, waitForLog } from "./harness.mjs";

let browser;
before(async () => {
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
});


for (const storage of ["indexeddb", "localstorage"]) {
  test(`${storage}: CRUD beside the log: the same command moves both; two tabs lose an update in CRUD without a word`, async () => {
    const address = pageUrl(browser.url, { storage, name: freshName("crud") });
    const { page: first } = await openPage(browser.context, address);
    await first.locator("#crud-panel").scrollIntoViewIfNeeded();
    await first.waitForFunction(() => document.querySelector('#crud-row tr[data-field="balance"]')?.cells[1].textContent === "120");
    assert.match(await first.textContent("#crud-row-note"), /^Written 1 time\(s\), last at .*That is all it remembers/);
    assert.deepEqual(await first.$$eval("#crud-log li", (items) => items.map((li) => li.textContent)), [
      'v1 Created {"balance":100}',
      'v2 Deducted {"amount":30}',
      'v3 Deposited {"amount":50}',
      '= {"balance":120,"open":true}',
    ]);
    // The same command through the log moves the CRUD row too: CRUD knows 90, the log knows why.
    await first.selectOption("#command-form [name=command]", "Deduct");
    await first.fill("#command-form [name=payload]", '{"amount": 30}');
    await clickAndWait(first, "#command-form button", "#command-result", "ok");
    await first.locator("#crud-panel").scrollIntoViewIfNeeded();
    await first.waitForFunction(() => document.querySelector('#crud-row tr[data-field="balance"]')?.cells[1].textContent === "90");
    assert.match(await first.textContent("#crud-log"), /v4 Deducted \{"amount":30\}= \{"balance":90,"open":true\}$/);

    // The lab: both tabs read 90, both deduct 30 from what they read.
    const { page: second } = await openPage(browser.context, address);
    await second.locator("#crud-panel").scrollIntoViewIfNeeded();
    assert.match(await clickAndWait(first, "[data-testid=crud-read]", "#crud-lab-result", "ok"), /^Read acc-001: \{"balance":90,"open":true\}/);
    assert.match(await clickAndWait(second, "[data-testid=crud-read]", "#crud-lab-result", "ok"), /^Read acc-001: \{"balance":90,"open":true\}/);
    const saved = await clickAndWait(first, "[data-testid=crud-save]", "#crud-lab-result", "ok");
    assert.match(saved, /^Saved \{"balance":60,"open":true\}\. Nobody wrote the row since you read it\./);
    const lost = await clickAndWait(second, "[data-testid=crud-save]", "#crud-lab-result", "conflict");
    assert.match(lost, /^Saved \{"balance":60,"open":true\}\. Another writer saved this row 1 time\(s\) after you read it .*a lost update/);
    // Two deductions of 30 from 90, and the row says 60: one was lost. The log never saw either.
    await first.reload();
    await waitForLog(first, 4);
    await first.locator("#crud-panel").scrollIntoViewIfNeeded();
    await first.waitForFunction(() => document.querySelector('#crud-row tr[data-field="balance"]')?.cells[1].textContent === "60");
    assert.match(await first.textContent("#crud-row-note"), /It differs from the log's state \{"balance":90,"open":true\}/);
    await first.close();
    await second.close();
  });
}

test("the guided conflict in two tabs: both load v3, one wins, the other sees expected 3 / actual 4 and retries", async () => {
  const address = pageUrl(browser.url, { name: freshName("conflict") });
  const { page: first } = await openPage(browser.context, address);
  const { page: second } = await openPage(browser.context, address);
  for (const page of [first, second]) {
    await page.locator("#conflict-panel").scrollIntoViewIfNeeded();
    assert.match(await clickAndWait(page, "[data-testid=conflict-load]", "#conflict-result", "ok"), /^Loaded acc-001 at version 3: \{"balance":120,"open":true\}\.$/);
  }
  const won = await clickAndWait(first, "[data-testid=conflict-run]", "#conflict-result", "ok");
  assert.match(won, /^Stored at version 4 \(expected 3, and it was 3\): \{"balance":90,"open":true\}/);
  const refused = await clickAndWait(second, "[data-testid=conflict-run]", "#conflict-result", "conflict");
  assert.match(refused, /^Refused: expected version 3, actual version 4\. Another writer appended after you loaded; nothing of yours was stored\./);
  assert.equal(await second.isVisible("[data-testid=conflict-retry]"), true);
  const retried = await clickAndWait(second, "[data-testid=conflict-retry]", "#conflict-result", "ok");
  assert.match(retried, /^Stored at version 5 \(expected 4, and it was 4\): \{"balance":60,"open":true\}/);
  await first.waitForFunction(() => JSON.parse(document.querySelector("#state").textContent).balance === 60, null, { timeout: 10_000 });
  await first.close();
  await second.close();
});

test("the tour: eight steps on a first visit, each doing something on the page; closed, remembered, reopened", async () => {
  // A browser of its own, on which the tour was never seen.
  const profile = `${browser.profile}-tour`;
  const context = await launch(profile, { tourSeen: false });
  try {
    const page = await context.newPage();
    await page.goto(pageUrl(browser.url, { name: freshName("tour") }));
    await page.waitForSelector("[data-testid=tour]:not([hidden])", { timeout: 30_000 });
    const seen = [];
    for (let step = 1; step <= 8; step++) {
      await page.waitForFunction((n) => document.querySelector("#tour-progress").textContent === `Step ${n} of 8`, step);
      const target = await page.evaluate(() => document.querySelector(".tour-target")?.id);
      seen.push([await page.textContent("#tour-title"), target]);
      if (step === 2) await page.waitForFunction(() => document.querySelector("#as-of").textContent.startsWith("As of position 2 of 3"));
      if (step === 4) await page.waitForFunction(() => /from the snapshot at v3/.test(document.querySelector("#replay-info").textContent));
      if (step === 6) await page.waitForFunction(() => document.querySelector('#hypothetical-state tr[data-field="balance"]')?.textContent.includes("150"));
      await page.click("[data-testid=tour-next]");
    }
    assert.deepEqual(seen, [
      ["CRUD forgets", "crud-panel"],
      ["State is a replay", "timeline-panel"],
      ["The store keeps order, versions and ids", "idempotency-panel"],
      ["Snapshots shorten replays", "snapshots-panel"],
      ["Projections are eventually consistent", "read-model-panel"],
      ["Time travel, recovery, what-if", "what-if-panel"],
      ["Schema versions and compensation", "schema-panel"],
      ["Between the log and its consumers, a network", "consumers-panel"],
    ]);
    await page.waitForSelector("[data-testid=tour]", { state: "hidden" });
    await page.reload();
    await waitForLog(page, 3);
    assert.equal(await page.isHidden("[data-testid=tour]"), true, "remembered: not opened again");
    await page.click("[data-testid=tour-open]");
    await page.waitForSelector("[data-testid=tour]:not([hidden])");
    await page.keyboard.press("Escape");
    await page.waitForSelector("[data-testid=tour]", { state: "hidden" });
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
});
