// Shared by the page tests: serves www/ on a free port and drives Debian's Chromium with
// playwright-core (never a downloaded browser).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startServer } from "../../scripts/static-server.mjs";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-quic",
  "--disable-sync",
];

/** A page of the app's origin that runs nothing: tests load the module into it themselves. */
export const BLANK = '<!doctype html><meta charset="utf-8"><title>blank</title>';

const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";

/**
 * Starts Chromium on a profile directory (kept across restarts of the browser). The page's tour
 * opens on a first visit; tests other than the tour's mark it seen, so that it covers nothing.
 */
export async function launch(profile, { tourSeen = true } = {}) {
  const context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: CHROMIUM_ARGS });
  if (tourSeen) await context.addInitScript(() => localStorage.setItem("es-sandbox/tour", "seen"));
  return context;
}

/**
 * Serves www/ and starts a browser on a fresh profile. Returns { url, context, profile, restart,
 * close }; `restart` closes the browser and starts a new one on the same profile.
 */
export async function openBrowser(options = {}) {
  const { server, url } = await startServer({ root: "www", port: 0, pages: { "/blank.html": BLANK } });
  const profile = await mkdtemp(join(tmpdir(), "es-sandbox-profile-"));
  const browser = { url, profile, context: await launch(profile, options) };
  browser.restart = async () => {
    await browser.context.close();
    browser.context = await launch(profile, options);
  };
  browser.close = async () => {
    await browser.context.close();
    server.close();
    await rm(profile, { recursive: true, force: true });
  };
  return browser;
}

let stores = 0;
/** A store name no other test uses. */
export function freshName(what = "page") {
  stores += 1;
  return `e2e-${what}-${stores}-${Date.now()}`;
}

/** The page's URL for a scenario, storage and store name. */
export function pageUrl(url, { scenario = "bank", storage = "indexeddb", name = freshName() } = {}) {
  return `${url}?${new URLSearchParams({ scenario, storage, name })}`;
}

/** Opens the page and waits until the wasm module has loaded the scenario. */
export async function openPage(context, address) {
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(address);
  await waitForLog(page);
  return { page, problems };
}

/** Waits until the event table shows events. */
export async function waitForLog(page, rows = 1) {
  await page.waitForFunction((n) => document.querySelectorAll("#events tbody tr[data-position]").length >= n, rows, { timeout: 30_000 });
}

/**
 * Waits until the event table has its rows: it draws placeholders first and fetches their
 * events after the count is shown, `aria-busy` meanwhile.
 */
export async function waitForRowsFetched(page) {
  await page.waitForFunction(() => document.querySelector("#events")?.getAttribute("aria-busy") === "false", undefined, { timeout: 30_000 });
}

/**
 * The event table's drawn rows as arrays of cell texts: position, aggregate, version, type,
 * schema, data, time (the version without its snapshot badge), once none is still loading.
 */
export async function eventRows(page) {
  await waitForRowsFetched(page);
  return page.$$eval("#events tbody tr[data-position]", (rows) =>
    rows.map((row) =>
      ["position", "aggregate", "version", "type", "schema", "data", "time"].map((col) => row.querySelector(`td[data-col=${col}]`).firstChild.textContent),
    ),
  );
}

/**
 * Runs SQL in the query box and waits for its answer; returns { kind, status, columns, rows }.
 * `within`: a selector of the element holding the query box (an embed), default the page.
 */
export async function runQuery(page, sql, within = "") {
  const at = (selector) => page.locator(`${within} ${selector}`.trim());
  await at("#query-form [name=sql]").fill(sql);
  await at("#query-status").evaluate((node) => node.removeAttribute("data-kind"));
  await at("#query-form button").click();
  await at("#query-status[data-kind]").waitFor();
  return {
    kind: await at("#query-status").getAttribute("data-kind"),
    status: await at("#query-status").textContent(),
    columns: await at("#query-result thead th").allTextContents(),
    rows: await at("#query-result tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent))),
  };
}

/**
 * Runs SQL in the query box until `done(answer)` holds (the read model follows the log: it is
 * eventually consistent), for at most ten seconds; returns the last answer.
 */
export async function runQueryUntil(page, sql, done, within = "") {
  let answer;
  for (let tries = 0; tries < 50; tries++) {
    if (tries) await page.waitForTimeout(200);
    answer = await runQuery(page, sql, within);
    if (done(answer)) break;
  }
  return answer;
}

/**
 * Clicks a button and waits until a status line says something new (of `kind`, if given: ok,
 * rejected, conflict, error); returns what it says.
 */
export async function clickAndWait(page, button, status, kind) {
  await page.evaluate((s) => document.querySelector(s).removeAttribute("data-kind"), status);
  await page.click(button);
  await page.waitForSelector(`${status}[data-kind${kind ? `="${kind}"` : ""}]`, { timeout: 60_000 });
  return page.textContent(status);
}

/** Deposits `amount` into the selected account through the command form; waits until stored. */
export async function deposit(page, amount) {
  await page.selectOption("#command-form [name=command]", "Deposit");
  await page.fill("#command-form [name=payload]", JSON.stringify({ amount }));
  await clickAndWait(page, "#command-form button", "#command-result", "ok");
}

/** The selected account's balance, as the state panel shows it. */
export const balance = async (page) => JSON.parse(await page.textContent("#state")).balance;
