// <es-tour>: a guided tour in eight short steps, one per idea of event sourcing, each doing
// something on the page and pointing at it, in the words of the open scenario. It opens on a
// first visit, can be closed at any step, reopened from the header, and remembers that it was
// seen.
import { el, showResult } from "../view.js";
import { Panel } from "./panel.js";

const SEEN = "es-sandbox/tour";

/** Waits for the panels to render what a step did. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

/** A value as a sentence shows it: numbers as they are, text in quotes. */
const word = (value) => (typeof value === "string" ? `“${value}”` : JSON.stringify(value));

/**
 * What an event changed, in words: its number and text fields (its yes/no fields when it changed
 * nothing else), at most two: `balance 70`, `status “shipped”, carrier “PostNL”`.
 */
function changed(step) {
  const plain = (step?.changes ?? []).filter((c) => c.after !== undefined && c.field);
  const scalar = plain.filter((c) => typeof c.after === "number" || typeof c.after === "string");
  const shown = (scalar.length ? scalar : plain.filter((c) => typeof c.after === "boolean")).slice(0, 2);
  return shown.length ? shown.map((c) => `${c.field} ${word(c.after)}`).join(", ") : "no field changed";
}

/**
 * What the tour says about the open scenario: its name, the selected aggregate, its type, its
 * events and what each changed (from a traced replay), so that every step speaks of the log on the page.
 */
async function factsOf(session) {
  const sandbox = session.sandbox;
  const id = session.aggregate;
  if (!id) return { id: "", type: "aggregate", events: [], steps: [], scenario: session.scenario };
  const type = sandbox.aggregateType(id)?.name ?? "aggregate";
  const events = await sandbox.events({ aggregateId: id, fromPosition: 1, limit: 2 });
  const replay = await sandbox.replay(id, { trace: true, useSnapshots: false });
  return { id, type, events, steps: replay.trace?.steps ?? [], scenario: session.scenario };
}

/** How a step's text names the aggregate's second event, or says there is none. */
function second({ id, events }) {
  return events[1] ? `${id}'s second event (${events[1].type})` : `${id}'s first event (it has only one)`;
}

/**
 * The steps: a title, what to notice (written from the open scenario's facts), the section to
 * look at, and what the step does there (on the selected aggregate where it acts on the log).
 */
const STEPS = [
  {
    title: "CRUD forgets",
    text: ({ id, type, steps }) =>
      `A CRUD table keeps one row per ${type} and overwrites it. The row of ${id} knows ${changed(steps.at(-1))}, but not why. Beside it, the event log keeps the ${steps.length === 1 ? "fact" : `${steps.length} facts`} that led there.`,
    section: "crud-panel",
    run: async (session) => {
      session.putBack();
      session.travel(undefined);
    },
  },
  {
    title: "State is a replay",
    text: ({ steps, events, ...facts }) =>
      steps[1]
        ? `The state is never stored: it is computed by folding the events in order. Here the log is shown as of ${second({ events, ...facts })}: ${steps[0].type} gives ${changed(steps[0])}, then ${steps[1].type}: ${changed(steps[1])}. Drag the slider to move through time.`
        : `The state is never stored: it is computed by folding the events in order. Here the log is shown as of ${second({ events, ...facts })}. Drag the slider to move through time.`,
    section: "timeline-panel",
    run: async (session, { events }) => {
      const at = events[1] ?? events[0];
      if (at) session.travel(at.position, undefined);
    },
  },
  {
    title: "The store keeps order, versions and ids",
    text: () =>
      "Each event has a position in the log, a version in its aggregate and an id. Sending an event again with its id writes nothing: retries are safe. Appending at a stale version is refused (see the conflict lab).",
    section: "idempotency-panel",
    run: async (session) => session.travel(undefined),
  },
  {
    title: "Snapshots shorten replays",
    text: ({ id, steps }) =>
      `A snapshot saves the state after some version, so that a replay folds only the events after it. One of ${id} was just taken at v${steps.length}. The chart shows the saw-tooth: replay cost drops at each snapshot.`,
    section: "snapshots-panel",
    run: async (session) => {
      await session.sandbox.snapshot(session.aggregate);
      session.changed();
    },
  },
  {
    title: "Projections are eventually consistent",
    text: () =>
      "Projections turn events into SQL tables for queries. The delay is now 3 seconds: run any command and watch its event travel from the log to each projection. Until it arrives, answers are stale, and say so.",
    section: "read-model-panel",
    run: async (session) => {
      session.sandbox.setProjectionDelay(3000);
      session.changed("readModel");
    },
  },
  {
    title: "Time travel, recovery, what-if",
    text: (facts) =>
      `Because the log holds everything, any past state can be rebuilt, and any event left out to see what would have been. ${facts.events[1] ? `${second(facts)} is left out here: compare the two sides.` : "Tick an event's “Out” box in the log to leave it out."}`,
    section: "what-if-panel",
    run: async (session, { events }) => {
      if (events[1]) session.leaveOut(events[1].eventId, true);
    },
  },
  {
    title: "Schema versions and compensation",
    text: () =>
      "Stored events never change. A new shape gets a new schema version and an upcaster reads old events in it. A mistake is corrected by a new event (a compensation), never by editing the past.",
    section: "schema-panel",
    run: async (session) => session.putBack(),
  },
  {
    title: "Between the log and its consumers, a network",
    text: ({ scenario }) =>
      scenario === "bank"
        ? "Consumers reach the log over a network that loses, repeats and reorders messages. In the consumers lab, two consumers in workers of their own now follow the log over a link that delivers some messages twice; the deposits projection counts, so a consumer without an inbox counts a deposit twice, and its verdict says where it parted from the log. The guided sequence goes on from there: an inbox, a crash, competing consumers, a poison event."
        : "Consumers reach the log over a network that loses, repeats and reorders messages. In the consumers lab, two consumers in workers of their own now follow this log over a link that delivers some messages twice, each with its own read model, and each verdict says whether it still answers as the log does. The lab's guided sequence, on the bank scenario, goes on from there.",
    section: "consumers-panel",
    run: async () => document.querySelector("es-consumers")?.tourStep(),
  },
];

