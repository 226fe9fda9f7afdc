// <es-state>: the selected aggregate's state, never stored, computed by replaying its events, as
// of the time-travel cursor: which fields the last event changed and how, each step of the
// replay (starting from the snapshot it used, if any), and its numbers over its versions.
import { lineChart } from "../chart.js";
import { compact, el, fill, fillSelect, formatCount } from "../view.js";
import { Panel, touches } from "./panel.js";

/** Most replay steps listed; the earlier ones are counted. */
const SHOWN_STEPS = 60;
const CHANGE_WORDS = { added: "new", removed: "removed", increased: "▲ up", decreased: "▼ down", changed: "changed" };

class StatePanel extends Panel {
  /** The numbers of the aggregate shown, over its versions (fetched when the log changes). */
  #series;

  template() {
    return [
      el(
        "section",
        { id: "state-panel", "aria-labelledby": "state-title" },
        el("h2", { id: "state-title" }, "State"),
        el("label", {}, "Aggregate ", el("select", { id: "aggregate", "data-testid": "aggregate" })),
        el("p", { class: "muted" }, "Not stored anywhere: computed by replaying the aggregate's events."),
        el("p", { id: "replay-info", class: "replay-info", "data-testid": "replay-info" }),
        el(
          "table",
          { id: "state-fields", class: "fields", "data-testid": "state-fields" },
          el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Field"), el("th", { scope: "col" }, "Value"), el("th", { scope: "col" }, "Last event"))),
          el("tbody"),
        ),
        el("details", {}, el("summary", {}, "As JSON"), el("pre", { id: "state", "data-testid": "state" })),
        el("h3", {}, "The replay, step by step"),
        el("ol", { id: "trace", class: "trace", "data-testid": "trace" }),
        el("h3", {}, "Its numbers over its versions"),
        el("p", { class: "muted" }, "Click a point to travel to that version."),
        el("div", { id: "state-chart", "data-testid": "state-chart" }),
      ),
    ];
  }

  ready() {
    this.$("#aggregate").addEventListener("change", (event) => this.session.select(event.target.value));
  }

  /** The chart drawn for the current series (moved, not redrawn, as the cursor moves). */
  #chart;

  attach() {
    // The state is what the time-travel cursor and a what-if ask for: it draws first.
    this.on(
      "changed",
      ({ detail }) => {
        if (touches(detail, ["log", "selection"])) this.#series = undefined;
        this.render();
      },
      { answers: ({ detail }) => touches(detail, ["cursor", "whatIf"]) },
    );
  }

  async render() {
    const { sandbox, excluded, aggregate, cursor } = this.session;
    if (!sandbox) return;
    const latest = this.begin();
    const streams = await sandbox.streams();
    if (!latest()) return;
    fillSelect(
      this.$("#aggregate"),
      streams.map((s) => s.aggregateId),
      aggregate,
    );
    const aggregateId = this.$("#aggregate").value;
    const info = this.$("#replay-info");
    if (!aggregateId) {
      this.#clear();
      info.textContent = "No aggregates yet.";
      return;
    }
    try {
      const options = { trace: true, exclude: [...excluded], ...(cursor !== undefined ? { position: cursor } : {}) };
      const replay = await sandbox.replay(aggregateId, options);
      const changes = await this.#lastChanges(sandbox, aggregateId, replay, options);
      this.#series ??= await sandbox.stateSeries(aggregateId);
      if (!latest()) return;
      this.#renderFields(replay.state, changes);
      this.$("#state").textContent = JSON.stringify(replay.state, null, 2);
      this.#renderTrace(replay);
      info.textContent = describe(replay, aggregateId, cursor);
      this.#renderChart(replay, aggregateId);
    } catch (error) {
      if (!latest()) return;
      this.#clear();
      info.textContent = `Replay failed: ${error.message}`;
    }
  }

