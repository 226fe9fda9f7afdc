// <es-what-if>: the real and the hypothetical side by side. Leave events out (here or in the
// log) and see the aggregate's state and a query's answer with and without them, the differences
// marked. Nothing stored changes: the hypothetical side is replayed and projected apart.
import { compact, el, fill, fillSelect } from "../view.js";
import { runQuery } from "./query.js";
import { Panel } from "./panel.js";

/** Events of the selected aggregate offered here to leave out (the log offers them all). */
const OFFERED = 12;

class WhatIfPanel extends Panel {
  template() {
    return [
      el(
        "section",
        { id: "what-if-panel", "aria-labelledby": "what-if-title" },
        el("h2", { id: "what-if-title" }, "What-if, side by side"),
        el(
          "p",
          { class: "muted" },
          "Leave events out and compare: the real state and answers on the left, what they would be had those events never happened on the right. Nothing stored changes.",
        ),
        el("fieldset", { id: "what-if-events", class: "checklist" }, el("legend", {}, "Leave out"), el("div")),
        el("p", { id: "what-if-summary", role: "status", "data-testid": "what-if-summary" }),
        el(
          "div",
          { class: "side-by-side" },
          el("div", {}, el("h3", {}, "Real"), el("table", { id: "real-state", class: "fields", "data-testid": "real-state" }, el("tbody"))),
          el("div", {}, el("h3", {}, "Without them"), el("table", { id: "hypothetical-state", class: "fields", "data-testid": "hypothetical-state" }, el("tbody"))),
        ),
        el("label", {}, "Query ", el("select", { id: "what-if-query", "data-testid": "what-if-query" })),
        el(
          "div",
          { class: "side-by-side" },
          el("div", { class: "scroll-x" }, el("table", { id: "real-answer", "data-testid": "real-answer" }, el("thead"), el("tbody"))),
          el("div", { class: "scroll-x" }, el("table", { id: "hypothetical-answer", "data-testid": "hypothetical-answer" }, el("thead"), el("tbody"))),
        ),
      ),
    ];
  }

  ready() {
    this.$("#what-if-events").addEventListener("change", (event) => {
      const id = event.target.dataset?.eventId;
      if (id) this.session.leaveOut(id, event.target.checked);
    });
    this.$("#what-if-query").addEventListener("change", () => this.render());
  }

  attach() {
    this.on("opened", () => {
      const queries = this.session.info.queries;
      fill(this.$("#what-if-query"), queries.map((q, i) => el("option", { value: i }, q.title)));
    });
    this.follow(["selection", "whatIf"], () => this.render());
  }

  async render() {
    const { sandbox, aggregate, excluded } = this.session;
    if (!sandbox || !aggregate) return;
    const latest = this.begin();
    const exclude = [...excluded];
    const query = this.session.info.queries[Number(this.$("#what-if-query").value || 0)];
    const [events, real, hypothetical, realAnswer, hypotheticalAnswer] = await Promise.all([
      sandbox.events({ aggregateId: aggregate, fromPosition: 1, limit: 1_000_000 }),
      sandbox.replay(aggregate),
      sandbox.replay(aggregate, { exclude }).catch((error) => ({ error })),
      query ? runQuery(sandbox, query.sql, {}, false).catch((error) => ({ error })) : undefined,
      query && exclude.length ? runQuery(sandbox, query.sql, { exclude }, true).catch((error) => ({ error })) : undefined,
    ]);
    if (!latest()) return;
    this.#renderChecklist(events.slice(-OFFERED), excluded);
    const left = events.filter((e) => excluded.has(e.eventId));
    this.$("#what-if-summary").textContent = exclude.length
      ? `${exclude.length} event(s) left out${left.length ? `, ${left.length} of them ${aggregate}'s (version ${left.map((e) => e.version).join(", ")})` : ` (none of them ${aggregate}'s)`}.`
      : "Nothing left out: both sides are the same. Tick an event above or in the log.";
    const changes = hypothetical.error ? [] : this.session.Sandbox.diffStates(real.state, hypothetical.state);
    renderFields(this.$("#real-state tbody"), real.state, []);
    if (hypothetical.error) fill(this.$("#hypothetical-state tbody"), el("tr", {}, el("td", { class: "error" }, hypothetical.error.message)));
    else renderFields(this.$("#hypothetical-state tbody"), hypothetical.state, changes);
    renderAnswer(this.$("#real-answer"), realAnswer);
    renderAnswer(this.$("#hypothetical-answer"), exclude.length ? hypotheticalAnswer : realAnswer, realAnswer);
  }

  #renderChecklist(events, excluded) {
    fill(
      this.$("#what-if-events div"),
      events.map((e) => {
        const box = el("input", { type: "checkbox", "data-event-id": e.eventId });
        box.checked = excluded.has(e.eventId);
        return el("label", { class: "check" }, box, ` v${e.version} ${e.type} ${compact(e.data)}`);
      }),
    );
  }
}

/** A state as field rows, with the changes from the other side marked. */
function renderFields(body, state, changes) {
  const fields = state !== null && typeof state === "object" && !Array.isArray(state) ? Object.entries(state) : [["(state)", state]];
  fill(
    body,
    fields.map(([name, value]) => {
      const change = changes.find((c) => c.field === name || c.field.startsWith(`${name}.`));
      return el(
        "tr",
        { class: change ? `change-${change.kind}` : undefined, "data-field": name, "data-change": change?.kind },
        el("th", { scope: "row" }, name),
        el("td", {}, compact(value), change && "before" in change ? ` (real: ${compact(change.before)})` : ""),
      );
    }),
  );
}

/** A query's answer as a table; cells that differ from `other` (the real answer) are marked. */
function renderAnswer(table, answer, other) {
  if (!answer || answer.error) {
    fill(table.tHead);
    fill(table.tBodies[0], answer?.error ? el("tr", {}, el("td", { class: "error" }, answer.error.message)) : []);
    return;
  }
  fill(table.tHead, el("tr", {}, answer.columns.map((c) => el("th", { scope: "col" }, c))));
  fill(
    table.tBodies[0],
    answer.rows.map((row, r) =>
      el(
        "tr",
        {},
        row.map((value, c) => {
          const differs = other && !other.error && compact(other.rows[r]?.[c]) !== compact(value);
          return el("td", { class: differs ? "differs" : undefined }, value === null ? "NULL" : String(value));
        }),
      ),
    ),
  );
}

customElements.define("es-what-if", WhatIfPanel);
