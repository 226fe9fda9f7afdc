// End-to-end tests of what a newcomer met on the page: the tour on a scenario other than the
// bank, each tour step bringing its own panel into view on a phone and a desktop, and long data
// that must wrap or scroll inside its own box on every shipped scenario.
import { rm } from "node:fs/promises";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { freshName, launch, openBrowser, pageUrl, waitForLog } from "./harness.mjs";

const SCENARIOS = ["bank", "orders", "users"];

let browser;
before(async () => {
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
});

/** Runs `body(page)` on a browser of its own on which the tour was never seen. */
async function withFreshTour(body) {
  const profile = `${browser.profile}-tour-${freshName("p")}`;
  const context = await launch(profile, { tourSeen: false });
  try {
    await body(await context.newPage());
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

/** Waits until the page has stopped scrolling (the same scroll position for ten frames). */
async function scrollSettled(page) {
  await page.evaluate(
    () =>
      new Promise((resolve) => {
        let last = scrollY;
        let same = 0;
        const tick = () => {
          same = scrollY === last ? same + 1 : 0;
          last = scrollY;
          if (same >= 10) resolve();
          else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      }),
  );
}

/** Waits until the tour shows step `n` and that step has done what it does. */
async function atStep(page, n) {
  await page.waitForFunction((n) => document.querySelector("#tour-progress").textContent === `Step ${n} of 8`, n);
  await page.waitForFunction(() => document.querySelector("#tour").dataset.state !== "running", null, { timeout: 30_000 });
  await scrollSettled(page);
}

/**
 * Where a tour step's panel is: its top edge must lie below the sticky section bar and above
 * the tour's card, with room for its heading.
 */
function panelPlace(page, id) {
  return page.evaluate((id) => {
    const panel = document.getElementById(id).getBoundingClientRect();
    const nav = document.querySelector("nav").getBoundingClientRect();
    const card = document.getElementById("tour").getBoundingClientRect();
    return { top: Math.round(panel.top), navBottom: Math.round(nav.bottom), cardTop: Math.round(card.top), scrollY };
  }, id);
}

for (const scenario of ["orders", "users"]) {
  test(`the tour on ${scenario} speaks of ${scenario}: its aggregate, its state, its events`, async () => {
    await withFreshTour(async (page) => {
      await page.goto(pageUrl(browser.url, { scenario, name: freshName(`tour-${scenario}`) }));
      await page.waitForSelector("[data-testid=tour]:not([hidden])", { timeout: 30_000 });
      await waitForLog(page);
      const aggregate = await page.$eval("#events tbody tr[data-position] td[data-col=aggregate]", (td) => td.firstChild.textContent);
      const texts = [];
      for (let step = 1; step <= 8; step++) {
        await atStep(page, step);
        texts.push(await page.textContent("#tour-text"));
        assert.equal(await page.textContent("#tour-result"), "", `step ${step} did what it says without an error`);
        if (step === 2) {
          // The log as of the selected aggregate's second event.
          const asOf = await page.textContent("#as-of");
          assert.match(asOf, /^As of position \d+ of \d+/);
        }
        if (step === 6) {
          // Its second event is left out: the what-if shows the other side.
          assert.equal(await page.locator("#log-panel input[type=checkbox]:checked").count(), 1, "one event left out");
        }
        await page.click("[data-testid=tour-next]");
      }
      const all = texts.join("\n");
      assert.doesNotMatch(all, /balance|120|100 − 30/, "no bank figures on another scenario");
      assert.ok(aggregate && all.includes(aggregate), `the texts name the selected aggregate ${aggregate}:\n${all}`);
    });
  });
}

test("the tour on bank still says what the bank's log says: 120, then 100 − 30 = 70", async () => {
  await withFreshTour(async (page) => {
    await page.goto(pageUrl(browser.url, { name: freshName("tour-bank") }));
    await page.waitForSelector("[data-testid=tour]:not([hidden])", { timeout: 30_000 });
    await atStep(page, 1);
    assert.match(await page.textContent("#tour-text"), /balance 120/);
    await page.click("[data-testid=tour-next]");
    await atStep(page, 2);
    assert.match(await page.textContent("#tour-text"), /balance 100, then Deducted: balance 70/);
  });
});

for (const width of [390, 1280]) {
  for (const scenario of ["bank", "orders"]) {
    test(`${scenario} at ${width} px: every tour step brings its own panel into view`, async () => {
      await withFreshTour(async (page) => {
        await page.setViewportSize({ width, height: width < 600 ? 844 : 900 });
        await page.goto(pageUrl(browser.url, { scenario, name: freshName(`tour-view-${width}`) }));
        await page.waitForSelector("[data-testid=tour]:not([hidden])", { timeout: 30_000 });
        for (let step = 1; step <= 8; step++) {
          await atStep(page, step);
          const id = await page.evaluate(() => document.querySelector(".tour-target")?.id);
          const place = await panelPlace(page, id);
          assert.ok(place.top >= place.navBottom - 2 && place.top <= place.cardTop - 48, `step ${step}: ${id} is not in view: ${JSON.stringify(place)}`);
          await page.click("[data-testid=tour-next]");
        }
      });
    });
  }
}

for (const scenario of SCENARIOS) {
  test(`${scenario} at 390 px: long data wraps or scrolls inside its box, never the page`, async () => {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(pageUrl(browser.url, { scenario, name: freshName(`narrow-${scenario}`) }));
    await waitForLog(page);
    // Leave the second event out, so that the what-if shows both sides.
    await page.locator("#log-panel input[type=checkbox]").nth(1).check();
    const height = await page.evaluate(() => document.body.scrollHeight);
    for (let y = 0; y < height; y += 600) {
      await page.evaluate((y) => window.scrollTo(0, y), y);
      await page.waitForTimeout(60);
    }
    const wide = await page.evaluate(() =>
      [...document.querySelectorAll("main > *")]
        .map((panel) => ({ id: panel.firstElementChild?.id ?? panel.tagName, right: Math.round(panel.getBoundingClientRect().right), scroll: panel.scrollWidth, width: panel.clientWidth }))
        .filter((p) => p.right > 390 || p.scroll > p.width + 1),
    );
    assert.deepEqual(wide, [], "panels wider than the page");
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 390, "nothing scrolls sideways");
    await page.close();
  });
}