  #clear() {
    fill(this.$("#trace"));
    fill(this.$("#state-fields tbody"));
    fill(this.$("#state-chart"));
    this.$("#state").textContent = "";
  }

  /**
   * What the last event replayed changed. A replay that started from a snapshot at exactly its
   * version has no step: the change is then the one from the version before.
   */
  async #lastChanges(sandbox, aggregateId, replay, options) {
    const last = replay.trace.steps.at(-1);
    if (last) return last.excluded ? [] : last.changes;
    if (replay.version === 0) return [];
    const before = await sandbox.replay(aggregateId, { exclude: options.exclude, version: replay.version - 1 });
    return this.session.Sandbox.diffStates(before.state, replay.state);
  }

  #renderFields(state, changes) {
    const fields = state !== null && typeof state === "object" && !Array.isArray(state) ? Object.entries(state) : [["(state)", state]];
    const byField = (name) => changes.filter((c) => c.field === name || c.field.startsWith(`${name}.`));
    const removed = changes.filter((c) => c.kind === "removed" && !c.field.includes("."));
    fill(
      this.$("#state-fields tbody"),
      [...fields, ...removed.map((c) => [c.field, undefined])].map(([name, value]) => {
        const change = byField(name);
        const kind = change.length === 1 ? change[0].kind : change.length ? "changed" : undefined;
        const was = change.length === 1 && "before" in change[0] ? ` (was ${compact(change[0].before)})` : "";
        return el(
          "tr",
          { class: kind ? `change-${kind}` : undefined, "data-field": name, "data-change": kind },
          el("th", { scope: "row" }, name),
          el("td", { class: "value" }, value === undefined ? "—" : compact(value)),
          el("td", { class: "change" }, kind ? `${CHANGE_WORDS[kind]}${was}` : ""),
        );
      }),
    );
  }

  #renderTrace(replay) {
    const { steps, initialState } = replay.trace;
    const start =
      replay.fromSnapshot !== null
        ? el("li", { class: "start snapshot" }, el("b", {}, `snapshot at v${replay.fromSnapshot}`), " ", compact(initialState))
        : el("li", { class: "start" }, el("b", {}, "initial state"), " ", compact(initialState));
    const hidden = steps.length - SHOWN_STEPS;
    const shown = steps.slice(-SHOWN_STEPS).map((step) => {
      const text = step.excluded
        ? "left out"
        : step.changes.map((c) => `${c.field} ${c.kind === "removed" ? "removed" : compact(c.after)}`).join(", ") || "no change";
      return el("li", { class: step.excluded ? "left-out" : undefined, value: step.version }, el("b", {}, `v${step.version} ${step.type}`), " ", text);
    });
    const skipped = hidden > 0 ? [el("li", { class: "muted" }, `… ${formatCount(hidden)} earlier step(s)`)] : [];
    const trace = this.$("#trace");
    fill(trace, start, skipped, shown);
    // The last step is the one the state shows: keep it in view. Scrolled at the next frame,
    // when the page is laid out anyway: reading the height now would lay out the whole page
    // in the middle of this render, and again after the rest of it.
    requestAnimationFrame(() => {
      trace.scrollTop = trace.scrollHeight;
    });
  }

  #renderChart(replay, aggregateId) {
    const series = this.#series;
    const holder = this.$("#state-chart");
    if (this.#chart?.series === series && holder.contains(this.#chart.element)) {
      this.#chart.element.moveCursor(replay.version);
      return;
    }
    if (!series || series.fields.length === 0 || series.points.length === 0) {
      fill(holder, el("p", { class: "muted" }, "No numeric fields to draw."));
      return;
    }
    const kinds = ["a", "b", "c", "d"];
    const chart = lineChart({
      title: `${aggregateId}: ${series.fields.join(", ")} over versions`,
      xLabel: "version",
      yLabel: series.fields.join(", "),
      cursor: replay.version,
      series: series.fields.slice(0, kinds.length).map((field, i) => ({
        name: field,
        kind: kinds[i],
        points: series.points.map((p) => [p.version, p.values[i], p.position]),
      })),
      onPick: (point) => this.session.travel(point[2]),
    });
    this.#chart = { series, element: chart };
    fill(holder, chart);
  }
}

/** What the replay did, in words. */
function describe(replay, aggregateId, cursor) {
  const from =
    replay.fromSnapshot === null
      ? `from the start: ${formatCount(replay.eventsReplayed)} event(s) replayed`
      : `from the snapshot at v${replay.fromSnapshot} + ${formatCount(replay.eventsReplayed)} event(s)`;
  const when = cursor !== undefined ? ` as of position ${cursor}` : "";
  const whatIf = replay.excludedVersions.length ? `, leaving out version(s) ${replay.excludedVersions.join(", ")}` : "";
  const skipped = replay.skippedSnapshots.map((s) => ` Skipped the snapshot at version ${s.version}: ${s.message}.`).join("");
  return `${replay.aggregateType} ${aggregateId} at version ${replay.version} of ${replay.headVersion}${when}, ${from}${whatIf}.${skipped}`;
}

customElements.define("es-state", StatePanel);
