// The consumers lab in the page: its workers really start, one terminated mid-run comes back in
// a new worker over the files it left and resumes from its checkpoint; the guided sequence as a
// person clicks it, with the verdicts each step shows; a shared run replayed message for message
// in a second page; the query box asking a consumer's read model; two embeds each with workers
// and files of their own; the group as KurrentDB creates it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { freshName, openBrowser, pageUrl, waitForLog } from "./harness.mjs";

let browser;
before(async () => {
  browser = await openBrowser();
  await browser.context.grantPermissions(["clipboard-read", "clipboard-write"]);
});
after(async () => {
  await browser?.close();
});

/** Opens the page on a fresh bank store, the consumers panel in view, at the speed given. */
async function openLab(speed = "64") {
  const page = await browser.context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(`${pageUrl(browser.url, { name: freshName("lab") })}#consumers-panel`);
  await waitForLog(page);
  await page.selectOption("[data-testid=lab-speed]", speed);
  return { page, problems };
}

/** The verdicts the panel shows: consumer (A, B, together) → { verdict, text }. */
async function verdicts(page) {
  const items = await page.$$eval("[data-testid=lab-verdicts] li", (list) => list.map((li) => [li.dataset.consumer, { verdict: li.dataset.verdict, text: li.textContent }]));
  return Object.fromEntries(items);
}

/** A consumer's counts as its row of the table shows them. */
async function counts(page, consumer) {
  return page.$eval(`#lab-consumers tr[data-consumer="${consumer}"]`, (row) =>
    Object.fromEntries([...row.querySelectorAll("td[data-col]")].filter((td) => /^\d+$/.test(td.textContent)).map((td) => [td.dataset.col, Number(td.textContent)])),
  );
}

/** Waits until the run has settled and its verdicts were taken since, and `done` holds of them. */
async function settledVerdicts(page, done = () => true) {
  let last;
  for (let i = 0; i < 300; i++) {
    const settled = await page.getAttribute("[data-testid=lab-verdicts]", "data-settled");
    if (settled === "true") {
      last = await verdicts(page);
      if (done(last)) return last;
    }
    await page.waitForTimeout(200);
  }
  assert.fail(`the run did not settle as expected: ${JSON.stringify(last)}`);
}

/** Runs a step of the guided sequence as a person would: its name, then "Run this step". */
async function runStep(page, id) {
  await page.evaluate(() => {
    document.querySelector("[data-testid=lab-guide-status]").removeAttribute("data-kind");
    document.querySelector("[data-testid=lab-verdicts]").removeAttribute("data-settled");
  });
  await page.click(`[data-testid=lab-guide-step-${id}]`);
  await page.click("[data-testid=lab-guide-run]");
  await page.waitForSelector("[data-testid=lab-guide-status][data-kind]", { timeout: 60_000 });
  assert.equal(await page.getAttribute("[data-testid=lab-guide-status]", "data-kind"), "ok", await page.textContent("[data-testid=lab-guide-status]"));
}

const all = (v, verdict) => Object.values(v).length > 0 && Object.values(v).every((x) => x.verdict === verdict);

test("workers start, one terminated mid-run comes back over its files and resumes from its checkpoint", async () => {
  const { page, problems } = await openLab("4");
  const workers = { started: 0, closed: 0 };
  page.on("worker", (worker) => {
    if (!worker.url().includes("consumer-worker")) return;
    workers.started += 1;
    worker.on("close", () => (workers.closed += 1));
  });
  await page.fill("[data-testid=generate-count]", "150");
  await page.click("[data-testid=generate]");
  await page.waitForSelector("#generate-result[data-kind=ok]", { timeout: 60_000 });
  // Catch-up consumers, each reading the log from its own checkpoint; B crashes after an ack.
  const started = await page.evaluate(async () => {
    const panel = document.querySelector("es-consumers");
    const settings = { kind: "catchUp", consumers: 2, inbox: true, group: { inFlightLimit: 4 }, link: { latencyMs: 40 } };
    return panel.start({ settings, script: [{ atMs: 600, action: { action: "crash", consumer: 1, point: "afterWrite" } }] });
  });
  assert.equal(started, true);
  const v = await settledVerdicts(page, (v) => all(v, "converged"));
  assert.deepEqual(Object.keys(v).sort(), ["A", "B"]);
  const run = await page.evaluate(() => {
    const { runner } = document.querySelector("es-consumers").run;
    const status = runner.lab.status();
    const b = runner.nodes[1];
    const restartedAt = runner.lab.arrows(0, Infinity).filter((a) => a.consumer === 1 && a.outcome?.outcome === "crashed").map((a) => a.arrivesAt)[0];
    const subscriptions = runner.lab.arrows(0, Infinity).filter((a) => a.consumer === 1 && a.kind === "subscribe").map((a) => ({ at: a.sentAt, from: a.position }));
    return { status, starts: b.starts, reopenedAt: b.checkpoint, storage: b.storage, restartedAt, subscriptions, head: status.head };
  });
  assert.equal(workers.started, 3, "two workers, and one more for the crashed consumer");
  assert.ok(workers.closed >= 1, "the crashed consumer's worker was terminated");
  assert.equal(run.starts, 2);
  assert.equal(run.storage, "the origin-private file system");
  assert.equal(run.status.consumers[1].crashes, 1);
  assert.ok(run.reopenedAt > 0 && run.reopenedAt < run.head, `B reopened its files at checkpoint ${run.reopenedAt} of ${run.head}`);
  // Its new worker asked for the log after the checkpoint its files held, not from the start.
  const after = run.subscriptions.filter((s) => s.at > run.restartedAt);
  assert.ok(after.length > 0, JSON.stringify(run.subscriptions));
  assert.equal(after[0].from, run.reopenedAt + 1);
  for (const c of run.status.consumers) assert.equal(c.checkpoint, run.head);
  assert.deepEqual(problems, []);
  await page.close();
});

