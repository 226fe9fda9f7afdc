// <es-append>: append a raw event, bypassing the command handlers, with an expected version for
// optimistic concurrency. The rules must still be able to apply it.
import { el, fillSelect, showResult } from "../view.js";
import { Panel } from "./panel.js";
import { aggregateForm, attachAggregateForm, parseExpected, parseJson, RETRY, showError, wireAggregateForm } from "./forms.js";

class AppendPanel extends Panel {
  template() {
    return [
      el(
        "section",
        { id: "append-panel", "aria-labelledby": "append-title" },
        el("h2", { id: "append-title" }, "Append a raw event"),
        aggregateForm("append-form", {
          choice: ["type", "Event type"],
          fields: [
            el("label", {}, "Data (JSON) ", el("textarea", { name: "data", rows: 3 }, "{}")),
            el("label", {}, "Expected version (any, noStream, exists or a number) ", el("input", { name: "expected", placeholder: "any" })),
          ],
          submit: "Append",
        }),
        el("p", { id: "append-result", class: "result", role: "status", "data-testid": "append-result" }),
      ),
    ];
  }

  ready() {
    wireAggregateForm(this.$("#append-form"), "type", {
      refill: () => this.#fillTypes(),
      explain: () => this.#showShape(),
      run: () => this.#append(),
    });
  }

  attach() {
    attachAggregateForm(this, this.$("#append-form"), () => this.#fillTypes());
  }

  #fillTypes() {
    const form = this.$("#append-form");
    const type = this.session.sandbox?.aggregateType(form.aggregateId.value.trim());
    fillSelect(form.type, type ? type.eventTypes.map((t) => t.name) : []);
    this.#showShape();
  }

  /** The declared shape of the chosen event type's data, at each schema version. */
  #showShape() {
    const form = this.$("#append-form");
    const type = this.session.sandbox?.aggregateType(form.aggregateId.value.trim());
    const event = type?.eventTypes.find((t) => t.name === form.type.value);
    form.querySelector("[name=help]").textContent = event?.shapes.length
      ? `Data: ${event.shapes.map((s) => (event.shapes.length > 1 ? `v${s.schemaVersion} ${s.shape}` : s.shape)).join("; ")}.`
      : "";
  }

  async #append() {
    const form = this.$("#append-form");
    const result = this.$("#append-result");
    try {
      const data = parseJson(form.data.value || "{}", "Data");
      const expected = parseExpected(form.expected.value);
      const appended = await this.session.sandbox.append(form.aggregateId.value.trim(), [{ type: form.type.value, data }], { expected });
      showResult(
        result,
        "ok",
        appended.alreadyStored ? RETRY : `Stored ${form.type.value} (version ${appended.lastVersion}, position ${appended.lastPosition}).`,
      );
      this.session.appended(appended.aggregateId);
    } catch (error) {
      showError(result, error);
    }
  }
}

customElements.define("es-append", AppendPanel);
