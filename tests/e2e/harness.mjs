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

const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Serves www/ and starts a browser context on a fresh profile; returns { url, context, close }. */
export async function openBrowser() {
  const { server, url } = await startServer({ root: "www", port: 0 });
  const profile = await mkdtemp(join(tmpdir(), "es-sandbox-profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const close = async () => {
    await context.close();
    server.close();
    await rm(profile, { recursive: true, force: true });
  };
  return { url, context, close };
}

/** Opens the page and waits until the wasm module has loaded the scenario. */
export async function openPage(context, url, query = "") {
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(`${url}${query}`);
  await page.waitForFunction(() => document.querySelector("#events tbody tr"), null, { timeout: 30_000 });
  return { page, problems };
}

/** The event table as arrays of cell texts. */
export async function eventRows(page) {
  return page.$$eval("#events tbody tr", (rows) => rows.map((row) => [...row.cells].map((cell) => cell.textContent)));
}
