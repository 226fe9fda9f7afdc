// <es-log>: the event log, every fact in order, with a box per event to leave it out (what-if).
import { compact, el, fill, formatTime } from "../view.js";
import { Panel } from "./panel.js";

const SHOWN_EVENTS = 200;

class LogPanel extends Panel {
  template() {
    return [
      el(
        "section",
        { id: "log-panel", "aria-labelledby": "log-title" },
        el("h2", { id: "log-title" }, "Event log"),
        el(
          "p",
          { class: "muted" },
          "Every fact, in order. Nothing here is ever changed or deleted. Tick “Out” to see the state and the queries as if an event had never happened.",
        ),
        el(
          "p",
          { id: "what-if", class: "what-if", hidden: "", "data-testid": "what-if" },
          el("span"),
          " ",
          el("button", { type: "button", class: "secondary" }, "Put them back"),
        ),
        el(
          "div",
          { class: "scroll" },
          el(
            "table",
            { id: "events", "data-testid": "events" },
            el(
              "thead",
              {},
              el(
                "tr",
                {},
                ["Out", "#", "Aggregate", "Version", "Type", "Schema", "Data", "Time"].map((h) => el("th", h === "Out" ? { title: "Leave out (what-if)" } : {}, h)),
              ),
            ),
            el("tbody"),
          ),
        ),
      ),
    ];
  }

  ready() {
    this.$("#what-if button").addEventListener("click", () => this.session.putBack());
    this.$("#events tbody").addEventListener("change", (event) => {
      const id = event.target.dataset?.eventId;
      if (id) this.session.leaveOut(id, event.target.checked);
    });
  }

  attach() {
    this.on("changed", () => this.render());
  }

  async render() {
    const { sandbox, excluded } = this.session;
    if (!sandbox) return;
    const latest = this.begin();
    const head = await sandbox.headPosition();
    const events = await sandbox.events({ fromPosition: Math.max(1, head - SHOWN_EVENTS + 1), limit: SHOWN_EVENTS });
    if (!latest()) return;
    fill(
      this.$("#events tbody"),
      events.map((e) => {
        const box = el("input", { type: "checkbox", "data-event-id": e.eventId, "aria-label": "leave out" });
        box.checked = excluded.has(e.eventId);
        return el(
          "tr",
          { "data-position": e.position, class: excluded.has(e.eventId) ? "left-out" : undefined },
          el("td", {}, box),
          el("td", {}, e.position),
          el("td", {}, e.aggregateId),
          el("td", {}, e.version),
          el("td", {}, e.type),
          el("td", {}, `v${e.schemaVersion}`),
          el("td", { class: "data" }, compact(e.data)),
          el("td", { class: "time" }, formatTime(e.timestamp)),
        );
      }),
    );
    const whatIf = this.$("#what-if");
    whatIf.hidden = excluded.size === 0;
    whatIf.querySelector("span").textContent =
      `What-if: ${excluded.size} event(s) left out. The state and your queries are computed as if they never happened; nothing stored changes.`;
  }
}

customElements.define("es-log", LogPanel);
