// <es-read-model>: the projections that feed the read model, each with its checkpoint against the
// log's head (how far behind it is comes from the module), drawn as a lag bar along which the
// events not yet applied travel, and its lifecycle: pause, resume, crash, rebuild.
import { el, fill, showResult } from "../view.js";
import { Panel, touches } from "./panel.js";

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
          "div",
          { class: "scroll-x" },
          el(
            "table",
            { id: "projections", "data-testid": "projections" },
            el("thead", {}, el("tr", {}, ["Projection", "Checkpoint", "Lag", "State", ""].map((h) => el("th", { scope: "col" }, h)))),
            el("tbody"),
          ),
        ),
        el("p", { id: "projection-result", class: "result", role: "status", "data-testid": "projection-result" }),
        el(
          "form",
          { id: "projection-editor", hidden: "" },
          el("label", {}, el("span", { id: "projection-editor-title" }), el("textarea", { name: "definition", rows: 8, spellcheck: "false" })),
          el("p", { class: "muted" }, "The projection as JSON: its setup and the statements run for each event type. Applying it rebuilds the projection from position 0."),
          el("button", { type: "submit" }, "Apply and rebuild"),
          " ",
          el("button", { type: "button", class: "secondary", "data-action": "cancel" }, "Cancel"),
        ),
      ),
    ];
  }

  ready() {
    this.$("#delay").addEventListener("change", async (event) => {
      const result = this.$("#projection-result");
      const sandbox = this.session.sandbox;
      if (!sandbox) return;
      try {
        // The module checks the range and says what it refused.
        sandbox.setProjectionDelay(Number(event.target.value.trim() === "" ? NaN : event.target.value));
        showResult(result, "", "");
      } catch (error) {
        showResult(result, "error", error.message);
        event.target.value = (await sandbox.projections()).delayMs;
      }
    });
    const editor = this.$("#projection-editor");
    editor.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#applyDefinition();
    });
    editor.querySelector('[data-action="cancel"]').addEventListener("click", () => (editor.hidden = true));
  }

  /** Opens the editor on one projection's definition. */
  #edit(name) {
    const editor = this.$("#projection-editor");
    editor.dataset.projection = name;
    this.$("#projection-editor-title").textContent = `Definition of ${name}`;
    editor.definition.value = JSON.stringify(this.#current(name), null, 2);
    editor.hidden = false;
  }

  /** The definitions in force: the scenario's, with the edits applied here. */
  #edited;

  #current(name) {
    return (this.#edited ?? this.session.info.projections).find((p) => p.name === name);
  }

  #applyDefinition() {
    const editor = this.$("#projection-editor");
    const name = editor.dataset.projection;
    const result = this.$("#projection-result");
    try {
      const spec = JSON.parse(editor.definition.value);
      const specs = (this.#edited ?? this.session.info.projections).map((p) => (p.name === name ? spec : p));
      const sandbox = this.session.sandbox;
      sandbox.redefineProjections(specs);
      sandbox.rebuildProjection(spec.name);
      this.#edited = specs;
      editor.hidden = true;
      showResult(result, "ok", `${spec.name} was redefined and is being rebuilt from position 0.`);
    } catch (error) {
      showResult(result, "error", error.message);
    }
    this.render();
  }

  attach(session) {
    this.on("opened", () => {
      this.#edited = undefined;
      this.$("#projection-editor").hidden = true;
      session.sandbox.setProjectionDelay(Number(this.$("#delay").value) || 0);
    });
    // The lag does not depend on the cursor or the selection: the log and the read model move it.
    this.on("changed", ({ detail }) => {
      if (touches(detail, ["log", "whatIf", "readModel"])) this.render();
    });
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
    const delay = this.$("#delay");
    if (document.activeElement !== delay) delay.value = model.delayMs;
    fill(
      this.$("#projections tbody"),
      model.projections.map((p) => {
        const state = p.stale ? "stale" : p.state;
        const detail = p.stale
          ? "definition changed: rebuild to apply it"
          : p.state === "crashed"
            ? `after applying up to position ${p.atPosition}, before committing: nothing of that round was kept`
            : p.state === "failed"
              ? `stopped before the event at position ${p.atPosition}: ${p.message}. Fix its definition and rebuild, skip this event (it is parked in parked_events with the error), or leave it stopped.`
              : "";
        const actions = [];
        const action = (label, run) => {
          const button = el("button", { type: "button", class: "secondary", "data-action": label }, label);
          button.addEventListener("click", async () => {
            try {
              await run();
            } catch (error) {
              showResult(this.$("#projection-result"), "error", error.message);
            }
            await this.render();
          });
          actions.push(button);
        };
        if (p.state === "running") action("Pause", () => sandbox.pauseProjection(p.name));
        else if (!p.stale) action(p.state === "failed" ? "Retry" : "Resume", () => sandbox.resumeProjection(p.name));
        if (p.state === "failed") action("Skip this event", () => sandbox.skipEvent(p.name));
        action("Crash", async () => {
          sandbox.crashProjection(p.name, 1);
          showResult(
            this.$("#projection-result"),
            "ok",
            `${p.name} will crash in its next round, after applying one event and before committing: run a command to see it lose that round and restart from its checkpoint.`,
          );
        });
        action("Rebuild", () => sandbox.rebuildProjection(p.name));
        if (p.name !== "events") action("Edit", () => this.#edit(p.name));
        return el(
          "tr",
          { "data-projection": p.name, title: p.description },
          el("td", {}, p.name),
          el("td", {}, `${p.checkpoint} / ${model.head}`, p.behind > 0 ? ` (${p.behind} behind)` : ""),
          el("td", { class: "lag-cell" }, lagBar(p, model.head)),
          el("td", {}, el("span", { class: "state-badge", "data-state": state }, state), detail ? ` ${detail}` : ""),
          el("td", {}, actions),
        );
      }),
    );
  }
}

/**
 * A projection's lag as a bar: how much of the log it has applied, and the events still on their
 * way to it as dots travelling from the log (still when the visitor prefers less motion).
 */
function lagBar(p, head) {
  const track = el("span", { class: "lag-track", role: "img", "aria-label": p.behind ? `${p.behind} event(s) on their way to ${p.name}` : `${p.name} is current` });
  const done = el("span", { class: "lag-done" });
  done.style.width = `${head ? (100 * p.checkpoint) / head : 100}%`;
  track.append(done);
  const travelling = Math.min(p.behind, 8);
  for (let i = 0; i < travelling; i++) {
    const dot = el("span", { class: `lag-dot${p.state === "running" ? "" : " held"}` });
    dot.style.animationDelay = `${-(i * 1.6) / travelling}s`;
    track.append(dot);
  }
  return track;
}

customElements.define("es-read-model", ReadModelPanel);
