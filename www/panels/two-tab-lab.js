// What the two-tab labs (CRUD's lost update, the event store's conflict) share: their steps,
// starting with a button that opens the page on the same store in a second tab; their form (a
// first action, a command and its payload, the run button); and its wiring. From an embed, the
// second tab is the full page next to the embed's modules.
import { el, showResult } from "../view.js";
import { fillLabCommand, holdWhileReadOnly } from "./forms.js";

/** Opens the session's store in a new tab of the page, at the section with this id. */
export function openSecondTab(session, sectionId) {
  const url = session.namespace === "page" ? new URL(location.href) : new URL("../index.html", import.meta.url);
  url.search = new URLSearchParams({ scenario: session.scenario, storage: session.store.storage, name: session.store.name }).toString();
  url.hash = sectionId;
  window.open(url.href, "_blank", "noopener");
}

/** A lab's steps: open a second tab (a button), then each of `steps`. */
export function labSteps(...steps) {
  return el(
    "ol",
    { class: "lab-steps" },
    el("li", {}, "Open this page in a second tab: ", el("button", { type: "button", class: "secondary", "data-action": "second-tab" }, "Open a second tab")),
    steps.map((step) => el("li", {}, step)),
  );
}

/**
 * A lab's form: the first action's button (`first`: [action, test id, text]), the command and
 * its payload, the run button (`run`: [test id, text]), then `extra` controls.
 */
export function labForm(id, { first: [action, firstId, firstText], run: [runId, runText], extra = [] }) {
  return el(
    "form",
    { id, class: "row" },
    el("button", { type: "button", "data-action": action, "data-testid": firstId }, firstText),
    el("label", { class: "inline" }, "Command ", el("select", { name: "command" })),
    el("label", { class: "inline" }, "Payload ", el("input", { name: "payload", size: 18 })),
    el("button", { type: "submit", "data-testid": runId }, runText),
    extra,
  );
}

/**
 * Wires a lab once its panel is built: the second-tab button opens the panel's section, a new
 * command fills in its example payload, submitting runs `run`.
 */
export function wireLab(panel, lab, { section, run }) {
  panel.$('[data-action="second-tab"]').addEventListener("click", () => openSecondTab(panel.session, section));
  lab.command.addEventListener("change", () => fillLabCommand(panel.session, lab, { commands: false }));
  lab.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
}

/**
 * Attaches a lab to its panel's session: held while commands cannot run; when a store opens,
 * `forget` drops what the lab had loaded and its result is cleared.
 */
export function attachLab(panel, lab, result, forget) {
  holdWhileReadOnly(panel, lab);
  panel.on("opened", () => {
    forget();
    showResult(result, "", "");
  });
}
