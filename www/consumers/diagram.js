// The consumers lab's space-time diagram, hand-drawn SVG: the log's lane on top, one lane per
// consumer below, simulated time to the right. An arrow per message (deliveries down, acks,
// nacks and checkpoints up), drawn as far as it has travelled at the clock; ✕ where one was
// lost (or came to a cut link or a consumer that was down); duplicates dashed, redeliveries in
// their own colour, what the consumer did at the arrow's head. Clicking an arrow picks it.
import { el, svg } from "../view.js";

const LANE = 52;
const TOP = 18;
const LEFT = 92;
const AXIS = 26;

/** The mark drawn at a delivery's head for what the consumer did with it. */
const OUTCOME_MARK = { applied: "●", absorbed: "○", ignored: "·", failed: "!", crashed: "⚡" };

/** Which lane an arrow leaves from and goes to (0: the log; consumer i: lane i + 1). */
function lanesOf(arrow) {
  const consumer = arrow.consumer + 1;
  return arrow.kind === "deliver" || arrow.kind === "subscribed" ? [0, consumer] : [consumer, 0];
}

/** A tick spacing of 1, 2 or 5 × 10^n ms giving about `count` ticks over `span`. */
function tickStep(span, count) {
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
}

/** Simulated ms as people read them. */
export function formatSimTime(ms) {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

let diagrams = 0;

export class SpaceTime {
  /** The diagram's root: an <svg> sized to its box. */
  element = svg("svg", { class: "space-time", role: "img", "data-testid": "space-time" });
  /** Its plot area's clip (an id of its own: several diagrams may share a page). */
  #clip = `space-time-clip-${++diagrams}`;
  /** The arrow picked (its id), drawn highlighted. */
  picked;
  #onPick;

  constructor({ onPick }) {
    this.#onPick = onPick;
    this.element.addEventListener("click", (event) => {
      const target = event.target.closest?.("[data-arrow]");
      if (target) this.#onPick(Number(target.dataset.arrow));
    });
  }

  /**
   * Draws `arrows` (the lab's, overlapping the window) at simulated time `clock`, over the last
   * `windowMs`; `lanes`: each consumer's { name, running, cut }.
   */
  draw({ arrows, clock, windowMs, lanes }) {
    const width = Math.max(320, Math.round(this.element.clientWidth || 720));
    const height = TOP + LANE * lanes.length + AXIS + 8;
    const from = Math.max(0, clock - windowMs);
    const span = Math.max(1, clock - from, windowMs);
    const x = (t) => LEFT + ((t - from) / span) * (width - LEFT - 12);
    const y = (lane) => TOP + lane * LANE;
    this.element.setAttribute("viewBox", `0 0 ${width} ${height}`);
    this.element.setAttribute("height", height);
    this.element.setAttribute(
      "aria-label",
      `Space-time diagram at ${formatSimTime(clock)}: the log and ${lanes.length - 1} consumer(s), ${arrows.length} message(s) in view.`,
    );
    const parts = [];
    lanes.forEach((lane, index) => {
      const state = index === 0 ? "" : !lane.running ? " (down)" : lane.cut ? " (cut)" : "";
      parts.push(
        svg("line", { class: `st-lane${state ? " st-lane-off" : ""}`, x1: LEFT, x2: width - 12, y1: y(index), y2: y(index) }),
        svg("text", { class: "st-lane-name", x: 6, y: y(index) + 4 }, `${lane.name}${state}`),
      );
    });
    // Arrows that left before the window are cut at its edge, clear of the lanes' names.
    const clip = svg("clipPath", { id: this.#clip }, svg("rect", { x: LEFT, y: 0, width: width - LEFT, height }));
    const plot = svg("g", { "clip-path": `url(#${this.#clip})` });
    const labelled = arrows.length <= 40;
    for (const arrow of arrows) plot.append(this.#arrow(arrow, { clock, x, y, labelled }));
    parts.push(svg("defs", {}, clip), plot, this.#axis({ from, span, x, y: y(lanes.length - 1) + AXIS }));
    this.element.replaceChildren(...parts);
  }

  #arrow(arrow, { clock, x, y, labelled }) {
    const [fromLane, toLane] = lanesOf(arrow);
    const sent = arrow.sentAt;
    const arrives = Math.max(arrow.arrivesAt, sent);
    const end = Math.min(clock, arrives);
    const share = arrives > sent ? (end - sent) / (arrives - sent) : 1;
    const x1 = x(sent);
    const y1 = y(fromLane);
    const x2 = x(end);
    const y2 = y(fromLane) + (y(toLane) - y(fromLane)) * share;
    const landed = clock >= arrives;
    const lost = arrow.fate !== "arrived" && arrow.fate !== "inFlight";
    const classes = [
      "st-arrow",
      `st-${arrow.kind}`,
      arrow.duplicate ? "st-dup" : "",
      arrow.redelivery ? "st-redelivery" : "",
      lost ? "st-lost" : "",
      arrow.id === this.picked ? "st-picked" : "",
    ];
    const group = svg("g", { class: classes.filter(Boolean).join(" "), "data-arrow": arrow.id });
    group.append(
      svg("line", { class: "st-hit", x1, y1, x2, y2 }),
      svg("line", { class: "st-line", x1, y1, x2, y2 }),
      svg("title", {}, describeArrow(arrow)),
    );
    if (landed && lost) group.append(svg("text", { class: "st-cross", x: x2, y: y2 + 4, "text-anchor": "middle" }, "✕"));
    else if (landed && arrow.kind === "deliver" && arrow.outcome) {
      group.append(svg("text", { class: `st-outcome st-${arrow.outcome.outcome}`, x: x2, y: y2 + 14, "text-anchor": "middle" }, OUTCOME_MARK[arrow.outcome.outcome] ?? ""));
    } else if (!landed) group.append(svg("circle", { class: "st-head", cx: x2, cy: y2, r: 3 }));
    if (labelled && arrow.kind === "deliver") {
      const mark = `${arrow.position}${arrow.redelivery ? "↻" : ""}${arrow.duplicate ? "²" : ""}`;
      group.append(svg("text", { class: "st-label", x: x1 + 2, y: y1 + 12 }, mark));
    }
    return group;
  }

  #axis({ from, span, x, y }) {
    const axis = svg("g", { class: "st-axis" });
    const step = tickStep(span, 6);
    for (let t = Math.ceil(from / step) * step; t <= from + span; t += step) {
      axis.append(svg("line", { x1: x(t), x2: x(t), y1: y - 8, y2: y - 4 }), svg("text", { x: x(t), y: y + 8, "text-anchor": "middle" }, formatSimTime(t)));
    }
    return axis;
  }
}

const KIND_WORDS = {
  deliver: "delivery",
  ack: "ack",
  nack: "nack",
  subscribe: "subscription",
  checkpoint: "checkpoint",
  subscribed: "answer to a subscription",
};

const FATE_WORDS = {
  inFlight: "on its way",
  arrived: "arrived",
  lost: "lost by the link",
  partitioned: "lost: the link was cut",
  consumerDown: "lost: the consumer was down",
};

/** One arrow in words: what it carried, when, what became of it. */
export function describeArrow(arrow, name = String.fromCharCode(65 + arrow.consumer)) {
  const towards = arrow.kind === "deliver" || arrow.kind === "subscribed" ? `to consumer ${name}` : `from consumer ${name}`;
  const parts = [
    `${KIND_WORDS[arrow.kind] ?? arrow.kind} of position ${arrow.position} ${towards}`,
    `sent at ${formatSimTime(arrow.sentAt)}, ${arrow.fate === "inFlight" ? "due" : arrow.fate === "arrived" ? "arrived" : "due"} at ${formatSimTime(arrow.arrivesAt)}: ${FATE_WORDS[arrow.fate] ?? arrow.fate}`,
  ];
  if (arrow.duplicate) parts.push("a copy the link made");
  if (arrow.redelivery) parts.push(`a redelivery (sent ${arrow.attempt} time(s) before)`);
  const outcome = arrow.outcome;
  if (outcome) {
    const words = {
      applied: "applied: its effect was written",
      absorbed: "absorbed: the inbox already held its id, nothing was written",
      ignored: `ignored: ${outcome.why}`,
      failed: `failed: ${outcome.reason}`,
      crashed: `the consumer crashed (${outcome.point}${outcome.written ? ", after writing its effect" : ""})`,
    };
    parts.push(words[outcome.outcome] ?? outcome.outcome);
  }
  return parts.join("; ");
}

/** The diagram's legend. */
export function legend() {
  const item = (cls, mark, words) => el("li", {}, el("span", { class: `st-key ${cls}`, "aria-hidden": "true" }, mark), ` ${words}`);
  return el(
    "ul",
    { class: "st-legend" },
    item("st-deliver", "↘", "delivery"),
    item("st-ack", "↗", "ack, nack or checkpoint"),
    item("st-dup", "⇢", "duplicate (dashed)"),
    item("st-redelivery", "↻", "redelivery"),
    item("st-cross", "✕", "lost"),
    item("", "● ○ ! ⚡", "applied, absorbed by the inbox, failed, crashed"),
  );
}
