// End-to-end tests of durable storage in Chromium: reloads, browser restarts, two pages on one
// profile seeing each other live and conflicting for real, a 2 × 500 append stress test, and the
// page's recovery from a record that does not decode.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { balance, deposit, eventRows, freshName, openBrowser, openPage, pageUrl, waitForLog } from "./harness.mjs";

let browser;
before(async () => {
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
});

for (const storage of ["indexeddb", "localstorage"]) {
  test(`${storage}: everything appended is there after a reload and a browser restart`, async () => {
    const address = pageUrl(browser.url, { storage });
    const { page } = await openPage(browser.context, address);
    await deposit(page, 7);
    await page.waitForFunction(() => document.querySelectorAll("#events tbody tr[data-position]").length === 4);
    assert.match(await page.textContent("#status"), storage === "indexeddb" ? /IndexedDB es-sandbox\// : /localStorage es-sandbox\//);

    await page.reload();
    await waitForLog(page, 4);
    assert.equal((await eventRows(page)).length, 4);
    assert.equal(await balance(page), 127);

    await browser.restart();
    const { page: restarted } = await openPage(browser.context, address);
    await waitForLog(restarted, 4);
    assert.deepEqual((await eventRows(restarted)).map((row) => row[3]), ["Created", "Deducted", "Deposited", "Deposited"]);
    assert.equal(await balance(restarted), 127);
    await restarted.close();
  });
}

test("two pages on one store see each other's events live", async () => {
  const address = pageUrl(browser.url);
  const { page: first } = await openPage(browser.context, address);
  const { page: second } = await openPage(browser.context, address);
  await deposit(first, 5);
  await second.waitForFunction(() => document.querySelectorAll("#events tbody tr[data-position]").length === 4, null, { timeout: 10_000 });
  assert.match(await second.textContent("#live"), /1 new event\(s\) from another tab, up to position 4/);
  await second.waitForFunction(() => JSON.parse(document.querySelector("#state").textContent).balance === 125);
  await first.close();
  await second.close();
});

test("two pages appending at version 3: exactly one wins, the other gets expected 3, actual 4", async () => {
  const address = pageUrl(browser.url);
  const pages = [];
  for (let i = 0; i < 2; i += 1) pages.push((await openPage(browser.context, address)).page);
  for (const page of pages) {
    await page.selectOption("#append-form [name=type]", "Deposited");
    await page.fill("#append-form [name=data]", '{"amount": 1}');
    await page.fill("#append-form [name=expected]", "3");
  }
  await Promise.all(pages.map((page) => page.click("#append-form button")));
  const outcomes = [];
  for (const page of pages) {
    await page.waitForSelector("#append-result[data-kind]");
    outcomes.push([await page.getAttribute("#append-result", "data-kind"), await page.textContent("#append-result")]);
  }
  outcomes.sort();
  assert.equal(outcomes[0][0], "conflict");
  assert.equal(outcomes[0][1], "Conflict: expected version 3, actual version 4. Nothing was stored.");
  assert.equal(outcomes[1][0], "ok");
  for (const page of pages) {
    await page.waitForFunction(() => document.querySelectorAll("#events tbody tr[data-position]").length === 4, null, { timeout: 10_000 });
    await page.close();
  }
});

test("stress: 2 pages × 500 concurrent appends with expected versions and retries", async () => {
  const name = freshName("stress");
  const address = pageUrl(browser.url, { name });
  const pages = [];
  for (let i = 0; i < 2; i += 1) pages.push((await openPage(browser.context, address)).page);
  // Each page opens its own sandbox on the store and fires 500 appends at once. Each append
  // expects the version it last saw; on a conflict it retries with the actual version.
  const run = (page, tab) =>
    page.evaluate(
      async ({ name, tab }) => {
        const { Sandbox } = await import("./pkg/es_sandbox.js");
        const sandbox = await Sandbox.open({ storage: "indexeddb", name, scenario: "bank" });
        let known = (await sandbox.streams()).find((s) => s.aggregateId === "acc-001").version;
        const acknowledged = [];
        let conflicts = 0;
        const one = async (i) => {
          const eventId = crypto.randomUUID();
          for (let attempt = 0; attempt < 10_000; attempt += 1) {
            try {
              const committed = await sandbox.append("acc-001", [{ type: "Deposited", data: { amount: 1 }, eventId, correlationId: `${tab}/${i}` }], { expected: known });
              known = Math.max(known, committed.version);
              acknowledged.push(eventId);
              return;
            } catch (error) {
              if (error.kind !== "conflict") throw error;
              conflicts += 1;
              known = Math.max(known, error.details.actual);
              await null;
            }
          }
          throw new Error(`append ${i} gave up`);
        };
        await Promise.all(Array.from({ length: 500 }, (_, i) => one(i)));
        sandbox.close();
        return { acknowledged, conflicts };
      },
      { name, tab },
    );
  const results = await Promise.all(pages.map((page, tab) => run(page, tab)));
  const acknowledged = results.flatMap((r) => r.acknowledged);
  assert.equal(acknowledged.length, 1000);
  assert.ok(results.every((r) => r.conflicts > 0), "both pages met conflicts");

  const check = await pages[0].evaluate(async (name) => {
    const { Sandbox } = await import("./pkg/es_sandbox.js");
    const sandbox = await Sandbox.open({ storage: "indexeddb", name, scenario: "bank" });
    const events = await sandbox.events({ aggregateId: "acc-001", limit: 5000 });
    const positions = (await sandbox.events({ limit: 5000 })).map((e) => e.position);
    sandbox.close();
    return { versions: events.map((e) => e.version), ids: events.map((e) => e.eventId), positions };
  }, name);
  const total = 3 + 1000;
  assert.deepEqual(check.versions, Array.from({ length: total }, (_, i) => i + 1));
  assert.deepEqual(check.positions, Array.from({ length: total }, (_, i) => i + 1));
  assert.equal(new Set(check.ids).size, total);
  const stored = new Set(check.ids);
  assert.ok(acknowledged.every((id) => stored.has(id)), "every acknowledged append is stored");
  for (const page of pages) await page.close();
});

test("a record that does not decode: the page says which, exports the raw data, and resets", async () => {
  const name = freshName("corrupt");
  const address = pageUrl(browser.url, { name });
  const { page } = await openPage(browser.context, address);
  await page.evaluate(async (name) => {
    // Edit the store by hand, as someone might in DevTools.
    const db = await new Promise((done, fail) => {
      const request = indexedDB.open(`es-sandbox/${name}`);
      request.onsuccess = () => done(request.result);
      request.onerror = () => fail(request.error);
    });
    await new Promise((done, fail) => {
      const tx = db.transaction("segments", "readwrite");
      tx.objectStore("segments").put("edited by hand", 4);
      tx.oncomplete = done;
      tx.onerror = () => fail(tx.error);
    });
    db.close();
  }, name);
  await page.reload();
  await page.waitForSelector("#recovery:not([hidden])");
  const reason = await page.textContent("#recovery-reason");
  assert.match(reason, new RegExp(`stored record 4 in IndexedDB es-sandbox/${name}/segments cannot be read: the value is not a Uint8Array segment`));

  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export")]);
  const exported = JSON.parse(await (await download.createReadStream()).toArray().then((chunks) => Buffer.concat(chunks).toString()));
  assert.deepEqual(exported.records.map((r) => r.key), [1, 2, 3, 4]);
  assert.deepEqual(exported.records.slice(0, 3).map((r) => r.events[0].type), ["Created", "Deducted", "Deposited"]);
  assert.match(exported.records[3].error, /not a segment record/);
  assert.equal(exported.records[3].text, "edited by hand", "the raw content is exported as it is");
  assert.equal(exported.commitRecord.position, 3);

  await page.click("#recovery-reset");
  await page.click('#recovery-confirm button[data-answer="yes"]');
  await waitForLog(page, 3);
  assert.equal(await page.isHidden("#recovery"), true);
  assert.equal((await eventRows(page)).length, 3);
  await page.close();
});
