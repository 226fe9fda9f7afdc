// <es-read-model>: the projections that feed the read model, each with its checkpoint against the
// log's head (how far behind it is comes from the module) and its lifecycle: pause, resume,
// crash, rebuild.
import { el, fill, showResult } from "../view.js";
import { Panel } from "./panel.js";

class ReadModelPanel extends Panel {
  template() {
    return [
      el(
        "section",
        { id: "read-model-panel", "aria-labelledby": "read-model-title" },
        el("h2", { id: "read-model-title" }, "Read model"),
        el("p", { id: "read-model-where", class: "muted" }),
        el(
          "label",
          { class: "inline" },
          "Projections follow new events after ",
          el("input", { id: "delay", type: "number", min: 0, max: 60000, step: 250, value: 0, "data-testid": "delay" }),
          " ms",
        ),
        el(
          "table",
          { id: "projections", "data-testid": "projections" },
          el("thead", {}, el("tr", {}, ["Projection", "Checkpoint", "State", ""].map((h) => el("th", {}, h)))),
          el("tbody"),
        ),
        el("p", { id: "projection-result", class: "result", role: "status" }),
      ),
    ];
  }

  ready() {
    this.$("#delay").addEventListener("change", (event) => this.session.sandbox?.setProjectionDelay(Number(event.target.value) || 0));
  }

  attach(session) {
    this.on("opened", () => session.sandbox.setProjectionDelay(Number(this.$("#delay").value) || 0));
    this.on("changed", () => this.render());
    this.on("readmodel", () => this.render());
  }

  async render() {
    const { sandbox } = this.session;
    if (!sandbox) return;
    const latest = this.begin();
    const model = await sandbox.projections();
    if (!latest()) return;
    this.$("#read-model-where").textContent =
      `The read model lives ${model.location}. The log's head is at position ${model.head}; a projection behind it answers with older data.`;
    fill(
      this.$("#projections tbody"),
      model.projections.map((p) => {
        const state = p.stale ? "stale" : p.state;
        const detail = p.stale
          ? "definition changed: rebuild to apply it"
          : p.state === "crashed"
            ? `after applying up to position ${p.atPosition}, before committing: nothing of that round was kept`
            : p.state === "failed"
              ? `stopped at position ${p.atPosition}: ${p.message}`
              : "";
        const actions = [];
        const action = (label, run) => {
          const button = el("button", { type: "button", class: "secondary", "data-action": label }, label);
          button.addEventListener("click", async () => {
            try {
              run();
            } catch (error) {
              showResult(this.$("#projection-result"), "error", error.message);
            }
            await this.render();
          });
          actions.push(button);
        };
        if (p.state === "running") action("Pause", () => sandbox.pauseProjection(p.name));
        else if (!p.stale) action("Resume", () => sandbox.resumeProjection(p.name));
        action("Crash", () => sandbox.crashProjection(p.name, 1));
        action("Rebuild", () => sandbox.rebuildProjection(p.name));
        return el(
          "tr",
          { "data-projection": p.name, title: p.description },
          el("td", {}, p.name),
          el("td", {}, `${p.checkpoint} / ${model.head}`, p.behind > 0 ? ` (${p.behind} behind)` : ""),
          el("td", {}, el("span", { class: "state-badge", "data-state": state }, state), detail ? ` ${detail}` : ""),
          el("td", {}, actions),
        );
      }),
    );
  }
}

customElements.define("es-read-model", ReadModelPanel);
