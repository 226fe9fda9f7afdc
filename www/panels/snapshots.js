// <es-snapshots>: snapshots as a knob and a button: the interval, taking one now, every stored
// snapshot with whether a replay may use it (and why not: stale after a rules edit, tampered);
// and generating many valid commands from a seed, so that 250 or 100,000 events are one click
// away.
import { el, fill, formatBytes, formatCount, showResult } from "../view.js";
import { Panel } from "./panel.js";
import { holdWhileReadOnly, showError, showUnlessTyping } from "./forms.js";

/** Most snapshots listed; the rest are counted. */
const LISTED = 40;

class SnapshotsPanel extends Panel {
  template() {
    return [
      el(
        "section",
        { id: "snapshots-panel", "aria-labelledby": "snapshots-title" },
        el("h2", { id: "snapshots-title" }, "Snapshots"),
        el(
          "p",
          { class: "muted" },
          "A snapshot is an aggregate's state after some version, saved so that a replay folds only the events after it. It is a shortcut, never the truth: one taken under other rules is stale and skipped.",
        ),
        el(
          "form",
          { id: "interval-form", class: "row" },
          el(
            "label",
            { class: "inline" },
            "Take one every ",
            el("input", { name: "interval", type: "number", min: 0, max: 100000, step: 1, "data-testid": "snapshot-interval" }),
            " events per aggregate (0: never)",
          ),
          el("button", { type: "submit", class: "secondary" }, "Set"),
        ),
        el("form", { id: "take-form", class: "row" }, el("button", { type: "submit", "data-testid": "take-snapshot" }, "Take a snapshot now")),
        el("p", { id: "snapshot-result", class: "result", role: "status", "data-testid": "snapshot-result" }),
        el(
          "div",
          { class: "scroll-x" },
          el(
            "table",
            { id: "snapshot-list", "data-testid": "snapshot-list" },
            el("thead", {}, el("tr", {}, ["Aggregate", "After version", "Position", "Size", "Usable?"].map((h) => el("th", { scope: "col" }, h)))),
            el("tbody"),
          ),
        ),
        el("p", { id: "snapshot-count", class: "muted" }),
        el("h3", {}, "Generate events"),
        el(
          "p",
          { class: "muted" },
          "Appends commands the rules accept, drawn at random from a seed number: the same seed on the same log gives the same commands.",
        ),
        el(
          "form",
          { id: "generate-form", class: "row" },
          el("label", { class: "inline" }, "Commands ", el("input", { name: "count", type: "number", min: 1, max: 200000, value: 250, "data-testid": "generate-count" })),
          el("label", { class: "inline" }, "Seed ", el("input", { name: "seed", type: "number", min: 0, value: 1, "data-testid": "generate-seed" })),
          el("button", { type: "submit", "data-testid": "generate" }, "Generate"),
          ...[250, 10000, 100000].map((n) => el("button", { type: "button", class: "secondary", "data-count": n }, `+${formatCount(n)}`)),
        ),
        el("p", { id: "generate-result", class: "result", role: "status", "data-testid": "generate-result" }),
      ),
    ];
  }

  ready() {
    this.$("#interval-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.#setInterval();
    });
    this.$("#take-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.#take();
    });
    const generate = this.$("#generate-form");
    generate.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#generate(Number(generate.count.value));
    });
    for (const quick of generate.querySelectorAll("[data-count]")) {
      quick.addEventListener("click", () => this.#generate(Number(quick.dataset.count)));
    }
  }

  attach() {
    holdWhileReadOnly(this, this.$("#take-form"));
    holdWhileReadOnly(this, this.$("#generate-form"));
    this.on("opened", () => {
      showUnlessTyping(this.$("#interval-form").interval, this.session.sandbox.snapshotInterval());
      showResult(this.$("#snapshot-result"), "", "");
      showResult(this.$("#generate-result"), "", "");
    });
    this.follow(["selection"], () => this.render());
  }

  #setInterval() {
    const input = this.$("#interval-form").interval;
    try {
      this.session.sandbox.setSnapshotInterval(input.value.trim() === "" ? NaN : Number(input.value));
      const n = this.session.sandbox.snapshotInterval();
      showResult(this.$("#snapshot-result"), "ok", n === 0 ? "No more automatic snapshots." : `From now on, a snapshot is taken every ${n} events of an aggregate.`);
    } catch (error) {
      showError(this.$("#snapshot-result"), error);
      input.value = this.session.sandbox.snapshotInterval();
    }
  }

  async #take() {
    const { sandbox, aggregate } = this.session;
    try {
      const snapshot = await sandbox.snapshot(aggregate);
      showResult(this.$("#snapshot-result"), "ok", `Took a snapshot of ${aggregate} after version ${snapshot.version}: a replay now starts there.`);
      this.session.changed();
    } catch (error) {
      showError(this.$("#snapshot-result"), error);
    }
  }

  async #generate(count) {
    const form = this.$("#generate-form");
    const result = this.$("#generate-result");
    const seed = Number(form.seed.value || 0);
    for (const control of form.elements) control.disabled = true;
    showResult(result, "", `Generating ${formatCount(count)} commands from seed ${seed}…`);
    const started = performance.now();
    try {
      const made = await this.session.sandbox.generate({ count, seed });
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      showResult(
        result,
        "ok",
        `Stored ${formatCount(made.events)} events from ${formatCount(made.commands)} commands over ${formatCount(made.aggregates)} aggregates in ${seconds} s; the rules refused ${formatCount(made.refused)} other tries (nothing stored for them).`,
      );
      this.session.changed();
    } catch (error) {
      showError(result, error);
    } finally {
      for (const control of form.elements) control.disabled = Boolean(this.session.readOnlyReason);
    }
  }

  async render() {
    const { sandbox, aggregate } = this.session;
    if (!sandbox) return;
    const latest = this.begin();
    const markers = await sandbox.snapshotMarkers();
    if (!latest()) return;
    this.$("#take-form button").textContent = aggregate ? `Take a snapshot of ${aggregate} now` : "Take a snapshot now";
    // The selected aggregate's first, newest first; then the others.
    const ordered = [...markers].sort((a, b) => (b.aggregateId === aggregate) - (a.aggregateId === aggregate) || b.version - a.version);
    fill(
      this.$("#snapshot-list tbody"),
      ordered.slice(0, LISTED).map((m) =>
        el(
          "tr",
          { class: m.stale ? "stale" : undefined, "data-aggregate": m.aggregateId, "data-version": m.version },
          el("td", {}, m.aggregateId),
          el("td", {}, m.version),
          el("td", {}, m.position ?? "gone"),
          el("td", {}, formatBytes(m.bytes)),
          el("td", {}, m.stale ? `stale: ${m.stale.message}` : "usable"),
        ),
      ),
    );
    const stale = markers.filter((m) => m.stale).length;
    this.$("#snapshot-count").textContent =
      `${formatCount(markers.length)} snapshot(s) stored${stale ? `, ${formatCount(stale)} stale` : ""}${markers.length > LISTED ? `; the first ${LISTED} listed` : ""}.`;
  }
}

customElements.define("es-snapshots", SnapshotsPanel);
