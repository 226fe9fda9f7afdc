// The promises a learner checks in the page and through the JS API: a closed sandbox refuses
// everything, a store remembers its scenario, events and payloads have shapes (shown and
// enforced), a projection that cannot apply an event can skip it, and a new projection delay
// takes effect at once.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { eventRows, freshName, openBrowser, openPage, pageUrl, runQuery, waitForLog } from "./harness.mjs";

let browser;
before(async () => {
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
});

/** Runs `body(module)` in a blank page of the app's origin with the module loaded. */
async function inModule(body, args = {}) {
  const page = await browser.context.newPage();
  await page.goto(`${browser.url}blank.html`);
  const result = await page.evaluate(
    async ({ source, args }) => {
      const module = await import("./pkg/es_sandbox.js");
      await module.default();
      return new Function(`return (${source})`)()(module, args);
    },
    { source: body.toString(), args },
  );
  await page.close();
  return result;
}

for (const storage of ["memory", "indexeddb", "localstorage"]) {
  test(`${storage}: after close(), every method fails with a clear error`, async () => {
    const outcomes = await inModule(
      async ({ Sandbox }, { storage, name }) => {
        const sandbox = await Sandbox.open({ storage, name, scenario: "bank" });
        sandbox.close();
        const calls = {
          execute: () => sandbox.execute("acc-001", "Deposit", { amount: 1 }),
          append: () => sandbox.append("acc-001", [{ type: "Deposited", data: { amount: 1 } }]),
          replay: () => sandbox.replay("acc-001"),
          snapshot: () => sandbox.snapshot("acc-001"),
          snapshots: () => sandbox.snapshots("acc-001"),
          events: () => sandbox.events(),
          headPosition: () => sandbox.headPosition(),
          streams: () => sandbox.streams(),
          refresh: () => sandbox.refresh(),
          subscribe: () => sandbox.subscribe(() => {}),
          scenario: () => sandbox.scenario(),
          storeInfo: () => sandbox.storeInfo(),
          aggregateType: () => sandbox.aggregateType("acc-001"),
          query: () => sandbox.query("SELECT 1"),
          projections: () => sandbox.projections(),
          project: () => sandbox.project(),
          readModelCopy: () => sandbox.readModelCopy(),
          readModelGeneration: () => sandbox.readModelGeneration(),
          setProjectionDelay: () => sandbox.setProjectionDelay(5),
          pauseProjection: () => sandbox.pauseProjection("balances"),
          skipEvent: () => sandbox.skipEvent("balances"),
        };
        const outcomes = {};
        for (const [name, call] of Object.entries(calls)) {
          try {
            await call();
            outcomes[name] = "answered";
          } catch (error) {
            outcomes[name] = `${error.kind}: ${error.message}`;
          }
        }
        return outcomes;
      },
      { storage, name: freshName(`closed-${storage}`) },
    );
    for (const [method, outcome] of Object.entries(outcomes)) {
      assert.equal(outcome, "storage: the store is closed: the sandbox was closed; open it again", method);
    }
  });
}

test("a store opened with another scenario says so and offers both ways, in the page", async () => {
  const name = freshName("other-scenario");
  const { page } = await openPage(browser.context, pageUrl(browser.url, { scenario: "bank", name }));
  // The same store asked for with another scenario (a link, or another tab).
  await page.goto(pageUrl(browser.url, { scenario: "orders", name }));
  await page.waitForSelector("#other-scenario:not([hidden])");
  assert.equal(
    await page.textContent("#other-scenario-reason"),
    `The store ${name} holds events of scenario bank, not orders. Nothing was changed.`,
  );
  assert.equal(await page.textContent("#use-stored"), "Open it with bank");
  assert.equal(await page.textContent("#use-given"), "Open it with orders anyway");
  await page.click("#use-stored");
  await waitForLog(page, 3);
  assert.equal(await page.inputValue("#scenario"), "bank");
  assert.deepEqual((await eventRows(page)).map((row) => row[3]), ["Created", "Deducted", "Deposited"]);
  await page.close();
});

