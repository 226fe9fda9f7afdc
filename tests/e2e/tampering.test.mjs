// Records edited or deleted by hand, through the browser's own IndexedDB and localStorage APIs
// (as someone might in DevTools): a deleted last record, an edited snapshot, a snapshot whose
// event was replaced, and a valid-JSON edit in localStorage are all noticed; the page says how
// far the log is intact and can keep that part.
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

/** Runs a raw IndexedDB transaction on a store's database: `edit(objectStore)` in `storeName`. */
function editIndexedDb(page, name, storeName, edit) {
  return page.evaluate(
    async ({ name, storeName, source }) => {
      const edit = new Function(`return (${source})`)();
      const db = await new Promise((done, fail) => {
        const request = indexedDB.open(`es-sandbox/${name}`);
        request.onsuccess = () => done(request.result);
        request.onerror = () => fail(request.error);
      });
      const result = await new Promise((done, fail) => {
        const tx = db.transaction(storeName, "readwrite");
        let value;
        Promise.resolve(edit(tx.objectStore(storeName))).then((v) => (value = v));
        tx.oncomplete = () => done(value);
        tx.onerror = () => fail(tx.error);
      });
      db.close();
      return result;
    },
    { name, storeName, source: edit.toString() },
  );
}

/** Takes a snapshot of acc-001 through a second sandbox on the page's store. */
function takeSnapshot(page, storage, name) {
  return page.evaluate(
    async ({ storage, name }) => {
      const { Sandbox } = await import("./pkg/es_sandbox.js");
      const sandbox = await Sandbox.open({ storage, name, scenario: "bank", readModel: "manual" });
      const snapshot = await sandbox.snapshot("acc-001");
      sandbox.close();
      return snapshot.version;
    },
    { storage, name },
  );
}

async function keepIntactPart(page) {
  await page.click("#keep-prefix");
  await page.waitForSelector("#recovery-confirm:not([hidden])");
  assert.match(await page.textContent("#recovery-confirm"), /Keep positions 1 to \d+ and delete the \d+ record\(s\) after them\?/);
  await page.click('#recovery-confirm button[data-answer="yes"]');
}

for (const storage of ["indexeddb", "localstorage"]) {
  test(`${storage}: a deleted last record is noticed; the page keeps the intact part on request`, async () => {
    const name = freshName(`deleted-${storage}`);
    const { page } = await openPage(browser.context, pageUrl(browser.url, { storage, name }));
    await deposit(page, 5);
    await deposit(page, 7);
    await waitForLog(page, 5);
    if (storage === "indexeddb") {
      await editIndexedDb(page, name, "segments", (segments) => segments.delete(5));
    } else {
      await page.evaluate((name) => localStorage.removeItem(`es-sandbox/${name}/seg/5`), name);
    }
    await page.reload();
    await page.waitForSelector("#recovery:not([hidden])");
    assert.match(await page.textContent("#recovery-reason"), /the log ends at position 4 but position 5 was acknowledged/);
    await page.waitForFunction(() => document.querySelector("#recovery-intact").textContent.includes("intact up to position 4"));
    assert.match(await page.textContent("#recovery-intact"), /The store acknowledged events up to position 5\./);
    await keepIntactPart(page);
    await waitForLog(page, 4);
    assert.equal(await page.isHidden("#recovery"), true);
    assert.equal((await eventRows(page)).length, 4);
    assert.equal(await balance(page), 125);
    // The store goes on from there.
    await deposit(page, 1);
    await waitForLog(page, 5);
    assert.equal(await balance(page), 126);
    await page.close();
  });
}

test("indexeddb: a snapshot edited by hand is skipped, and the page says why", async () => {
  const name = freshName("snapshot-edit");
  const { page } = await openPage(browser.context, pageUrl(browser.url, { name }));
  assert.equal(await takeSnapshot(page, "indexeddb", name), 3);
  await editIndexedDb(page, name, "snapshots", (snapshots) => {
    const request = snapshots.get(["acc-001", 3]);
    request.onsuccess = () => {
      const snapshot = JSON.parse(request.result);
      snapshot.state.balance = 1_000_000;
      snapshots.put(JSON.stringify(snapshot), ["acc-001", 3]);
    };
  });
  await page.reload();
  await waitForLog(page, 3);
  await page.waitForFunction(() => document.querySelector("#replay-info").textContent.includes("Skipped"));
  assert.equal(await balance(page), 120);
  assert.match(await page.textContent("#replay-info"), /Skipped the snapshot at version 3: its checksum does not match: it was edited after it was taken\./);
  // A Deduct the real balance cannot cover is still refused.
  await page.selectOption("#command-form [name=command]", "Deduct");
  await page.fill("#command-form [name=payload]", '{"amount": 500}');
  await page.click("#command-form button");
  await page.waitForSelector("#command-result[data-kind=rejected]");
  await page.close();
});

test("indexeddb: a snapshot taken after an event that is gone is not used for the event now at its version", async () => {
  const name = freshName("snapshot-event");
  const { page } = await openPage(browser.context, pageUrl(browser.url, { name }));
  await deposit(page, 5);
  await deposit(page, 7);
  await waitForLog(page, 5);
  assert.equal(await takeSnapshot(page, "indexeddb", name), 5);
  // The last record disappears; the intact part is kept; a new event becomes version 5.
  await editIndexedDb(page, name, "segments", (segments) => segments.delete(5));
  await page.reload();
  await page.waitForSelector("#recovery:not([hidden])");
  await page.waitForFunction(() => document.querySelector("#recovery-intact").textContent.includes("intact up to position 4"));
  await keepIntactPart(page);
  await waitForLog(page, 4);
  await deposit(page, 100);
  await waitForLog(page, 5);
  // The snapshot says 132 at version 5; the log says 120 + 5 + 100.
  await page.waitForFunction(() => document.querySelector("#replay-info").textContent.includes("Skipped"));
  assert.equal(await balance(page), 225);
  assert.match(await page.textContent("#replay-info"), /Skipped the snapshot at version 5: another event now holds its version/);
  await page.close();
});

test("localstorage: an amount edited by hand, still valid JSON, is caught by the checksum", async () => {
  const name = freshName("ls-edit");
  const { page } = await openPage(browser.context, pageUrl(browser.url, { storage: "localstorage", name }));
  await deposit(page, 1);
  await waitForLog(page, 4);
  const edited = await page.evaluate((name) => {
    const key = `es-sandbox/${name}/seg/4`;
    const text = localStorage.getItem(key);
    const changed = text.replace('"amount":1', '"amount":5000');
    JSON.parse(changed);
    localStorage.setItem(key, changed);
    return changed !== text;
  }, name);
  assert.equal(edited, true);
  await page.reload();
  await page.waitForSelector("#recovery:not([hidden])");
  assert.match(await page.textContent("#recovery-reason"), /stored record 4 .* checksum mismatch: the record was changed after it was written/);
  await page.waitForFunction(() => document.querySelector("#recovery-intact").textContent.includes("intact up to position 3"));
  await page.close();
});
