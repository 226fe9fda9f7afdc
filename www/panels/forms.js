// What the forms share (commands, raw appends, the labs): the aggregate they act on follows the
// selection, JSON fields and expected versions are parsed with a clear message, forms are held
// while commands cannot run, and outcomes are shown as a person reads them.
import { el, fillSelect, showResult } from "../view.js";

/** Parses a JSON text field, or says which field is not JSON. */
export function parseJson(text, field) {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw Object.assign(new Error(`${field} is not valid JSON: ${error.message}`), { kind: "badInput" });
  }
}

export const RETRY = "Already stored: nothing was written (an idempotent retry).";

/** Shows an error: a business rule's refusal, a conflict with its versions, or the message. */
export function showError(node, error) {
  if (error.kind === "businessRule") {
    showResult(node, "rejected", `Rejected: ${error.details?.message ?? error.message}. Nothing was stored.`);
  } else if (error.kind === "conflict") {
    const { expected, actual } = error.details;
    showResult(node, "conflict", `Conflict: expected version ${expected}, actual version ${actual}. Nothing was stored.`);
  } else {
    showResult(node, "error", error.message);
  }
}

/**
 * Keeps a form's aggregate id on the session's selection: when the selection moves, the field
 * follows (and `then` refills what depends on it); what a person typed stays until then.
 */
export function followSelection(panel, input, then) {
  let shown;
  panel.on("changed", () => {
    const { aggregate } = panel.session;
    if (aggregate === shown) return;
    shown = aggregate;
    showUnlessTyping(input, aggregate);
    then();
  });
}

/**
 * Shows `value` in a field unless someone is typing there (it has focus): a value that arrives
 * mid-typing (a store opening, a selection followed) would otherwise mix with what they type.
 */
export function showUnlessTyping(input, value) {
  if (!input.matches(":focus")) input.value = value;
}

/**
 * Disables a form's controls while commands cannot run (a what-if or the past is shown, or no
 * store is open), saying why in a note placed before the form. `{ past: false }`: the form's
 * writes do not depend on the time-travel cursor, so it stays usable in the past.
 */
export function holdWhileReadOnly(panel, form, { past = true } = {}) {
  const note = el("p", { class: "held", role: "status", hidden: "" });
  form.before(note);
  const update = () => {
    const reason = panel.session.blockedReason({ past });
    for (const control of form.elements) control.disabled = Boolean(reason);
    note.hidden = !reason;
    note.textContent = reason ?? "";
  };
  update();
  for (const type of ["changed", "opened", "failed", "opening"]) panel.on(type, update);
}

/**
 * The form of a panel that acts on an aggregate (a command, a raw append): its aggregate id, the
 * choice of what to run (`choice`: the select's name and label), a help line, `fields`, and the
 * submit button's text.
 */
export function aggregateForm(id, { choice: [name, label], fields, submit }) {
  return el(
    "form",
    { id },
    el("label", {}, "Aggregate id ", el("input", { name: "aggregateId", required: "" })),
    el("label", {}, `${label} `, el("select", { name })),
    el("p", { name: "help", class: "muted" }),
    fields,
    el("button", { type: "submit" }, submit),
  );
}

/**
 * Wires such a form once built: a typed aggregate id refills the choice (`refill`), a new choice
 * its help (`explain`), submitting runs `run`.
 */
export function wireAggregateForm(form, choice, { refill, explain, run }) {
  form.aggregateId.addEventListener("input", refill);
  form[choice].addEventListener("change", explain);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
}

/** Attaches such a form to its panel's session: the aggregate id follows the selection, and
 * the form is held while commands cannot run. */
export function attachAggregateForm(panel, form, refill) {
  followSelection(panel, form.aggregateId, refill);
  holdWhileReadOnly(panel, form);
}

/**
 * Reads an expected version as typed: empty or "any", "noStream", "exists", or a version in
 * digits only (no "1e3", no "0x10").
 */
export function parseExpected(text) {
  const typed = text.trim();
  if (typed === "" || typed === "any") return "any";
  if (typed === "noStream" || typed === "exists") return typed;
  if (/^\d+$/.test(typed) && Number.isSafeInteger(Number(typed))) return Number(typed);
  throw Object.assign(new Error(`Expected version must be any, noStream, exists or a version in digits, not ${JSON.stringify(typed)}.`), { kind: "badInput" });
}

/**
 * Fills a two-tab lab's command choice with the selected aggregate's commands (a deduction
 * first, where there is one: the labs' story) and, when `example`, its payload with an example
 * (30 for a deduction).
 */
export function fillLabCommand(session, lab, { commands = true, example = true } = {}) {
  const type = session.sandbox?.aggregateType(session.aggregate);
  if (commands) {
    const deduct = type?.commands.some((c) => c.name === "Deduct") ? "Deduct" : undefined;
    fillSelect(lab.command, type ? type.commands.map((c) => c.name) : [], deduct);
  }
  if (!example) return;
  const command = type?.commands.find((c) => c.name === lab.command.value);
  lab.payload.value = command ? JSON.stringify(command.name === "Deduct" ? { amount: 30 } : command.example) : "{}";
}
