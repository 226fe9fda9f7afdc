// <es-tour>: a guided tour in seven short steps, one per idea of event sourcing, each doing
// something on the page and pointing at it. It opens on a first visit, can be closed at any
// step, reopened from the header, and remembers that it was seen.
import { el, showResult } from "../view.js";
import { Panel } from "./panel.js";

const SEEN = "es-sandbox/tour";

/** Waits for the panels to render what a step did. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

/**
 * The steps: a title, what to notice, the section to look at, and what the step does there (on
 * the bank scenario's acc-001 where it acts on the log).
 */
const STEPS = [
  {
    title: "CRUD forgets",
    text: "A CRUD table keeps one row per account and overwrites it. It knows the balance is 120, but not why. Beside it, the event log keeps every fact that led there.",
    section: "crud-panel",
    run: async (session) => {
      session.putBack();
      session.travel(undefined);
    },
  },
  {
    title: "State is a replay",
    text: "The state is never stored: it is computed by folding the events in order. Here the log is shown as of its second event: 100 − 30 = 70. Drag the slider to move through time.",
    section: "timeline-panel",
    run: async (session) => session.travel(Math.min(2, await session.sandbox.headPosition()), undefined),
  },
  {
    title: "The store keeps order, versions and ids",
    text: "Each event has a position in the log, a version in its aggregate and an id. Sending an event again with its id writes nothing: retries are safe. Appending at a stale version is refused (see the conflict lab).",
    section: "idempotency-panel",
    run: async (session) => session.travel(undefined),
  },
  {
    title: "Snapshots shorten replays",
    text: "A snapshot saves the state after some version, so that a replay folds only the events after it. The chart shows the saw-tooth: replay cost drops at each snapshot.",
    section: "snapshots-panel",
    run: async (session) => {
      await session.sandbox.snapshot(session.aggregate);
      session.changed();
    },
  },
  {
    title: "Projections are eventually consistent",
    text: "Projections turn events into SQL tables for queries. The delay is now 3 seconds: run any command and watch its event travel from the log to each projection. Until it arrives, answers are stale, and say so.",
    section: "read-model-panel",
    run: async (session) => {
      session.sandbox.setProjectionDelay(3000);
      session.changed("readModel");
    },
  },
  {
    title: "Time travel, recovery, what-if",
    text: "Because the log holds everything, any past state can be rebuilt, and any event left out to see what would have been. The aggregate's second event is left out here: compare the two sides.",
    section: "what-if-panel",
    run: async (session) => {
      const events = await session.sandbox.events({ aggregateId: session.aggregate, fromPosition: 1, limit: 2 });
      if (events[1]) session.leaveOut(events[1].eventId, true);
    },
  },
  {
    title: "Schema versions and compensation",
    text: "Stored events never change. A new shape gets a new schema version and an upcaster reads old events in it. A mistake is corrected by a new event (a compensation), never by editing the past.",
    section: "schema-panel",
    run: async (session) => session.putBack(),
  },
];

class TourPanel extends Panel {
  #step = 0;

  template() {
    return [
      el(
        "section",
        { id: "tour", class: "tour", role: "dialog", "aria-labelledby": "tour-title", hidden: "", "data-testid": "tour" },
        el("p", { id: "tour-progress", class: "muted" }),
        el("h2", { id: "tour-title" }),
        el("p", { id: "tour-text" }),
        el("p", { id: "tour-result", class: "result", role: "status" }),
        el(
          "p",
          { class: "actions" },
          el("button", { type: "button", class: "secondary", "data-action": "back" }, "Back"),
          el("button", { type: "button", "data-action": "next", "data-testid": "tour-next" }, "Next"),
          el("button", { type: "button", class: "secondary", "data-action": "close", "data-testid": "tour-close" }, "Close the tour"),
        ),
      ),
    ];
  }

  ready() {
    this.$('[data-action="back"]').addEventListener("click", () => this.go(this.#step - 1));
    this.$('[data-action="next"]').addEventListener("click", () => (this.#step + 1 < STEPS.length ? this.go(this.#step + 1) : this.close()));
    this.$('[data-action="close"]').addEventListener("click", () => this.close());
    // Escape closes the tour wherever the focus is: it is a dialog over the page.
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !this.$("#tour").hidden) this.close();
    });
  }

  attach() {
    this.on("opened", () => {
      if (!this.started && localStorage.getItem(SEEN) === null) this.open();
      this.started = true;
    });
  }

  /** Opens the tour at its first step. */
  open() {
    this.$("#tour").hidden = false;
    this.go(0);
  }

  close() {
    this.$("#tour").hidden = true;
    document.querySelector(".tour-target")?.classList.remove("tour-target");
    try {
      localStorage.setItem(SEEN, "seen");
    } catch {
      // Blocked storage: the tour opens again next time.
    }
  }

  async go(index) {
    this.#step = Math.max(0, Math.min(STEPS.length - 1, index));
    const step = STEPS[this.#step];
    this.$("#tour-progress").textContent = `Step ${this.#step + 1} of ${STEPS.length}`;
    this.$("#tour-title").textContent = step.title;
    this.$("#tour-text").textContent = step.text;
    this.$('[data-action="back"]').disabled = this.#step === 0;
    this.$('[data-action="next"]').textContent = this.#step + 1 < STEPS.length ? "Next" : "Finish";
    showResult(this.$("#tour-result"), "", "");
    document.querySelector(".tour-target")?.classList.remove("tour-target");
    this.$('[data-action="next"]').focus({ preventScroll: true });
    const target = document.getElementById(step.section);
    target?.classList.add("tour-target");
    target?.scrollIntoView({ behavior: "smooth", block: "start" });
    if (step.run && this.session?.sandbox) {
      try {
        await step.run(this.session);
        await settle();
      } catch (error) {
        showResult(this.$("#tour-result"), "error", error.message);
      }
    }
    this.$('[data-action="next"]').focus({ preventScroll: true });
  }
}

customElements.define("es-tour", TourPanel);
