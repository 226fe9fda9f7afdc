// <es-crud>: CRUD beside event sourcing. The same commands also overwrite a plain CRUD row per
// aggregate: the row knows the balance, the log knows why. And a lab in two tabs: both read the
// row, both save a deduction, and one update is lost without a word, where the event store
// refuses the second append (see the conflict lab).
import { compact, el, fill, formatTime, showResult } from "../view.js";
import { Panel } from "./panel.js";
import { fillLabCommand, parseJson, showError } from "./forms.js";
import { attachLab, labForm, labSteps, wireLab } from "./two-tab-lab.js";

/** The log events the panel lists under the row: the last ones. */
const SHOWN = 15;

class CrudPanel extends Panel {
  /** The row as this tab read it in the lab: { aggregateId, row, writes, at }. */
  #read;

  template() {
    return [
      el(
        "section",
        { id: "crud-panel", "aria-labelledby": "crud-title" },
        el("h2", { id: "crud-title" }, "CRUD beside event sourcing"),
        el(
          "p",
          { class: "muted" },
          "The same commands also update a plain CRUD table: one row per aggregate, overwritten in place. The row knows the current value; only the log knows how it got there.",
        ),
        el(
          "div",
          { class: "side-by-side" },
          el(
            "div",
            {},
            el("h3", { id: "crud-row-title" }, "The CRUD row"),
            el("table", { id: "crud-row", class: "fields", "data-testid": "crud-row" }, el("tbody")),
            el("p", { id: "crud-row-note", class: "muted", "data-testid": "crud-row-note" }),
          ),
          el("div", {}, el("h3", { id: "crud-log-title" }, "The log"), el("ol", { id: "crud-log", class: "trace", "data-testid": "crud-log" })),
        ),
        el("h3", {}, "Lab: a lost update, in two tabs"),
        labSteps(
          "In each tab, read the row (both see the same value).",
          "In each tab, run the command on the row it read and save it. CRUD overwrites: the second save erases the first.",
        ),
        labForm("crud-lab", { first: ["read", "crud-read", "1. Read the row"], run: ["crud-save", "2. Run it on what I read and save"] }),
        el("p", { id: "crud-lab-result", class: "result", role: "status", "data-testid": "crud-lab-result" }),
        el("p", {}, el("button", { type: "button", class: "secondary", "data-action": "reset" }, "Copy the log's current states into the CRUD table again")),
      ),
    ];
  }

  ready() {
    this.$('[data-action="read"]').addEventListener("click", () => this.#readRow());
    this.$('[data-action="reset"]').addEventListener("click", async () => {
      await this.session.sandbox.crudReset();
      this.#read = undefined;
      showResult(this.$("#crud-lab-result"), "ok", "The CRUD table holds the log's current states again.");
      this.render();
    });
    wireLab(this, this.$("#crud-lab"), { section: "crud-panel", run: () => this.#save() });
  }

  attach() {
    attachLab(this, this.$("#crud-lab"), this.$("#crud-lab-result"), () => (this.#read = undefined));
    this.follow(["selection"], () => this.render());
    // The other tab writes the row in localStorage: show its writes when this tab is looked at.
    window.addEventListener("storage", (event) => {
      if (event.key?.startsWith("es-sandbox-crud/")) this.render();
    });
  }

  async #readRow() {
    const { sandbox, aggregate } = this.session;
    const result = this.$("#crud-lab-result");
    try {
      const row = await sandbox.crudRead(aggregate);
      if (!row) throw new Error(`There is no CRUD row for ${aggregate} yet.`);
      this.#read = { ...row, at: Date.now() };
      showResult(result, "ok", `Read ${aggregate}: ${compact(row.row)} (the row had been written ${row.writes} time(s)).`);
    } catch (error) {
      showError(result, error);
    }
  }

  async #save() {
    const { sandbox, aggregate } = this.session;
    const lab = this.$("#crud-lab");
    const result = this.$("#crud-lab-result");
    try {
      if (!this.#read || this.#read.aggregateId !== aggregate) throw new Error("Read the row first (step 1).");
      const payload = parseJson(lab.payload.value || "{}", "Payload");
      // What the row looked like just before this save: the lab (not CRUD) checks who wrote since.
      const before = await sandbox.crudRead(aggregate);
      const saved = await sandbox.crudExecute(aggregate, lab.command.value, payload, { read: this.#read.row });
      const others = before.writes - this.#read.writes;
      const lost =
        others > 0
          ? ` Another writer saved this row ${others} time(s) after you read it (it said ${compact(before.row)}); your save overwrote that, and nothing noticed: a lost update. The log would have refused this write (expected version, see the conflict lab).`
          : " Nobody wrote the row since you read it. Now save from the other tab, which read the same old row.";
      showResult(result, others > 0 ? "conflict" : "ok", `Saved ${compact(saved.row)}.${lost}`);
      this.#read = undefined;
      this.render();
    } catch (error) {
      showError(result, error);
    }
  }

  async render() {
    const { sandbox, aggregate } = this.session;
    if (!sandbox || !aggregate) return;
    const latest = this.begin();
    const [row, replay] = await Promise.all([sandbox.crudRead(aggregate), sandbox.replay(aggregate)]);
    if (!latest()) return;
    // Only the last events are shown: fetch those, not the whole stream (thousands after a
    // generation, which took half a second to hand over).
    const earlier = Math.max(0, replay.headVersion - SHOWN);
    const shown = await sandbox.events({ aggregateId: aggregate, fromPosition: 1, skip: earlier, limit: SHOWN });
    if (!latest()) return;
    const lab = this.$("#crud-lab");
    fillLabCommand(this.session, lab, { example: !lab.payload.value });
    this.$("#crud-row-title").textContent = `The CRUD row of ${aggregate}`;
    this.$("#crud-log-title").textContent = `The log of ${aggregate}`;
    const fields = row && row.row && typeof row.row === "object" ? Object.entries(row.row) : [];
    const differs = row && compact(row.row) !== compact(replay.state);
    fill(
      this.$("#crud-row tbody"),
      fields.map(([name, value]) =>
        el(
          "tr",
          { "data-field": name, class: compact(value) !== compact(replay.state?.[name]) ? "differs" : undefined },
          el("th", { scope: "row" }, name),
          el("td", {}, compact(value)),
        ),
      ),
    );
    this.$("#crud-row-note").textContent = row
      ? `Written ${row.writes} time(s), last at ${formatTime(row.updatedAt)}. That is all it remembers: not what happened, nor in which order.${differs ? ` It differs from the log's state ${compact(replay.state)}: an update was lost, or commands ran elsewhere.` : ""}`
      : "No row yet.";
    fill(
      this.$("#crud-log"),
      earlier > 0 ? [el("li", { class: "muted" }, `… ${earlier} earlier event(s)`)] : [],
      shown.map((e) => el("li", { value: e.version }, el("b", {}, `v${e.version} ${e.type}`), " ", compact(e.data))),
      el("li", { class: "result-line" }, `= ${compact(replay.state)}`),
    );
  }
}

customElements.define("es-crud", CrudPanel);
