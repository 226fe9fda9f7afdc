// <es-recovery>: a store that does not open. Says why and how far its log is intact, and offers
// the ways out: export everything, export what follows the intact part, keep the intact part,
// reset. Each that deletes asks first.
import { download, el } from "../view.js";
import { Panel } from "./panel.js";

class RecoveryPanel extends Panel {
  /** What the store's inspection found. */
  inspection = { intactUpTo: 0, recordsAfter: 0 };
  #then;

  template() {
    const button = (id, text, attributes = {}) => el("button", { id, type: "button", ...attributes }, text);
    return [
      el(
        "section",
        { id: "other-scenario", hidden: "", "data-testid": "other-scenario" },
        el("h2", {}, "This store belongs to another scenario"),
        el("p", { id: "other-scenario-reason" }),
        el(
          "p",
          { class: "actions" },
          el("button", { id: "use-stored", type: "button" }),
          el("button", { id: "use-given", type: "button", class: "secondary" }),
        ),
      ),
      el(
        "section",
        { id: "recovery", hidden: "", "data-testid": "recovery" },
        el("h2", {}, "The stored events cannot be read"),
        el("p", { id: "recovery-reason", "data-testid": "recovery-reason" }),
        el("p", { id: "recovery-intact", "data-testid": "recovery-intact" }),
        el(
          "p",
          { class: "muted" },
          "Nothing was changed. Export what is stored to keep it; then keep the intact part of the log and drop what follows it, or reset the store to start over.",
        ),
        el(
          "p",
          { class: "actions" },
          button("export", "Export everything (raw)"),
          button("export-rest", "Export what follows the intact part", { class: "secondary" }),
          button("keep-prefix", "Keep the intact part", { class: "secondary", "data-testid": "keep-prefix" }),
          button("recovery-reset", "Reset the store", { class: "danger" }),
        ),
        el(
          "p",
          { id: "recovery-confirm", class: "confirm", hidden: "", "data-testid": "recovery-confirm" },
          el("span"),
          " ",
          el("button", { type: "button", class: "danger", "data-answer": "yes" }, "Yes"),
          el("button", { type: "button", class: "secondary", "data-answer": "no" }, "No"),
        ),
      ),
    ];
  }

  ready() {
    const reopen = (onOtherScenario) => {
      const session = this.session;
      session.open({ scenario: session.scenario, ...session.store, onOtherScenario });
    };
    this.$("#use-stored").addEventListener("click", () => reopen("useStored"));
    this.$("#use-given").addEventListener("click", () => reopen("useGiven"));
    this.$("#export").addEventListener("click", () => this.#export());
    this.$("#export-rest").addEventListener("click", () => this.#export(this.inspection.intactUpTo));
    this.$("#keep-prefix").addEventListener("click", () =>
      this.#confirm(
        `Keep positions 1 to ${this.inspection.intactUpTo} and delete the ${this.inspection.recordsAfter} record(s) after them? Export them first to keep a copy.`,
        () => this.#keepIntactPart(),
      ),
    );
    this.$("#recovery-reset").addEventListener("click", () =>
      this.#confirm("Delete every stored record of this store, the intact ones too?", () => this.session.reset()),
    );
    this.$("#recovery-confirm").addEventListener("click", (event) => {
      const answer = event.target.dataset?.answer;
      if (!answer) return;
      this.$("#recovery-confirm").hidden = true;
      const then = this.#then;
      this.#then = undefined;
      if (answer === "yes") then?.();
    });
  }

  attach() {
    this.on("opening", () => {
      this.$("#recovery").hidden = true;
      this.$("#other-scenario").hidden = true;
    });
    this.on("failed", ({ detail: error }) => {
      if (error.kind === "corrupt") this.#show(error);
      if (error.kind === "otherScenario") this.#showOther(error);
    });
  }

  /** A store written under another scenario: open it with its own, or with the one asked for. */
  #showOther(error) {
    const { stored, given } = error.details;
    this.$("#other-scenario-reason").textContent =
      `The store ${this.session.store.name} holds events of scenario ${stored}, not ${given}. Nothing was changed.`;
    this.$("#use-stored").textContent = `Open it with ${stored}`;
    this.$("#use-given").textContent = `Open it with ${given} anyway`;
    this.$("#other-scenario").hidden = false;
  }

  /** Asks inline (no browser dialog) before doing something that deletes stored records. */
  #confirm(question, then) {
    this.$("#recovery-confirm span").textContent = question;
    this.$("#recovery-confirm").hidden = false;
    this.#then = then;
  }

  async #show(error) {
    this.$("#recovery-reason").textContent = error.message;
    this.$("#recovery").hidden = false;
    this.$("#recovery-confirm").hidden = true;
    const intact = this.$("#recovery-intact");
    try {
      this.inspection = await this.session.Sandbox.inspectStore(this.session.store);
      const { committed, intactUpTo, recordsAfter } = this.inspection;
      const acknowledged = committed === null ? "" : ` The store acknowledged events up to position ${committed}.`;
      intact.textContent = `The log is intact up to position ${intactUpTo}.${acknowledged} ${recordsAfter} stored record(s) follow the intact part.`;
    } catch (inspectError) {
      intact.textContent = `The store could not be inspected: ${inspectError.message}`;
    }
  }

  async #keepIntactPart() {
    const session = this.session;
    try {
      await this.session.Sandbox.truncateStore({ ...session.store, keep: this.inspection.intactUpTo });
    } catch (error) {
      this.$("#recovery-intact").textContent = `Nothing was dropped: ${error.message}`;
      return;
    }
    await session.open({ scenario: session.scenario, ...session.store });
  }

  /** Downloads what is stored (everything, or the records after a position), decoded where possible. */
  async #export(after) {
    const store = this.session.store;
    const text = await this.session.Sandbox.exportStore({ ...store, ...(after === undefined ? {} : { after }) });
    const suffix = after === undefined ? "export" : `after-${after}`;
    download(`${store.name}-${suffix}.json`, text);
  }
}

customElements.define("es-recovery", RecoveryPanel);
