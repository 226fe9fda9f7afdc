// What the command and raw-append forms share: the aggregate they act on follows the selection,
// JSON fields are parsed with a clear message, and outcomes are shown as a person reads them.
import { showResult } from "../view.js";

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
    input.value = aggregate;
    then();
  });
}
