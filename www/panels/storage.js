// <es-storage>: what the log costs to keep and to read. Its size in events and bytes, per
// aggregate, with its snapshots; and the replay cost of the selected aggregate at each version,
// with and without snapshots: the saw-tooth.
import { lineChart } from "../chart.js";
import { el, fill, formatBytes, formatCount } from "../view.js";
import { Panel } from "./panel.js";

/** Most aggregates listed; the rest are counted. */
const LISTED = 12;

class StoragePanel extends Panel {
  template() {
    return [
      el(
        "section",
        { id: "storage-panel", "aria-labelledby": "storage-title" },
        el("h2", { id: "storage-title" }, "Storage growth"),
        el("p", { id: "storage-summary", "data-testid": "storage-summary" }),
        el(
          "div",
          { class: "scroll-x" },
          el(
            "table",
            { id: "storage-aggregates", "data-testid": "storage-aggregates" },
            el("thead", {}, el("tr", {}, ["Aggregate", "Events", "Size", "Snapshots", "Their size"].map((h) => el("th", { scope: "col" }, h)))),
            el("tbody"),
          ),
        ),
        el("h3", { id: "replay-cost-title" }, "Replay cost"),
        el(
          "p",
          { class: "muted" },
          "Events folded to rebuild the state at each version. Without snapshots the cost grows with the version; with them it drops back at every usable snapshot.",
        ),
        el("div", { id: "replay-cost-chart", "data-testid": "replay-cost-chart" }),
        el("p", { id: "replay-cost-note", class: "muted", "data-testid": "replay-cost-note" }),
      ),
    ];
  }

  attach() {
    this.follow(["selection"], () => this.render());
  }

  async render() {
    const { sandbox, aggregate } = this.session;
    if (!sandbox) return;
    const latest = this.begin();
    const [storage, costs] = await Promise.all([sandbox.storage(), aggregate ? sandbox.replayCosts(aggregate) : undefined]);
    if (!latest()) return;
    this.$("#storage-summary").textContent =
      `${formatCount(storage.events)} events, ${formatBytes(storage.bytes)} as JSON; ${formatCount(storage.snapshots)} snapshot(s), ${formatBytes(storage.snapshotBytes)}. ` +
      "Events are never deleted: the log only grows, and every state can be rebuilt from it.";
    fill(
      this.$("#storage-aggregates tbody"),
      storage.aggregates.slice(0, LISTED).map((a) =>
        el(
          "tr",
          { "data-aggregate": a.aggregateId },
          el("td", {}, a.aggregateId),
          el("td", {}, formatCount(a.events)),
          el("td", {}, formatBytes(a.bytes)),
          el("td", {}, formatCount(a.snapshots)),
          el("td", {}, formatBytes(a.snapshotBytes)),
        ),
      ),
      storage.aggregates.length > LISTED ? [el("tr", {}, el("td", { colspan: 5, class: "muted" }, `… and ${formatCount(storage.aggregates.length - LISTED)} more`))] : [],
    );
    this.#renderCosts(aggregate, costs);
  }

  #renderCosts(aggregate, costs) {
    this.$("#replay-cost-title").textContent = aggregate ? `Replay cost of ${aggregate}` : "Replay cost";
    if (!costs) {
      fill(this.$("#replay-cost-chart"));
      this.$("#replay-cost-note").textContent = "";
      return;
    }
    const chart = lineChart({
      title: `Events folded to replay ${aggregate} at each version, with and without snapshots`,
      xLabel: "version",
      yLabel: "events folded",
      series: [
        { name: "without snapshots", kind: "b", points: [[0, 0], [costs.versions, costs.versions]] },
        { name: "with snapshots", kind: "a", points: costs.withSnapshots },
      ],
      marks: costs.snapshots.map((v) => ({ x: v, label: `snapshot at v${v}`, kind: "snapshot" })),
    });
    fill(this.$("#replay-cost-chart"), chart);
    const last = costs.withSnapshots.at(-1)?.[1] ?? costs.versions;
    this.$("#replay-cost-note").textContent =
      `At its last version, v${formatCount(costs.versions)}, a replay folds ${formatCount(last)} event(s) with snapshots, ${formatCount(costs.versions)} without; ${formatCount(costs.snapshots.length)} usable snapshot(s).`;
  }
}

customElements.define("es-storage", StoragePanel);
