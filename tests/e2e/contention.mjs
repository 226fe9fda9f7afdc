// Several real pages writing to one store at once, through the JS API: the store contract across
// tabs (one winner per expected version, idempotent retries), contended commands, and what every
// subscriber received. Used by the guarantee tests for each backend.
import { freshName } from "./harness.mjs";

/** Opens `count` pages of the app on one store; each page's module is loaded and idle. */
export async function openWriters(browser, storage, count, name = freshName(`${storage}-tabs`)) {
  const pages = [];
  for (let i = 0; i < count; i += 1) {
    const page = await browser.context.newPage();
    page.on("pageerror", (error) => console.error(`page ${i}:`, error.message));
    // The page itself is not needed: a blank document of the same origin loads the module.
    await page.goto(`${browser.url}blank.html`);
    await page.evaluate(
      async ({ storage, name }) => {
        const module = await import("./pkg/es_sandbox.js");
        await module.default();
        window.sandbox = await module.Sandbox.open({ storage, name, scenario: "bank", readModel: "manual" });
        // Every position this page's subscriber is handed, in the order it is handed.
        window.received = [];
        window.sandbox.subscribe(({ events }) => window.received.push(...events.map((e) => e.position)));
        window.openedAt = await window.sandbox.headPosition();
      },
      { storage, name },
    );
    pages.push(page);
  }
  return { name, pages };
}

/** Runs `body(page, index)` in every page at the same wall-clock moment. */
export function atOnce(pages, fn, args = {}) {
  const start = Date.now() + 300;
  return Promise.all(
    pages.map((page, index) =>
      page.evaluate(
        async ({ start, index, args, source }) => {
          // eslint-disable-next-line no-new-func
          const body = new Function(`return (${source})`)();
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, start - Date.now())));
          return body(window.sandbox, index, args);
        },
        { start, index, args, source: fn.toString() },
      ),
    ),
  );
}

/**
 * Each page executes `commands` Deposit commands on the shared accounts, retrying a conflict with
 * the same event ids (so a retry of a command that did land is idempotent). Resolves to the event
 * ids each page had acknowledged and how many conflicts it met.
 */
export function contendedCommands(pages, commands) {
  return atOnce(
    pages,
    async (sandbox, tab, { commands }) => {
      const acknowledged = [];
      let conflicts = 0;
      const accounts = ["acc-001", "acc-002"];
      for (let i = 0; i < commands; i += 1) {
        const aggregateId = accounts[i % accounts.length];
        const eventIds = [crypto.randomUUID()];
        for (let attempt = 0; ; attempt += 1) {
          try {
            const command = aggregateId === "acc-002" && i < 2 ? "Create" : "Deposit";
            const payload = command === "Create" ? { balance: 1 } : { amount: 1 };
            await sandbox.execute(aggregateId, command, payload, { eventIds, timestamp: 1_800_000_000_000 + tab * 10_000 + i });
            acknowledged.push(eventIds[0]);
            break;
          } catch (error) {
            // Another tab created acc-002 first: that command has nothing left to do.
            if (error.kind === "businessRule" && /already exists/.test(error.message)) break;
            if (error.kind !== "conflict" || attempt > 1000) throw error;
            conflicts += 1;
          }
        }
      }
      return { acknowledged, conflicts };
    },
    { commands },
  );
}

/**
 * Brings every page up to date (reading what the others appended, and letting the subscribers
 * hear it), then returns each page's log as event ids in position order, what its subscriber
 * received, and the head it opened at.
 */
export async function settledLogs(pages) {
  const logs = [];
  for (const page of pages) {
    logs.push(
      await page.evaluate(async () => {
        await window.sandbox.refresh();
        const head = await window.sandbox.headPosition();
        // Subscribers hear in a task of their own: wait until this page's has heard the head.
        for (let i = 0; i < 500 && window.received.at(-1) !== head && head > window.openedAt; i += 1) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        const events = await window.sandbox.events({ limit: 100_000 });
        return {
          head,
          ids: events.map((e) => e.eventId),
          positions: events.map((e) => e.position),
          received: window.received,
          openedAt: window.openedAt,
        };
      }),
    );
  }
  return logs;
}

/** Opens the store afresh in a new page and returns its events (or the error it failed with). */
export async function reopen(browser, storage, name) {
  const page = await browser.context.newPage();
  await page.goto(`${browser.url}blank.html`);
  const result = await page.evaluate(
    async ({ storage, name }) => {
      const module = await import("./pkg/es_sandbox.js");
      await module.default();
      try {
        const sandbox = await module.Sandbox.open({ storage, name, scenario: "bank", readModel: "manual" });
        const events = await sandbox.events({ limit: 100_000 });
        sandbox.close();
        return { ids: events.map((e) => e.eventId), positions: events.map((e) => e.position) };
      } catch (error) {
        return { error: { kind: error.kind, message: error.message, details: error.details } };
      }
    },
    { storage, name },
  );
  await page.close();
  return result;
}
