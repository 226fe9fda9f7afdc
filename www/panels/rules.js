// <es-rules>: the rules editor. The scenario's rules, upcasters and projections, each editable
// with highlighting; the module checks an edit as opening would, and a compile error is marked
// at its line and column. Applying reopens the store with the edited scenario: every state is
// replayed under the new rules, snapshots taken under the old ones go stale, the read model is
// rebuilt; the edited scenario is recorded with the store and used when it is opened again.
import { codeEditor } from "../editor.js";
import { el, fill, showResult } from "../view.js";
import { Panel } from "./panel.js";
import { showError } from "./forms.js";

/** Scripts come as one text or as lines. */
const text = (script) => (Array.isArray(script) ? script.join("\n") : script ?? "");

class RulesPanel extends Panel {
  /** The scenario document being edited. */
  #draft;
  /** The part shown in the editor: "aggregate:0", "upcaster:1", "projection:2" or "document". */
  #part;
  #editor = codeEditor({ language: "rhai", label: "Scenario source", rows: 18, testid: "rules-source" });

  template() {
    return [
      el(
        "section",
        { id: "rules-panel", "aria-labelledby": "rules-title" },
        el("h2", { id: "rules-title" }, "Rules editor"),
        el(
          "p",
          { class: "muted" },
          "The rules decide and apply events (Rhai), upcasters read old events in a new shape, projections fill the read model (SQL). Edit, check, apply: the stored events never change, only how they are read.",
        ),
        el("label", {}, "Edit ", el("select", { id: "rules-part", "data-testid": "rules-part" })),
        this.#editor.element,
        el(
          "p",
          { class: "actions" },
          el("button", { type: "button", "data-action": "apply", "data-testid": "rules-apply" }, "Apply"),
          el("button", { type: "button", class: "secondary", "data-action": "check", "data-testid": "rules-check" }, "Check"),
          el("button", { type: "button", class: "secondary", "data-action": "add-upcaster", "data-testid": "rules-add-upcaster" }, "Add an upcaster"),
          el("button", { type: "button", class: "secondary", "data-action": "reset", "data-testid": "rules-reset" }, "Reset to the shipped rules"),
        ),
        el("p", { id: "rules-result", class: "result", role: "status", "data-testid": "rules-result" }),
      ),
    ];
  }

  ready() {
    this.$("#rules-part").addEventListener("change", (event) => {
      this.#keep();
      this.#show(event.target.value);
    });
    this.$('[data-action="check"]').addEventListener("click", () => this.#check());
    this.$('[data-action="apply"]').addEventListener("click", () => this.#apply());
    this.$('[data-action="reset"]').addEventListener("click", () => this.#reset());
    this.$('[data-action="add-upcaster"]').addEventListener("click", () => this.addUpcaster());
  }

  attach(session) {
    this.on("opened", () => {
      this.#draft = JSON.parse(session.sandbox.scenarioJson());
      this.#fillParts();
      this.#show(this.#partsOf(this.#draft).some(([key]) => key === this.#part) ? this.#part : "aggregate:0");
      this.$('[data-action="reset"]').disabled = !this.session.Sandbox.shippedScenarios().includes(this.#draft.name);
    });
  }

  /** The editable parts of a document: [key, label, language]. */
  #partsOf(doc) {
    return [
      ...doc.aggregates.map((a, i) => [`aggregate:${i}`, `${a.name} rules`, "rhai"]),
      ...(doc.upcasters ?? []).map((u, i) => [`upcaster:${i}`, `upcaster ${u.eventType} v${u.fromVersion}`, "rhai"]),
      ...(doc.projections ?? []).map((p, i) => [`projection:${i}`, `projection ${p.name}`, "json"]),
      ["document", "the whole scenario (JSON)", "json"],
    ];
  }

  #fillParts() {
    fill(
      this.$("#rules-part"),
      this.#partsOf(this.#draft).map(([key, label]) => el("option", { value: key }, label)),
    );
  }

  /** Shows a part of the draft in the editor. */
  #show(key) {
    this.#part = key;
    this.$("#rules-part").value = key;
    const [kind, index] = key.split(":");
    const language = this.#partsOf(this.#draft).find(([k]) => k === key)?.[2] ?? "json";
    this.#editor.setLanguage(language);
    if (kind === "aggregate") this.#editor.value = text(this.#draft.aggregates[index].rules);
    else if (kind === "upcaster") this.#editor.value = text(this.#draft.upcasters[index].script);
    else if (kind === "projection") this.#editor.value = JSON.stringify(this.#draft.projections[index], null, 2);
    else this.#editor.value = JSON.stringify(this.#draft, null, 2);
  }

  /** Writes the editor's text back into the draft (JSON parts must parse). */
  #keep() {
    const [kind, index] = this.#part.split(":");
    const source = this.#editor.value;
    if (kind === "aggregate") this.#draft.aggregates[index].rules = source;
    else if (kind === "upcaster") this.#draft.upcasters[index].script = source;
    else {
      let parsed;
      try {
        parsed = JSON.parse(source);
      } catch (error) {
        const at = /line (\d+) column (\d+)/.exec(error.message);
        this.#editor.markError(at ? Number(at[1]) : undefined, at ? Number(at[2]) : undefined, `Not valid JSON: ${error.message}`);
        throw Object.assign(new Error(`The ${kind === "document" ? "scenario" : "projection"} is not valid JSON: ${error.message}`), { kind: "badInput", marked: true });
      }
      if (kind === "projection") this.#draft.projections[index] = parsed;
      else this.#draft = parsed;
    }
  }

