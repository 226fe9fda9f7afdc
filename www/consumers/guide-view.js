// The consumers lab's guided sequence as the learner clicks it: the steps, what the current one
// shows and what to look for, and a button that runs it (its settings in the form, its rules
// broken or fixed, its run started). The steps themselves are data (guide.js).
import { button, el, showResult } from "../view.js";
import { BROKEN_DEPOSITED, DEPOSITS, LOG_WANTED, STEPS } from "./guide.js";
import { DEFAULTS, fillSettings, merged } from "./settings-form.js";

export class Guide {
  #panel;
  #index = 0;
  element;

  constructor(panel) {
    this.#panel = panel;
    this.element = el(
      "div",
      { id: "lab-guide", class: "lab-guide", "data-testid": "lab-guide" },
      el("h3", {}, "Guided sequence"),
      el(
        "ol",
        { id: "lab-guide-steps" },
        STEPS.map((step, i) => el("li", { "data-step": step.id }, button(step.title, () => this.select(i), { class: "link", "data-testid": `lab-guide-step-${step.id}` }))),
      ),
      el("p", { id: "lab-guide-says", "data-testid": "lab-guide-says" }),
      el("p", { id: "lab-guide-look", class: "muted" }),
      el(
        "p",
        { class: "actions" },
        button("Run this step", () => this.run(), { "data-testid": "lab-guide-run" }),
        button("Next step", () => this.next(), { class: "secondary", "data-testid": "lab-guide-next" }),
        button("Show the projection in the rules editor", () => this.#showRules(), { class: "secondary", hidden: "", "data-testid": "lab-guide-rules" }),
      ),
      el("p", { id: "lab-guide-status", class: "result", role: "status", "data-testid": "lab-guide-status" }),
    );
  }

  get step() {
    return STEPS[this.#index];
  }

  /** Shows a step (without running it). */
  select(index) {
    this.#index = Math.max(0, Math.min(STEPS.length - 1, index));
    this.render();
  }

  /** Goes to the next step and runs it. */
  next() {
    if (this.#index < STEPS.length - 1) this.select(this.#index + 1);
    return this.run();
  }

  render() {
    const step = this.step;
    for (const [i, item] of [...this.element.querySelectorAll("#lab-guide-steps li")].entries()) {
      if (i === this.#index) item.setAttribute("aria-current", "step");
      else item.removeAttribute("aria-current");
    }
    this.element.querySelector("#lab-guide-says").textContent = `${this.#index + 1}. ${step.title}: ${step.says}`;
    this.element.querySelector("#lab-guide-look").textContent = `Look for: ${step.look}`;
    this.element.querySelector('[data-testid="lab-guide-rules"]').hidden = step.rules !== "fix";
    this.element.querySelector('[data-testid="lab-guide-next"]').disabled = this.#index === STEPS.length - 1;
  }

  #status(kind, message) {
    showResult(this.element.querySelector("#lab-guide-status"), kind, message);
  }

  /** Runs the current step; resolves when its run has started. */
  async run() {
    const { session } = this.#panel;
    const step = this.step;
    this.element.dataset.running = step.id;
    try {
      await this.#runStep(session, step);
    } catch (error) {
      this.#status("error", error.message);
    } finally {
      delete this.element.dataset.running;
    }
  }

  async #runStep(session, step) {
    if (!session.sandbox) return this.#status("error", "No store is open.");
    if (session.scenario !== "bank") {
      this.#status("error", "The guided sequence runs on the bank scenario (its deposits and balances projections).");
      const open = button("Open the bank scenario", () => this.#panel.dispatchEvent(new CustomEvent("es-switch-scenario", { bubbles: true, detail: { scenario: "bank" } })), { class: "secondary" });
      this.element.querySelector("#lab-guide-status").append(" ", open);
      return;
    }
    const notes = [];
    const head = await session.sandbox.headPosition();
    if (head < LOG_WANTED) {
      const made = await session.sandbox.generate({ count: LOG_WANTED + 10 - head, seed: 7 });
      session.changed("log");
      notes.push(`Generated ${made.events} events over ${made.aggregates} accounts first, so that several accounts have more than one deposit.`);
    }
    const broken = this.#depositsBroken(session);
    if (step.rules === "fix") return this.#fix(session, broken);
    if (step.rules === "break" && !broken) {
      await this.#applyDeposited(session, BROKEN_DEPOSITED);
      notes.push("The deposits projection now has the bug (see the rules editor).");
    } else if (step.rules !== "break" && broken) {
      await this.#restoreShippedRules(session);
      notes.push("The shipped rules are back (the deposits bug is gone).");
    }
    const settings = merged(DEFAULTS, step.settings);
    const form = this.#panel.querySelector("#lab-form");
    fillSettings(form, settings);
    form.sql.value = step.query ?? DEPOSITS;
    for (const box of this.#panel.querySelectorAll("[name=projection]")) box.checked = !step.projections || step.projections.includes(box.value);
    const projections = step.projections ?? [];
    const started = await this.#panel.start({ settings, script: step.script ?? [], projections });
    if (started) this.#status("ok", [...notes, `Running “${step.title}”. ${step.look}`].join(" "));
  }

  /** Whether the open rules hold the deposits bug. */
  #depositsBroken(session) {
    const doc = JSON.parse(session.sandbox.scenarioJson());
    return doc.projections?.find((p) => p.name === "deposits")?.on?.Deposited === BROKEN_DEPOSITED;
  }

  /** Reopens the store with the deposits projection's Deposited statement replaced. */
  async #applyDeposited(session, statement) {
    const doc = JSON.parse(session.sandbox.scenarioJson());
    const deposits = doc.projections.find((p) => p.name === "deposits");
    deposits.on.Deposited = statement;
    if (!(await session.applyRules(doc))) throw new Error(`The rules did not apply: ${session.lastError?.message ?? ""}`);
  }

  async #restoreShippedRules(session) {
    if (!(await session.applyRules("bank"))) throw new Error(`The shipped rules did not apply: ${session.lastError?.message ?? ""}`);
  }

  /** The fix step: the shipped rules back (unless fixed by hand), the redeploy, the replay. */
  async #fix(session, broken) {
    const run = this.#panel.run;
    if (!run) return this.#status("error", "Run the poison step first: there is nothing parked to replay.");
    if (broken) await this.#restoreShippedRules(session);
    this.#panel.replayParked();
    run.player.play();
    this.#status("ok", `${broken ? "The shipped deposits projection is back: the consumers were redeployed with it. " : "The projection is fixed: the consumers run it. "}The parked messages are being replayed. ${this.step.look}`);
  }

  #showRules() {
    this.#panel.dispatchEvent(new CustomEvent("es-edit-projection", { bubbles: true, detail: { name: "deposits" } }));
  }
}

