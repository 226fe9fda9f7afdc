// <es-query>: one read-only SQL statement against the read model (real SQLite), run in a worker
// so the page stays live. The answer says which projections it read and whether those are
// behind the log; with events left out, it comes from a what-if read model.
import { el, fill, formatCount, showResult } from "../view.js";
import { queryInWorker } from "../query-runner.js";
import { Panel, touches } from "./panel.js";

const QUERY_LIMITS = { maxRows: 200, timeLimitMs: 2000 };

class QueryPanel extends Panel {
  template() {
    return [
      el(
        "section",
        { id: "query-panel", "aria-labelledby": "query-title" },
        el("h2", { id: "query-title" }, "Query the read model"),
        el("p", { class: "muted" }, "One read-only SQL statement (SQLite; PRAGMA table_info(name) describes a table). Ctrl+Enter runs it. Try:"),
        el("p", { id: "suggested", class: "suggested" }),
        el(
          "label",
          { id: "query-target-label", class: "inline", hidden: "" },
          "Ask ",
          el("select", { id: "query-target", "data-testid": "query-target" }),
        ),
        el(
          "form",
          { id: "query-form" },
          el("textarea", { name: "sql", rows: 3, spellcheck: "false", "data-testid": "sql", "aria-label": "SQL" }),
          el("button", { type: "submit", title: "Ctrl+Enter" }, "Run"),
        ),
        el("p", { id: "query-status", class: "result", role: "status", "data-testid": "query-status" }),
        el("div", { class: "scroll" }, el("table", { id: "query-result", "data-testid": "query-result" }, el("thead"), el("tbody"))),
        el("details", {}, el("summary", {}, "History"), el("ol", { id: "history", "data-testid": "history" })),
      ),
    ];
  }

