// The longest main-thread task during a page measurement, from Chromium's long-task entries
// (tasks over 50 ms; none means every task was shorter): the benchmark reports it beside each
// measure, since a page that is fast on average may still freeze now and then.

/** An init script: keeps the longest task seen, and how many took over 200 ms. */
export function watchLongTasks() {
  window.__longTasks = { longest: 0, over200: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      window.__longTasks.longest = Math.max(window.__longTasks.longest, entry.duration);
      if (entry.duration > 200) window.__longTasks.over200 += 1;
    }
  }).observe({ type: "longtask", buffered: true });
}

/** Starts counting again (for a measure that begins after the page has loaded). */
export const resetLongTasks = (page) => page.evaluate(() => (window.__longTasks = { longest: 0, over200: 0 }));

/** The longest task since the start (or the last reset), ms; 50 stands for "none over 50". */
export const longestTask = async (page) => Math.max(50, (await page.evaluate(() => window.__longTasks)).longest);