  /** Checks the draft as opening would; marks a script error at its line. Returns whether it passed. */
  #check() {
    const result = this.$("#rules-result");
    try {
      this.#keep();
      this.#editor.clearError();
      this.session.Sandbox.checkScenario(this.#draft);
      showResult(result, "ok", "It checks: the rules and upcasters compile, the shapes and projections check, the seed runs.");
      return true;
    } catch (error) {
      if (!error.marked) this.#mark(error);
      showError(result, error);
      return false;
    }
  }

  /** Puts the editor on the part an error is in, at its line and column. */
  #mark(error) {
    const details = error.details ?? {};
    const parts = this.#partsOf(this.#draft);
    const named = details.script ?? (details.projection ? `projection ${details.projection}` : undefined);
    const part = parts.find(([, label]) => named === label || (named?.startsWith("upcasters of ") && label.startsWith(`upcaster ${named.slice(13)} `)));
    if (part && part[0] !== this.#part) {
      this.#show(part[0]);
      this.$("#rules-part").value = part[0];
    }
    this.#editor.markError(part ? details.line : undefined, details.column, error.message);
  }

  async #apply() {
    if (!this.#check()) return;
    const result = this.$("#rules-result");
    // The check's "ok" is not the answer: anyone waiting for one must wait for the apply's.
    showResult(result, "busy", "Applying: the store reopens under these rules and every state is replayed…");
    const before = this.#draft;
    const opened = await this.session.applyRules(before);
    if (!opened) {
      showResult(result, "error", "The store did not open with these rules; see the status above.");
      return;
    }
    const markers = await this.session.sandbox.snapshotMarkers();
    const stale = markers.filter((m) => m.stale).length;
    showResult(
      result,
      "ok",
      `Applied. Every state is now replayed under the new rules and the read model was rebuilt from the log; ${stale} of ${markers.length} snapshot(s) were taken under other rules and are stale (skipped). The edited scenario is kept with this store.`,
    );
  }

  async #reset() {
    const name = this.#draft.name;
    const opened = await this.session.applyRules(name);
    showResult(this.$("#rules-result"), opened ? "ok" : "error", opened ? `Back to the shipped ${name} rules.` : "The store did not open; see the status above.");
  }

  /** Opens a projection's definition in the editor and brings the editor into view. */
  editProjection(name) {
    try {
      this.#keep();
    } catch (error) {
      showError(this.$("#rules-result"), error);
      return;
    }
    const index = (this.#draft.projections ?? []).findIndex((p) => p.name === name);
    if (index < 0) return;
    this.#show(`projection:${index}`);
    this.scrollIntoView({ block: "start" });
    this.#editor.element.querySelector("textarea")?.focus({ preventScroll: true });
  }

  /** Adds an upcaster to the next schema version of an event type, and opens it in the editor. */
  addUpcaster(eventType) {
    const result = this.$("#rules-result");
    try {
      this.#keep();
    } catch (error) {
      showError(result, error);
      return;
    }
    const types = this.session.info.aggregates.flatMap((a) => a.eventTypes);
    const type = types.find((t) => t.name === eventType) ?? types.find((t) => t.schemaVersion > 1) ?? types[0];
    if (!type) return;
    const upcasters = (this.#draft.upcasters ??= []);
    const from = Math.max(type.schemaVersion, ...upcasters.filter((u) => u.eventType === type.name).map((u) => u.fromVersion + 1));
    upcasters.push({
      eventType: type.name,
      fromVersion: from,
      description: `Version ${from} to ${from + 1}.`,
      script: [
        `// ${type.name}: schema version ${from} to ${from + 1}. Change \`data\` into the new shape and return it;`,
        "// the stored events stay exactly as they are. For example:",
        "// data.last_name = data.last_name.to_upper();",
        "fn upcast(data) {",
        "    data",
        "}",
      ],
    });
    this.#fillParts();
    this.#show(`upcaster:${upcasters.length - 1}`);
    showResult(result, "ok", `Added an upcaster from ${type.name} v${from} to v${from + 1}: edit it, then Apply. New ${type.name} events will be stored at v${from + 1}.`);
    this.scrollIntoView({ block: "start" });
  }
}

customElements.define("es-rules", RulesPanel);