test("shapes: shown beside the forms, and a wrong field is named, in the page", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  await page.selectOption("#command-form [name=command]", "Deposit");
  assert.match(await page.textContent("#command-form [name=help]"), /Payload: \{ amount: integer \}\./);
  await page.fill("#command-form [name=payload]", '{"amount": 0.1}');
  await page.click("#command-form button");
  await page.waitForSelector("#command-result[data-kind=error]");
  assert.equal(
    await page.textContent("#command-result"),
    "the payload of Deposit: `amount` must be a whole number within ±9007199254740991 (integer), found the number 0.1",
  );
  await page.selectOption("#append-form [name=type]", "Deposited");
  assert.equal(await page.textContent("#append-form [name=help]"), "Data: { amount: integer }.");
  await page.fill("#append-form [name=data]", '{"amount": "five"}');
  await page.click("#append-form button");
  await page.waitForSelector("#append-result[data-kind=error]");
  assert.equal(await page.textContent("#append-result"), 'Deposited (schema version 1): `amount` must be integer, found a string "five"');
  assert.equal((await eventRows(page)).length, 3, "nothing was stored");
  await page.close();
});

test("a projection that cannot apply an event: the page shows why, and skipping parks the event", async () => {
  const name = freshName("skip");
  const { page } = await openPage(browser.context, pageUrl(browser.url, { name }));
  // A strict definition of balances, typed in the page's editor: a second Created breaks it.
  await page.click('#projections tr[data-projection="balances"] button[data-action="Edit"]');
  const strict = {
    name: "balances",
    setup: "CREATE TABLE balances (account TEXT PRIMARY KEY, balance INTEGER NOT NULL)",
    on: {
      Created: "INSERT INTO balances VALUES (:aggregate_id, :balance)",
      Deposited: "UPDATE balances SET balance = balance + :amount WHERE account = :aggregate_id",
      Deducted: "UPDATE balances SET balance = balance - :amount WHERE account = :aggregate_id",
    },
  };
  await page.fill("#projection-editor [name=definition]", JSON.stringify(strict));
  await page.click("#projection-editor button[type=submit]");
  await page.waitForFunction(() => document.querySelector('#projections tr[data-projection="balances"] td:nth-child(2)')?.textContent.startsWith("3 / 3"));
  await page.selectOption("#append-form [name=type]", "Created");
  await page.fill("#append-form [name=data]", '{"balance": 7}');
  await page.click("#append-form button");
  await page.waitForSelector("#append-result[data-kind=ok]");
  const badge = '#projections tr[data-projection="balances"] .state-badge';
  await page.waitForFunction((badge) => document.querySelector(badge)?.textContent === "failed", badge);
  const row = await page.textContent('#projections tr[data-projection="balances"]');
  assert.match(row, /stopped before the event at position 4: .*UNIQUE constraint failed: balances\.account/);
  await page.click('#projections tr[data-projection="balances"] button[data-action="Skip this event"]');
  await page.waitForFunction(() => document.querySelector('#projections tr[data-projection="balances"] td:nth-child(2)')?.textContent === "4 / 4");
  assert.equal(await page.textContent(badge), "running");
  const parked = await runQuery(page, "SELECT projection, position, type FROM parked_events");
  assert.deepEqual(parked.rows, [["balances", "4", "Created"]]);
  await page.close();
});

test("a lower projection delay takes effect at once; an impossible one is refused with its range", async () => {
  const { page } = await openPage(browser.context, pageUrl(browser.url));
  const checkpoint = () => page.textContent('#projections tr[data-projection="balances"] td:nth-child(2)');
  await page.waitForFunction(() => document.querySelector('#projections tr[data-projection="balances"] td:nth-child(2)')?.textContent.startsWith("3 / 3"));
  // A minute: the catch-up below can only happen within the test's wait if the new delay counts.
  await page.fill("#delay", "60000");
  await page.dispatchEvent("#delay", "change");
  await page.selectOption("#command-form [name=command]", "Deposit");
  await page.fill("#command-form [name=payload]", '{"amount": 1}');
  await page.click("#command-form button");
  await page.waitForSelector("#command-result[data-kind=ok]");
  await page.waitForFunction(() => document.querySelector('#projections tr[data-projection="balances"] td:nth-child(2)')?.textContent.startsWith("3 / 4"));
  await page.fill("#delay", "0");
  await page.dispatchEvent("#delay", "change");
  await page.waitForFunction(() => document.querySelector('#projections tr[data-projection="balances"] td:nth-child(2)')?.textContent.startsWith("4 / 4"), null, { timeout: 20_000 });
  assert.equal(await checkpoint(), "4 / 4");
  await page.fill("#delay", "1e9");
  await page.dispatchEvent("#delay", "change");
  await page.waitForSelector("#projection-result[data-kind=error]");
  assert.equal(await page.textContent("#projection-result"), "projection delay: must be 0 to 60000 ms, got 1000000000");
  await page.waitForFunction(() => document.querySelector("#delay").value === "0");
  await page.close();
});
