// The store's promises across real tabs, for IndexedDB and localStorage alike: one winner per
// expected version, idempotent retries from another tab, 4 pages × 300 contended commands with
// nothing lost or duplicated and the same log everywhere, and every subscriber hearing each
// position exactly once, in order.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { openBrowser } from "./harness.mjs";
import { atOnce, contendedCommands, openWriters, reopen, settledLogs } from "./contention.mjs";

let browser;
before(async () => {
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
});

const range = (from, to) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/** Every page's subscriber heard exactly the positions after the head it opened at, in order. */
function assertHeardEachOnce(logs) {
  for (const [index, log] of logs.entries()) {
    assert.deepEqual(log.received, range(log.openedAt + 1, log.head), `page ${index} heard each position once, in order`);
  }
}

for (const storage of ["indexeddb", "localstorage"]) {
  test(`${storage}: two tabs appending with the same expected version, 10 times: one wins each time`, async () => {
    for (let trial = 0; trial < 10; trial += 1) {
      const { name, pages } = await openWriters(browser, storage, 2);
      const outcomes = await atOnce(pages, async (sandbox, tab) => {
        try {
          const appended = await sandbox.append("acc-001", [{ type: "Deposited", data: { amount: 10 + tab } }], { expected: 3 });
          return { ok: appended.version };
        } catch (error) {
          return { kind: error.kind, details: error.details };
        }
      });
      const winners = outcomes.filter((o) => o.ok);
      assert.equal(winners.length, 1, `trial ${trial}: ${JSON.stringify(outcomes)}`);
      assert.equal(winners[0].ok, 4);
      const loser = outcomes.find((o) => !o.ok);
      assert.deepEqual(loser, { kind: "conflict", details: { aggregateId: "acc-001", expected: 3, actual: 4 } });
      const logs = await settledLogs(pages);
      assert.deepEqual(logs[0].ids, logs[1].ids);
      for (const page of pages) await page.close();
      const reopened = await reopen(browser, storage, name);
      assert.deepEqual(reopened.positions, [1, 2, 3, 4], `trial ${trial}: the store reopens with the winner only`);
    }
  });

  test(`${storage}: a retry from another tab is idempotent, a re-used id with other data is refused`, async () => {
    const { name, pages } = await openWriters(browser, storage, 2);
    const batch = [{ type: "Deposited", data: { amount: 2 }, eventId: "7d444840-9dc0-11d1-b245-5ffdce74fad2", timestamp: 1_800_000_000_000 }];
    const [first] = await atOnce([pages[0]], (sandbox, _, { batch }) => sandbox.append("acc-001", batch, { expected: 3 }), { batch });
    assert.deepEqual([first.alreadyStored, first.lastPosition], [false, 4]);
    const [retry] = await atOnce([pages[1]], (sandbox, _, { batch }) => sandbox.append("acc-001", batch, { expected: 3 }), { batch });
    assert.deepEqual([retry.alreadyStored, retry.lastPosition, retry.version], [true, 4, 4]);
    const [misuse] = await atOnce(
      [pages[1]],
      async (sandbox, _, { batch }) => {
        try {
          await sandbox.append("acc-001", [{ ...batch[0], data: { amount: 3 } }]);
          return "accepted";
        } catch (error) {
          return { kind: error.kind, message: error.message };
        }
      },
      { batch },
    );
    assert.equal(misuse.kind, "idempotency");
    assert.match(misuse.message, /7d444840-9dc0-11d1-b245-5ffdce74fad2 is already stored \(position 4\) with different content/);
    for (const page of pages) await page.close();
    assert.deepEqual((await reopen(browser, storage, name)).positions, [1, 2, 3, 4]);
  });

  test(`${storage}: 4 tabs × 300 contended commands: none lost, none duplicated, one log everywhere`, async () => {
    const { name, pages } = await openWriters(browser, storage, 4);
    const results = await contendedCommands(pages, 300);
    const acknowledged = results.flatMap((r) => r.acknowledged);
    assert.ok(results.some((r) => r.conflicts > 0), "the tabs met conflicts");
    const logs = await settledLogs(pages);
    const head = logs[0].head;
    for (const log of logs) {
      assert.deepEqual(log.ids, logs[0].ids, "every tab has the same log");
      assert.deepEqual(log.positions, range(1, head));
    }
    assert.equal(new Set(logs[0].ids).size, head, "no event is stored twice");
    const stored = new Set(logs[0].ids);
    assert.deepEqual(acknowledged.filter((id) => !stored.has(id)), [], "every acknowledged event is stored");
    assert.equal(head, 3 + acknowledged.length, "nothing but the seed and the acknowledged events");
    assertHeardEachOnce(logs);
    for (const page of pages) await page.close();
    const reopened = await reopen(browser, storage, name);
    assert.equal(reopened.error, undefined, JSON.stringify(reopened.error));
    assert.deepEqual(reopened.ids, logs[0].ids, "the store reopens with the same log");
  });
}

test("indexeddb: 2 tabs × 300 contended commands: each subscriber hears every position once, in order", async () => {
  const { pages } = await openWriters(browser, "indexeddb", 2);
  await contendedCommands(pages, 300);
  assertHeardEachOnce(await settledLogs(pages));
  for (const page of pages) await page.close();
});
