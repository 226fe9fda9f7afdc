// What the consumers lab shows besides its diagram, drawn from what the module says: the table of
// consumers (progress, counts, and the crash and cut controls), the verdicts beside the log's
// truth, the parked drawer, and the last messages in words. Text only (event data is user input).
import { button, el, fill } from "../view.js";
import { describeArrow } from "./diagram.js";

const CRASH_POINTS = [
  ["beforeHandling", "before handling"],
  ["afterWrite", "after its write, before the ack"],
  ["afterAck", "after the ack"],
];

/** The parked list of a consumer's group (every consumer's, when they compete). */
export function parkedOf(status, consumer) {
  return (status.group ?? status.consumers[consumer]?.group)?.parked ?? [];
}

/** Every parked message of the run, once each (a competing group's are shared). */
export function allParked(status) {
  if (status.group) return status.group.parked.map((p) => ({ ...p, consumers: "all" }));
  return status.consumers.flatMap((c) => (c.group?.parked ?? []).map((p) => ({ ...p, consumers: c.name })));
}

/** The counts the table shows, by column: each from a consumer's status. */
const COUNTS = ["checkpoint", "behind", "inFlight", "delivered", "applied", "redelivered", "absorbed", "failed", "parked", "crashes", "lost", "duplicated"];

/**
 * The consumers' table: one row per consumer with its counts and its actions (`act(action)`):
 * crash at a point of its next delivery, cut or mend its link. Rows are built once per run and
 * their cells updated in place, so that a control being used is never replaced under the pointer.
 */
export class ConsumerTable {
  #tbody;
  #act;
  #rows = [];

  constructor(tbody, act) {
    this.#tbody = tbody;
    this.#act = act;
  }

  /** Draws the status (and the verdicts, when known); `storage[i]`: where consumer i's read model lives. */
  update(status, verdicts, storage) {
    if (this.#rows.length !== status.consumers.length) this.#build(status);
    status.consumers.forEach((c, i) => {
      const row = this.#rows[i];
      const node = row.querySelector("[data-col=node] .state-badge");
      node.dataset.state = c.running ? "running" : "crashed";
      node.textContent = c.running ? "running" : "down";
      row.querySelector("[data-col=node] .muted").textContent = storage[i] ? ` ${storage[i]}` : "";
      const values = { ...c, parked: parkedOf(status, i).length };
      for (const col of COUNTS) row.querySelector(`[data-col=${col}]`).textContent = String(values[col]);
      const verdict = verdicts?.consumers.find((v) => v.consumer === c.consumer);
      const cell = row.querySelector("[data-col=verdict] .verdict");
      cell.dataset.verdict = verdict?.verdict ?? "";
      cell.textContent = verdict ? verdictWord(verdict) : "…";
      const cut = row.querySelector("[data-cut]");
      if (document.activeElement !== cut) cut.checked = c.cut;
    });
  }

  /** Empties the table (no run). */
  clear() {
    this.#rows = [];
    fill(this.#tbody);
  }

  #build(status) {
    this.#rows = status.consumers.map((c) => {
      const point = el("select", { "aria-label": `Where consumer ${c.name} crashes`, "data-testid": `lab-crash-point-${c.name}` }, CRASH_POINTS.map(([value, label]) => el("option", { value }, label)));
      const crash = button("Crash", () => this.#act({ action: "crash", consumer: c.consumer, point: point.value }), { class: "secondary", "data-testid": `lab-crash-${c.name}` });
      const cut = el("input", { type: "checkbox", "data-cut": "", "aria-label": `Cut consumer ${c.name}'s link`, "data-testid": `lab-cut-${c.name}` });
      cut.addEventListener("change", () => this.#act({ action: "partition", consumer: c.consumer, cut: cut.checked }));
      return el(
        "tr",
        { "data-consumer": c.name },
        el("th", { scope: "row" }, c.name),
        el("td", { "data-col": "node" }, el("span", { class: "state-badge" }), el("span", { class: "muted" })),
        COUNTS.map((col) => el("td", { "data-col": col })),
        el("td", { "data-col": "verdict" }, el("span", { class: "verdict" })),
        el("td", { class: "lab-row-actions" }, el("label", { class: "inline" }, cut, " cut link"), " ", point, " ", crash),
      );
    });
    fill(this.#tbody, this.#rows);
  }
}

/** The table's column headings, in order. */
export const CONSUMER_COLUMNS = ["Consumer", "Node", "Checkpoint", "Behind", "In flight", "Delivered", "Applied", "Redelivered", "Absorbed", "Failed", "Parked", "Crashes", "Lost", "Duplicated", "Verdict", ""];

/** A verdict's short form for the table. */
function verdictWord(v) {
  switch (v.verdict) {
    case "diverged":
      return v.position ? `diverged at ${v.position}` : "diverged";
    case "catchingUp":
      return `catching up (${v.behind})`;
    case "waiting":
      return `${v.parked} parked`;
    default:
      return v.verdict === "unanswered" ? "no answer" : v.verdict;
  }
}

/** The log's truth and each verdict in words. */
export function verdictItems(verdicts) {
  const items = verdicts.consumers.map((v) => el("li", { "data-consumer": v.name, "data-verdict": v.verdict }, el("strong", {}, `${verdictWord(v)}: `), v.says));
  if (verdicts.together) {
    const v = verdicts.together;
    items.push(el("li", { "data-consumer": "together", "data-verdict": v.verdict }, el("strong", {}, `together, ${verdictWord(v)}: `), v.says));
  }
  return items;
}

/** The log's answer in one line: its rows (the first few) and what the reference left out. */
export function truthLine(truth) {
  const shown = truth.rows.slice(0, 6).map((row) => row.map((v) => (v === null ? "NULL" : String(v))).join(" · "));
  const more = truth.totalRows > shown.length ? `, and ${truth.totalRows - shown.length} more` : "";
  const failed = truth.failed.length
    ? ` The projections fail on position(s) ${truth.failed.map((f) => f.position).join(", ")} even here (${truth.failed[0].reason}): the fault is the projection's, not the network's.`
    : "";
  return `The log says (${truth.totalRows} row(s)): ${shown.join("; ") || "no rows"}${more}.${failed}`;
}

/** The parked drawer's rows. */
export function parkedRows(parked) {
  return parked.map((p) =>
    el(
      "tr",
      { "data-position": p.position },
      el("td", {}, String(p.number)),
      el("td", {}, String(p.position)),
      el("td", {}, p.aggregateId),
      el("td", {}, p.eventType),
      el("td", {}, String(p.attempts)),
      el("td", {}, p.consumers),
      el("td", { class: "reason" }, p.reason),
    ),
  );
}

/** The last messages, newest first, in words (what the diagram draws, for reading). */
export function traceItems(arrows, count = 20) {
  return arrows
    .slice(-count)
    .reverse()
    .map((a) => el("li", { "data-arrow": a.id }, describeArrow(a)));
}