/**
 * Scrolls a section to the top of the view and keeps it there while the panels around it render
 * (a panel renders when it comes into view, and may grow): until it has stayed put for a few
 * frames, or the page cannot scroll further.
 */
async function bringIntoView(target) {
  target.scrollIntoView({ block: "start" });
  const wanted = parseFloat(getComputedStyle(target).scrollMarginTop) || 0;
  for (let frame = 0, still = 0; frame < 120 && still < 5; frame++) {
    await nextFrame();
    const atBottom = scrollY + innerHeight >= document.documentElement.scrollHeight - 1;
    if (Math.abs(target.getBoundingClientRect().top - wanted) > 2 && !atBottom) {
      target.scrollIntoView({ block: "start" });
      still = 0;
    } else {
      still += 1;
    }
  }
}

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
    const shown = this.#step;
    const step = STEPS[shown];
    const card = this.$("#tour");
    // "running" until the step has acted and its panel is in view (tests wait for "shown").
    card.dataset.state = "running";
    this.$("#tour-progress").textContent = `Step ${shown + 1} of ${STEPS.length}`;
    this.$("#tour-title").textContent = step.title;
    this.$('[data-action="back"]').disabled = shown === 0;
    this.$('[data-action="next"]').textContent = shown + 1 < STEPS.length ? "Next" : "Finish";
    showResult(this.$("#tour-result"), "", "");
    document.querySelector(".tour-target")?.classList.remove("tour-target");
    this.$('[data-action="next"]').focus({ preventScroll: true });
    const target = document.getElementById(step.section);
    target?.classList.add("tour-target");
    target?.scrollIntoView({ block: "start" });
    try {
      const facts = this.session?.sandbox ? await factsOf(this.session) : { id: "", type: "aggregate", events: [], steps: [] };
      if (this.#step !== shown) return;
      this.$("#tour-text").textContent = step.text(facts);
      if (step.run && this.session?.sandbox) {
        await step.run(this.session, facts);
        await settle();
      }
    } catch (error) {
      showResult(this.$("#tour-result"), "error", error.message);
    }
    if (this.#step !== shown) return;
    if (target) await bringIntoView(target);
    if (this.#step !== shown) return;
    card.dataset.state = "shown";
    this.$('[data-action="next"]').focus({ preventScroll: true });
  }
}

customElements.define("es-tour", TourPanel);