  ready() {
    const form = this.$("#query-form");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.run(form.sql.value);
    });
    form.sql.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.run(form.sql.value);
      }
    });
  }

  /** The statement last run, and a timer to run it again when the cursor or the what-if moves. */
  #lastSql;
  #again;

  /** Offers the consumers lab's read models as well as the page's, while a run exists. */
  #targets() {
    const lab = this.session.lab;
    const select = this.$("#query-target");
    const keep = select.value;
    fill(
      select,
      el("option", { value: "" }, "the page's read model"),
      (lab?.names ?? []).map((name, i) => el("option", { value: String(i) }, `consumer ${name}'s read model (consumers lab)`)),
    );
    select.value = [...select.options].some((o) => o.value === keep) ? keep : "";
    this.$("#query-target-label").hidden = !lab;
  }

  attach(session) {
    this.on("lab", () => this.#targets());
    this.on("opening", () => {
      this.begin();
      this.#lastSql = undefined;
    });
    // The answer follows the time-travel cursor and the what-if, once the slider rests.
    this.on("changed", ({ detail }) => {
      if (!touches(detail, ["cursor", "whatIf"]) || this.#lastSql === undefined) return;
      clearTimeout(this.#again);
      this.#again = setTimeout(() => this.run(this.#lastSql), 250);
    });
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
    const { sandbox, excluded, cursor } = this.session;
    if (!sandbox) return;
    const latest = this.begin();
    this.#lastSql = sql;
    this.#remember(sql);
    const status = this.$("#query-status");
    const target = this.$("#query-target").value;
    if (target !== "" && this.session.lab) return this.#askConsumer(Number(target), sql, latest);
    const exclude = [...excluded];
    const hypothetical = exclude.length > 0 || cursor !== undefined;
    try {
      delete status.dataset.kind;
      status.textContent = cursor !== undefined ? `Computing the read model as of position ${cursor} from the log, then running…` : "Running…";
      const copyOptions = { exclude, ...(cursor !== undefined ? { asOf: cursor } : {}) };
      const answer = await runQuery(sandbox, sql, copyOptions, hypothetical);
      const sources = hypothetical ? [] : await sandbox.sources(answer.tables);
      // A scenario switched (or a newer query started) meanwhile: this answer is not for this panel.
      if (!latest() || this.session.sandbox !== sandbox) return;
      this.#show(answer);
      const more = answer.totalRows - answer.rows.length;
      const notes = [
        `${answer.totalRows} row(s) in ${answer.ms.toFixed(1)} ms`,
        more > 0 ? `showing the first ${answer.rows.length}, ${more} more${answer.sizeCapped ? " (the answer reached its 32 MB size cap)" : ""}` : "",
        cursor !== undefined ? `as of position ${cursor}: computed from the log up to it in a separate read model` : "",
        exclude.length ? "what-if: computed in a separate read model without the events left out" : "",
        hypothetical ? "" : freshness(sources),
      ];
      showResult(status, "ok", notes.filter(Boolean).join("; ") + ".");
    } catch (error) {
      if (!latest() || this.session.sandbox !== sandbox) return;
      fill(this.$("#query-result thead"));
      fill(this.$("#query-result tbody"));
      showResult(status, "error", error.message);
    }
  }

  /** Runs the statement on a consumer's read model, in its worker, and says which one answered. */
  async #askConsumer(consumer, sql, latest) {
    const lab = this.session.lab;
    const status = this.$("#query-status");
    const name = lab.names[consumer];
    try {
      delete status.dataset.kind;
      status.textContent = `Asking consumer ${name}…`;
      const answer = await lab.runner.query(consumer, sql, QUERY_LIMITS);
      if (!latest()) return;
      if (!answer) throw new Error(`Consumer ${name} is down (its worker is restarting): ask again when it is back.`);
      this.#show(answer);
      const c = lab.runner.lab.status().consumers[consumer];
      const notes = [
        `Consumer ${name}'s read model answered (in its worker, ${lab.runner.storage[consumer] ?? "its own database"})`,
        `${answer.totalRows} row(s) in ${answer.ms.toFixed(1)} ms`,
        `its subscription has handled the log up to position ${c.checkpoint} of ${lab.runner.lab.status().head}${c.behind ? `: ${c.behind} behind, the answer may be stale` : ""}`,
        this.session.cursor !== undefined || this.session.excluded.size ? "time travel and what-if apply to the page's read model only" : "",
      ];
      showResult(status, "ok", notes.filter(Boolean).join("; ") + ".");
    } catch (error) {
      if (!latest()) return;
      fill(this.$("#query-result thead"));
      fill(this.$("#query-result tbody"));
      showResult(status, "error", error.message);
    }
  }

  /** Shows an answer's columns and rows. */
  #show(answer) {
    fill(this.$("#query-result thead"), el("tr", {}, answer.columns.map((c) => el("th", { scope: "col" }, c))));
    fill(
      this.$("#query-result tbody"),
      answer.rows.map((row) => el("tr", {}, row.map((value) => cell(value)))),
    );
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

/** Longest cell text shown before "show all". */
const LONG_CELL = 200;

/** A result cell: NULL marked, long text cut with a button that shows all of it. */
function cell(value) {
  if (value === null) return el("td", { class: "null" }, "NULL");
  const text = String(value);
  if (text.length <= LONG_CELL) return el("td", {}, text);
  const td = el("td", { class: "long" }, text.slice(0, LONG_CELL), "… ");
  const more = el("button", { type: "button", class: "link" }, `show all ${formatCount(text.length)} characters`);
  more.addEventListener("click", () => fill(td, el("div", { class: "all" }, text)));
  td.append(more);
  return td;
}

/** Which projections an answer read, and whether each had caught up with the log. */
function freshness(sources) {
  if (sources.length === 0) return "read no projection's tables";
  const parts = sources.map((s) =>
    s.behind > 0 ? `${s.name}, ${s.behind} event(s) behind the log (at position ${s.checkpoint})` : `${s.name} (current, at position ${s.checkpoint})`,
  );
  const stale = sources.some((s) => s.behind > 0);
  return `read ${parts.join(" and ")}${stale ? ": the answer may be stale" : ""}`;
}

const numbers = new WeakMap();
let numbered = 0;
/**
 * A number per sandbox: generations count per sandbox, so another store's read model (opened
 * after an import or a switch) at the same generation is another read model.
 */
function sandboxNumber(sandbox) {
  if (!numbers.has(sandbox)) numbers.set(sandbox, ++numbered);
  return numbers.get(sandbox);
}

/**
 * Runs a query in the worker on the real read model (sent only when it changed), or on a
 * what-if or past copy (always sent, never kept).
 */
export function runQuery(sandbox, sql, copyOptions, hypothetical) {
  return queryInWorker({
    sql,
    options: QUERY_LIMITS,
    generation: hypothetical ? undefined : `${sandboxNumber(sandbox)}/${sandbox.readModelGeneration()}`,
    copy: () => sandbox.readModelCopy(hypothetical ? copyOptions : {}),
  });
}

customElements.define("es-query", QueryPanel);
