// <es-timeline>: time travel. A slider over the log's positions sets the cursor the state, its
// trace, the log and the query answers are shown as of; "Now" returns. (A click on a row of the
// log sets the same cursor.)
import { el, formatCount } from "../view.js";
import { Panel, touches } from "./panel.js";

class TimelinePanel extends Panel {
  #head = 0;

  template() {
    return [
      el(
        "section",
        { id: "timeline-panel", "aria-labelledby": "timeline-title" },
        el("h2", { id: "timeline-title" }, "Time travel"),
        el(
          "div",
          { class: "timeline" },
          el("button", { type: "button", class: "secondary", id: "step-back", "aria-label": "One event back" }, "◀"),
          el("input", { id: "cursor", type: "range", min: 0, max: 0, step: 1, value: 0, "aria-label": "Log position shown", "data-testid": "cursor" }),
          el("button", { type: "button", class: "secondary", id: "step-forward", "aria-label": "One event forward" }, "▶"),
          el("button", { type: "button", id: "now", "data-testid": "now" }, "Now"),
        ),
        el("p", { id: "as-of", class: "as-of", role: "status", "data-testid": "as-of" }),
      ),
    ];
  }

  ready() {
    const slider = this.$("#cursor");
    slider.addEventListener("input", () => this.#go(Number(slider.value)));
    this.$("#step-back").addEventListener("click", () => this.#go((this.session.cursor ?? this.#head) - 1));
    this.$("#step-forward").addEventListener("click", () => this.#go((this.session.cursor ?? this.#head) + 1));
    this.$("#now").addEventListener("click", () => this.session.travel(undefined));
  }

  attach() {
    // Always rendered, in view or not: it is small, and says where in time the page is.
    this.on("changed", ({ detail }) => {
      if (touches(detail, ["log", "cursor"])) this.render();
    });
  }

  /** Travels to a position; the head is now. */
  #go(position) {
    const to = Math.max(0, Math.min(this.#head, position));
    this.session.travel(to >= this.#head ? undefined : to);
  }

  async render() {
    const { sandbox, cursor } = this.session;
    if (!sandbox) return;
    const latest = this.begin();
    const head = await sandbox.headPosition();
    if (!latest()) return;
    this.#head = head;
    const slider = this.$("#cursor");
    slider.max = head;
    slider.value = cursor ?? head;
    slider.setAttribute("aria-valuetext", cursor === undefined ? `now, position ${head}` : `position ${cursor} of ${head}`);
    this.$("#now").disabled = cursor === undefined;
    this.$("#step-forward").disabled = cursor === undefined;
    this.$("#step-back").disabled = (cursor ?? head) === 0;
    this.toggleAttribute("data-travelling", cursor !== undefined);
    const future = head - (cursor ?? head);
    this.$("#as-of").textContent =
      cursor === undefined
        ? `Now: position ${formatCount(head)} of ${formatCount(head)}. Drag the slider or click a row of the log to go back in time.`
        : `As of position ${formatCount(cursor)} of ${formatCount(head)}: the ${formatCount(future)} later event(s) are the future (greyed in the log). The state, its replay and query answers are as they were then.`;
  }
}

customElements.define("es-timeline", TimelinePanel);
