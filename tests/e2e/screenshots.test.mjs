// Screenshots of every panel of every shipped scenario at 1280 and 390 px, light and dark, on a
// log with some history (generated commands and snapshots, a consumers lab run paused mid-run), saved under
// target/screenshots/<scenario>/<width>-<theme>/ as test artifacts (never committed) for people
// to look at. The test checks that each panel is there, has a size, fits the width, and that the
// page raised no error on the way.
import { mkdir, stat } from "node:fs/promises";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { PANELS as CATALOG } from "../../www/panels/catalog.js";
import { freshName, openBrowser, pageUrl, waitForLog } from "./harness.mjs";

const PANELS = CATALOG.map((p) => p.section);

let browser;
before(async () => {
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
});

for (const scenario of ["bank", "orders", "users"]) {
  for (const width of [1280, 390]) {
    test(`${scenario}: every panel at ${width} px, light and dark`, async () => {
      const page = await browser.context.newPage();
      const problems = [];
      page.on("pageerror", (error) => problems.push(error.message));
      await page.setViewportSize({ width, height: 900 });
      await page.emulateMedia({ colorScheme: "light" });
      await page.goto(pageUrl(browser.url, { scenario, name: freshName(`shots-${scenario}-${width}`) }));
      await waitForLog(page, 2);
      // Some history: snapshots every 50 events, 250 generated commands, a query answered.
      await page.fill("[data-testid=snapshot-interval]", "50");
      await page.click("#interval-form button");
      await page.fill("[data-testid=generate-count]", "250");
      await page.click("[data-testid=generate]");
      await page.waitForSelector("#generate-result[data-kind=ok]", { timeout: 60_000 });
      await page.click("#suggested button:first-child");
      await page.waitForSelector("#query-status[data-kind=ok]");
      // A consumers lab run over a link that repeats messages, paused mid-run.
      await page.fill("[data-testid=lab-link-duplicatePercent]", "20");
      await page.click("[data-testid=lab-start]");
      await page.waitForFunction(() => document.querySelectorAll("[data-testid=space-time] .st-arrow").length > 10, null, { timeout: 30_000 });
      await page.click("[data-testid=lab-play]");
      for (const theme of ["light", "dark"]) {
        await page.emulateMedia({ colorScheme: theme });
        const dir = `target/screenshots/${scenario}/${width}-${theme}`;
        await mkdir(dir, { recursive: true });
        for (const id of PANELS) {
          const panel = page.locator(`#${id}`);
          await panel.scrollIntoViewIfNeeded();
          await page.waitForTimeout(150);
          const box = await panel.boundingBox();
          assert.ok(box && box.width > 200 && box.height > 50, `${id}: ${JSON.stringify(box)}`);
          assert.ok(box.x >= 0 && box.x + box.width <= width + 1, `${id} fits ${width} px: ${JSON.stringify(box)}`);
          const path = `${dir}/${id}.png`;
          await panel.screenshot({ path });
          assert.ok((await stat(path)).size > 1000, path);
        }
      }
      assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), width, "nothing scrolls sideways");
      assert.deepEqual(problems, []);
      await page.close();
    });
  }
}