test("the guided sequence as a person clicks it: converged, diverged, absorbed, redelivered, out of order, pinned, parked, fixed", async () => {
  const { page, problems } = await openLab();
  await runStep(page, "perfect");
  assert.match(await page.textContent("[data-testid=lab-guide-status]"), /Generated \d+ events/);
  await settledVerdicts(page, (v) => all(v, "converged"));

  await runStep(page, "duplicates");
  const diverged = await settledVerdicts(page, (v) => Object.values(v).some((x) => x.verdict === "diverged"));
  const said = Object.values(diverged).find((x) => x.verdict === "diverged").text;
  assert.match(said, /consumer [AB] says (acc-\S+) · \d+ · \d+, the log says \1 · \d+ · \d+: position \d+ \(\1\) applied twice/);

  await runStep(page, "inbox");
  await settledVerdicts(page, (v) => all(v, "converged"));
  for (const c of ["A", "B"]) assert.ok((await counts(page, c)).absorbed > 0, `${c} absorbed duplicates`);

  await runStep(page, "crash");
  await settledVerdicts(page, (v) => all(v, "converged"));
  const b = await counts(page, "B");
  assert.equal(b.crashes, 1);
  assert.ok(b.redelivered > 0, "B got again what it had not acknowledged");
  assert.equal((await counts(page, "A")).crashes, 0);

  await runStep(page, "round-robin");
  const competing = await settledVerdicts(page, (v) => Boolean(v.together));
  assert.notEqual(competing.together.verdict, "converged", competing.together.text);
  assert.ok((await counts(page, "A")).failed + (await counts(page, "B")).failed > 0);

  await runStep(page, "pinned");
  const pinned = await settledVerdicts(page, (v) => Boolean(v.together));
  assert.ok(all(pinned, "converged"), JSON.stringify(pinned));
  assert.equal((await counts(page, "A")).failed + (await counts(page, "B")).failed, 0);

  await runStep(page, "poison");
  await settledVerdicts(page, (v) => all(v, "waiting"));
  await page.click("#lab-parked summary");
  const reasons = await page.$$eval("#lab-parked-rows tr", (rows) => rows.map((r) => r.lastChild.textContent));
  assert.ok(reasons.length > 0 && reasons.every((r) => r.includes("UNIQUE constraint failed: deposits.account")), JSON.stringify(reasons));
  assert.match(await page.textContent("[data-testid=lab-truth]"), /fail on position\(s\) \d+/);

  await runStep(page, "fix");
  await settledVerdicts(page, (v) => all(v, "converged"));
  assert.equal(await page.textContent("#lab-parked-count"), "(0)");
  assert.deepEqual(problems, []);
  await page.close();
});

test("a shared run replays message for message in a second page", async () => {
  const { page, problems } = await openLab("1");
  await runStep(page, "duplicates");
  // What was done during the run goes into the link: A crashes, B's link is cut.
  await page.click("[data-testid=lab-crash-A]");
  await page.waitForFunction(() => document.querySelector('#lab-consumers tr[data-consumer="A"] [data-col=crashes]')?.textContent === "1", null, { timeout: 30_000 });
  await page.check("[data-testid=lab-cut-B]");
  await page.waitForTimeout(500);
  await page.click("[data-testid=lab-play]");
  await page.click("[data-testid=lab-share]");
  await page.waitForSelector("[data-testid=lab-share-link]:not([hidden])");
  const link = await page.inputValue("[data-testid=lab-share-link]");
  const shared = await page.evaluate(() => document.querySelector("es-consumers").run.runner.lab.status());
  assert.equal(shared.consumers[0].crashes, 1);
  assert.equal(shared.consumers[1].cut, true);
  assert.ok(shared.arrows > 0);
  const second = await browser.context.newPage();
  second.on("pageerror", (error) => problems.push(error.message));
  await second.goto(link);
  await second.waitForSelector("[data-testid=lab-result][data-reproduced]", { timeout: 60_000 });
  assert.equal(await second.getAttribute("[data-testid=lab-result]", "data-reproduced"), "same", await second.textContent("[data-testid=lab-result]"));
  const replayed = await second.evaluate(() => document.querySelector("es-consumers").run.runner.lab.status());
  assert.equal(replayed.digest, shared.digest);
  assert.equal(replayed.arrows, shared.arrows);
  assert.deepEqual(
    replayed.consumers.map((c) => [c.crashes, c.cut, c.delivered, c.applied, c.lost]),
    shared.consumers.map((c) => [c.crashes, c.cut, c.delivered, c.applied, c.lost]),
  );
  // The run's settings are in the form.
  assert.equal(await second.inputValue("[data-testid=lab-link-duplicatePercent]"), "30");
  assert.deepEqual(problems, []);
  await second.close();
  await page.close();
});

