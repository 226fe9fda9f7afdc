// <es-conflict>: optimistic concurrency in two tabs. Each tab loads the aggregate (its version),
// decides, and appends with the version it loaded as the expected version: the first wins, the
// second is refused with expected and actual versions, nothing of it stored, and retries on the
// new version.
import { compact, el, showResult } from "../view.js";
import { Panel } from "./panel.js";
import { fillLabCommand, parseJson, showError } from "./forms.js";
import { attachLab, labForm, labSteps, wireLab } from "./two-tab-lab.js";

class ConflictPanel extends Panel {
  /** What this tab loaded: { aggregateId, version, state }. */
  #loaded;

  template() {
    return [
      el(
        "section",
        { id: "conflict-panel", "aria-labelledby": "conflict-title" },
        el("h2", { id: "conflict-title" }, "Lab: two writers, one aggregate"),
        el(
          "p",
          { class: "muted" },
          "Optimistic concurrency: a writer appends with the version it decided on as the expected version. If another writer got there first, the store refuses, says both versions, and stores nothing; the writer loads again and decides again.",
        ),
        labSteps(
          "In each tab, load the aggregate: both see the same version.",
          "In each tab, run the command at the version it loaded: one wins, the other is refused.",
          "In the refused tab, retry: it loads the new version and decides again.",
        ),
        labForm("conflict-lab", {
          first: ["load", "conflict-load", "1. Load"],
          run: ["conflict-run", "2. Run at the loaded version"],
          extra: el("button", { type: "button", class: "secondary", "data-action": "retry", "data-testid": "conflict-retry", hidden: "" }, "Retry: load again and run"),
        }),
        el("p", { id: "conflict-result", class: "result", role: "status", "data-testid": "conflict-result" }),
      ),
    ];
  }

  ready() {
    this.$('[data-action="load"]').addEventListener("click", () => this.#load());
    this.$('[data-action="retry"]').addEventListener("click", async () => {
      if (await this.#load()) await this.#run();
    });
    wireLab(this, this.$("#conflict-lab"), { section: "conflict-panel", run: () => this.#run() });
  }

  attach() {
    attachLab(this, this.$("#conflict-lab"), this.$("#conflict-result"), () => (this.#loaded = undefined));
    this.follow(["selection"], () => fillLabCommand(this.session, this.$("#conflict-lab")));
  }

  async #load() {
    const { sandbox, aggregate } = this.session;
    const result = this.$("#conflict-result");
    try {
      // Another tab may have appended: read what is new first, as a fresh load would.
      await sandbox.refresh();
      const replay = await sandbox.replay(aggregate);
      this.#loaded = { aggregateId: aggregate, version: replay.version, state: replay.state };
      showResult(result, "ok", `Loaded ${aggregate} at version ${replay.version}: ${compact(replay.state)}.`);
      this.$('[data-action="retry"]').hidden = true;
      return true;
    } catch (error) {
      showError(result, error);
      return false;
    }
  }

  async #run() {
    const { sandbox, aggregate } = this.session;
    const lab = this.$("#conflict-lab");
    const result = this.$("#conflict-result");
    try {
      if (!this.#loaded || this.#loaded.aggregateId !== aggregate) throw new Error("Load the aggregate first (step 1).");
      const payload = parseJson(lab.payload.value || "{}", "Payload");
      const expected = this.#loaded.version;
      const committed = await sandbox.execute(aggregate, lab.command.value, payload, { expected });
      this.#loaded = undefined;
      showResult(
        result,
        "ok",
        `Stored at version ${committed.version} (expected ${expected}, and it was ${expected}): ${compact(committed.state)}. If the other tab runs at version ${expected} now, it is refused.`,
      );
      this.session.appended(aggregate);
    } catch (error) {
      if (error.kind === "conflict") {
        const { expected, actual } = error.details;
        showResult(
          result,
          "conflict",
          `Refused: expected version ${expected}, actual version ${actual}. Another writer appended after you loaded; nothing of yours was stored. Retry: load version ${actual} and decide again.`,
        );
        this.$('[data-action="retry"]').hidden = false;
      } else {
        showError(result, error);
      }
    }
  }
}

customElements.define("es-conflict", ConflictPanel);
