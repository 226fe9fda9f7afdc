// <es-query>: one read-only SQL statement against the read model (real SQLite), run in a worker
// so the page stays live. The answer says which projections it read and whether those are
// behind the log; with events left out, it comes from a what-if read model.
import { el, fill, showResult } from "../view.js";
import { queryInWorker } from "../query-runner.js";
import { Panel } from "./panel.js";

const QUERY_LIMITS = { maxRows: 200, timeLimitMs: 2000 };

class QueryPanel extends Panel {
  template() {
    return [
      el(
        "section",
        { id: "query-panel", "aria-labelledby": "query-title" },
        el("h2", { id: "query-title" }, "Query the read model"),
        el("p", { class: "muted" }, "One read-only SQL statement (SQLite). Try:"),
        el("p", { id: "suggested", class: "suggested" }),
        el(
          "form",
          { id: "query-form" },
          el("textarea", { name: "sql", rows: 3, spellcheck: "false", "data-testid": "sql", "aria-label": "SQL" }),
          el("button", { type: "submit" }, "Run"),
        ),
        el("p", { id: "query-status", class: "result", role: "status", "data-testid": "query-status" }),
        el("div", { class: "scroll" }, el("table", { id: "query-result", "data-testid": "query-result" }, el("thead"), el("tbody"))),
        el("details", {}, el("summary", {}, "History"), el("ol", { id: "history", "data-testid": "history" })),
      ),
    ];
  }

  ready() {
    this.$("#query-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.run(this.$("#query-form").sql.value);
    });
  }

  attach(session) {
    this.on("opened", () => {
      const { queries } = session.info;
      fill(
        this.$("#suggested"),
        queries.map((q) => {
          const button = el("button", { type: "button", class: "secondary", title: q.sql }, q.title);
          button.addEventListener("click", () => {
            this.$("#query-form").sql.value = q.sql;
            this.run(q.sql);
          });
          return button;
        }),
      );
      this.$("#query-form").sql.value = queries[0]?.sql ?? "SELECT * FROM events";
      fill(this.$("#query-result thead"));
      fill(this.$("#query-result tbody"));
      showResult(this.$("#query-status"), "", "");
      this.#renderHistory();
    });
  }

  async run(sql) {
    const { sandbox, excluded } = this.session;
    if (!sandbox) return;
    this.#remember(sql);
    const status = this.$("#query-status");
    try {
      delete status.dataset.kind;
      status.textContent = "Running…";
      const exclude = [...excluded];
      const whatIf = exclude.length > 0;
      const answer = await queryInWorker({
        sql,
        options: QUERY_LIMITS,
        generation: whatIf ? undefined : sandbox.readModelGeneration(),
        copy: () => sandbox.readModelCopy({ exclude }),
      });
      const sources = whatIf ? [] : await sandbox.sources(answer.tables);
      fill(this.$("#query-result thead"), el("tr", {}, answer.columns.map((c) => el("th", {}, c))));
      fill(
        this.$("#query-result tbody"),
        answer.rows.map((row) => el("tr", {}, row.map((value) => el("td", { class: value === null ? "null" : undefined }, value === null ? "NULL" : String(value))))),
      );
      const more = answer.totalRows - answer.rows.length;
      const behind = sources.filter((s) => s.behind > 0);
      const notes = [
        `${answer.totalRows} row(s) in ${answer.ms.toFixed(1)} ms`,
        more > 0 ? `showing the first ${answer.rows.length}, ${more} more` : "",
        whatIf ? "what-if: computed in a separate read model without the events left out" : "",
        behind.length
          ? `read from ${behind.map((s) => `${s.name}, which is ${s.behind} event(s) behind the log (at position ${s.checkpoint})`).join("; ")}: the answer may be stale`
          : "",
      ];
      showResult(status, "ok", notes.filter(Boolean).join("; ") + ".");
    } catch (error) {
      fill(this.$("#query-result thead"));
      fill(this.$("#query-result tbody"));
      showResult(status, "error", error.message);
    }
  }

  #history() {
    try {
      const history = JSON.parse(localStorage.getItem(this.session.historyKey()) ?? "[]");
      return Array.isArray(history) ? history.filter((q) => typeof q === "string") : [];
    } catch {
      return [];
    }
  }

  #remember(sql) {
    const history = [sql, ...this.#history().filter((q) => q !== sql)].slice(0, 15);
    try {
      localStorage.setItem(this.session.historyKey(), JSON.stringify(history));
    } catch {
      // A full or blocked localStorage only loses the history.
    }
    this.#renderHistory();
  }

  #renderHistory() {
    fill(
      this.$("#history"),
      this.#history().map((sql) => {
        const button = el("button", { type: "button", class: "link" }, sql);
        button.addEventListener("click", () => {
          this.$("#query-form").sql.value = sql;
        });
        return el("li", {}, button);
      }),
    );
  }
}

customElements.define("es-query", QueryPanel);