test("the query box asks a consumer's read model and says which one answered", async () => {
  const { page, problems } = await openLab();
  await runStep(page, "duplicates");
  await settledVerdicts(page, (v) => Object.keys(v).length === 2);
  await page.selectOption("[data-testid=query-target]", "1");
  await page.fill("#query-form [name=sql]", "SELECT count(*) FROM consumer_inbox");
  await page.evaluate(() => document.querySelector("#query-status").removeAttribute("data-kind"));
  await page.click("#query-form button");
  await page.waitForSelector("#query-status[data-kind]");
  assert.equal(await page.getAttribute("#query-status", "data-kind"), "ok", await page.textContent("#query-status"));
  assert.match(await page.textContent("#query-status"), /^Consumer B's read model answered \(in its worker, the origin-private file system\)/);
  // Its inbox is off in this step: the page's read model has no such table at all.
  assert.equal(await page.textContent("#query-result tbody td"), "0");
  await page.selectOption("[data-testid=query-target]", "");
  await page.evaluate(() => document.querySelector("#query-status").removeAttribute("data-kind"));
  await page.click("#query-form button");
  await page.waitForSelector("#query-status[data-kind]");
  assert.equal(await page.getAttribute("#query-status", "data-kind"), "error");
  assert.match(await page.textContent("#query-status"), /no such table: consumer_inbox/);
  assert.deepEqual(problems, []);
  await page.close();
});

test("two embeds each run their consumers in workers and files of their own", async () => {
  const page = await browser.context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
  let workers = 0;
  page.on("worker", (worker) => (workers += worker.url().includes("consumer-worker") ? 1 : 0));
  await page.goto(`${browser.url}/blank.html`);
  await page.evaluate(async () => {
    document.body.innerHTML = '<es-sandbox id="one" scenario="bank" panels="consumers" eager></es-sandbox><es-sandbox id="two" scenario="bank" panels="consumers,events" eager></es-sandbox>';
    await import("/embed.js");
  });
  for (const id of ["one", "two"]) {
    await page.waitForFunction((id) => document.getElementById(id).shadowRoot?.querySelector("es-consumers")?.session?.sandbox, id, { timeout: 30_000 });
    await page.locator(`#${id} [data-testid=lab-speed]`).selectOption("64");
    await page.locator(`#${id} [data-testid=lab-start]`).click();
  }
  for (const id of ["one", "two"]) {
    await page.waitForFunction(
      (id) => {
        const root = document.getElementById(id).shadowRoot;
        const items = [...root.querySelectorAll("[data-testid=lab-verdicts] li")];
        return root.querySelector("[data-testid=lab-verdicts]").dataset.settled === "true" && items.length === 2 && items.every((li) => li.dataset.verdict === "converged");
      },
      id,
      { timeout: 60_000 },
    );
  }
  assert.equal(workers, 4, "two consumers in each embed, each in a worker");
  const directories = await page.evaluate(async () => {
    const root = await navigator.storage.getDirectory();
    const lab = await root.getDirectoryHandle("es-sandbox-consumers");
    const names = [];
    for await (const [name] of lab.entries()) names.push(name);
    return names.sort();
  });
  assert.equal(directories.filter((d) => d.startsWith("es-sandbox-embed-bank-")).length, 2, JSON.stringify(directories));
  assert.deepEqual(problems, []);
  await page.close();
});

test("the group as KurrentDB creates it: one PUT per category stream, with KurrentDB's names", async () => {
  const { page, problems } = await openLab();
  await page.click("#lab-form details summary");
  await page.fill("[data-testid=lab-group-maxRetryCount]", "7");
  await page.selectOption("[data-testid=lab-group-strategy]", "Pinned");
  await page.click("[data-testid=lab-start]");
  await page.click("#lab-kurrent summary");
  const text = await page.textContent("[data-testid=lab-kurrent-body]");
  assert.match(text, /^PUT \/subscriptions\/\$ce-acc\/es-sandbox-lab\n/);
  const body = JSON.parse(text.slice(text.indexOf("{")));
  assert.equal(body.maxRetryCount, 7);
  assert.equal(body.namedConsumerStrategy, "Pinned");
  assert.equal(body.resolveLinktos, true);
  assert.equal(body.maxSubscriberCount, 2);
  assert.deepEqual(problems, []);
  await page.close();
});
