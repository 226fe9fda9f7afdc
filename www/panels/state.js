// <es-state>: the selected aggregate's state, never stored, computed by replaying its events,
// with each step of the replay.
import { changedFields, el, fill, fillSelect } from "../view.js";
import { Panel } from "./panel.js";

class StatePanel extends Panel {
  template() {
    return [
      el(
        "section",
        { id: "state-panel", "aria-labelledby": "state-title" },
        el("h2", { id: "state-title" }, "State"),
        el("label", {}, "Aggregate ", el("select", { id: "aggregate", "data-testid": "aggregate" })),
        el("p", { class: "muted" }, "Not stored anywhere: computed by replaying the aggregate's events."),
        el("ol", { id: "trace", class: "trace", "data-testid": "trace" }),
        el("pre", { id: "state", "data-testid": "state" }),
        el("p", { id: "replay-info", class: "muted", "data-testid": "replay-info" }),
      ),
    ];
  }

  ready() {
    this.$("#aggregate").addEventListener("change", (event) => this.session.select(event.target.value));
  }

  attach() {
    this.on("changed", () => this.render());
  }

  async render() {
    const { sandbox, excluded, aggregate } = this.session;
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
    const trace = this.$("#trace");
    const state = this.$("#state");
    const info = this.$("#replay-info");
    if (!aggregateId) {
      fill(trace);
      state.textContent = "";
      info.textContent = "No aggregates yet.";
      return;
    }
    try {
      const replay = await sandbox.replay(aggregateId, { trace: true, exclude: [...excluded] });
      if (!latest()) return;
      let before = replay.trace.initialState;
      fill(
        trace,
        replay.trace.steps.map((step) => {
          const changes = changedFields(before, step.state);
          before = step.state;
          const text = step.excluded ? "left out" : changes.join(", ") || "no change";
          return el("li", { class: step.excluded ? "left-out" : undefined }, el("b", {}, `v${step.version} ${step.type}`), " ", text);
        }),
      );
      state.textContent = JSON.stringify(replay.state, null, 2);
      const from = replay.fromSnapshot === null ? "the start" : `the snapshot at version ${replay.fromSnapshot}`;
      const whatIf = replay.excludedVersions.length ? `, leaving out version(s) ${replay.excludedVersions.join(", ")}` : "";
      const skipped = replay.skippedSnapshots.map((s) => ` Skipped the snapshot at version ${s.version}: ${s.message}.`).join("");
      info.textContent = `${replay.aggregateType} ${aggregateId} at version ${replay.version}: replayed ${replay.eventsReplayed} event(s) from ${from}${whatIf}.${skipped}`;
    } catch (error) {
      fill(trace);
      state.textContent = "";
      info.textContent = `Replay failed: ${error.message}`;
    }
  }
}

customElements.define("es-state", StatePanel);
