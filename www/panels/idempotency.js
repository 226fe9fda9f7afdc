// <es-idempotency>: the idempotency lab. Every event has an id; sending an event again with an
// id already stored writes nothing and answers where it already is; the same id with other data
// is refused, naming the id. The lab acts on the event selected in the log.
import { compact, el, formatCount, showResult } from "../view.js";
import { Panel } from "./panel.js";
import { holdWhileReadOnly, showError } from "./forms.js";

class IdempotencyPanel extends Panel {
  template() {
    return [
      el(
        "section",
        { id: "idempotency-panel", "aria-labelledby": "idempotency-title" },
        el("h2", { id: "idempotency-title" }, "Lab: idempotency"),
        el(
          "p",
          { class: "muted" },
          "A writer that does not know whether its append arrived (a timeout, a crash, a flaky network) sends it again with the same event id. The store recognises the id and writes nothing, so a retry never duplicates a fact. The same id with other data is a mistake, and refused.",
        ),
        el("p", { id: "idempotency-selected", "data-testid": "idempotency-selected" }),
        el(
          "form",
          { id: "idempotency-form", class: "row" },
          el("button", { type: "button", "data-action": "resend", "data-testid": "resend" }, "Re-send it"),
          el("button", { type: "button", class: "secondary", "data-action": "other", "data-testid": "resend-other" }, "Re-send its id with other data"),
        ),
        el("p", { id: "idempotency-result", class: "result", role: "status", "data-testid": "idempotency-result" }),
      ),
    ];
  }

  ready() {
    this.$('[data-action="resend"]').addEventListener("click", () => this.#resend(false));
    this.$('[data-action="other"]').addEventListener("click", () => this.#resend(true));
  }

  attach() {
    holdWhileReadOnly(this, this.$("#idempotency-form"), { past: false });
    this.on("opened", () => showResult(this.$("#idempotency-result"), "", ""));
    this.follow(["selection", "cursor"], () => this.render());
  }

  /** The selected event, or the log's last one. */
  async #event() {
    const { sandbox, selected } = this.session;
    if (selected?.eventId) return selected;
    const head = await sandbox.headPosition();
    return (await sandbox.events({ fromPosition: head, limit: 1 }))[0];
  }

  async render() {
    const { sandbox } = this.session;
    if (!sandbox) return;
    const latest = this.begin();
    const event = await this.#event();
    if (!latest()) return;
    this.$("#idempotency-selected").textContent = event
      ? `The event: #${event.position}, ${event.type} of ${event.aggregateId} (version ${event.version}), id ${event.eventId}, data ${compact(event.data)}. Click a row of the log to choose another.`
      : "The log is empty.";
  }

  async #resend(otherData) {
    const { sandbox } = this.session;
    const result = this.$("#idempotency-result");
    try {
      const event = await this.#event();
      if (!event) throw new Error("The log is empty: there is nothing to re-send.");
      const data = otherData ? changed(event.data) : event.data;
      if (!data) throw new Error(`${event.type} has no number or text in its data to change: choose another event.`);
      const before = await sandbox.headPosition();
      const again = { type: event.type, data, eventId: event.eventId, schemaVersion: event.schemaVersion, timestamp: event.timestamp };
      const appended = await sandbox.append(event.aggregateId, [again]);
      const after = await sandbox.headPosition();
      showResult(
        result,
        "ok",
        appended.alreadyStored
          ? `alreadyStored: nothing was written. The event is where it was, at position ${appended.firstPosition} (version ${appended.firstVersion}); the log still ends at position ${formatCount(after)} (it was ${formatCount(before)}).`
          : `Stored anew at position ${appended.firstPosition}: the id was not in the store.`,
      );
      this.session.changed();
    } catch (error) {
      if (error.kind === "idempotency") {
        showResult(result, "rejected", `Refused: ${error.message} Nothing was written.`);
      } else {
        showError(result, error);
      }
    }
  }
}

/** The data with its first number raised by one (or its first text changed): still a valid shape. */
function changed(data) {
  const entry = Object.entries(data).find(([, v]) => typeof v === "number" || typeof v === "string");
  if (!entry) return undefined;
  const [key, value] = entry;
  return { ...data, [key]: typeof value === "number" ? value + 1 : `${value} (changed)` };
}

customElements.define("es-idempotency", IdempotencyPanel);
