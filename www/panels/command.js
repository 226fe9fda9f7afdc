// <es-command>: execute a command. The aggregate's rules decide; the events they decide on are
// appended, or the command is refused with the rule's message.
import { el, fillSelect, showResult } from "../view.js";
import { Panel } from "./panel.js";
import { aggregateForm, attachAggregateForm, parseJson, RETRY, showError, wireAggregateForm } from "./forms.js";

class CommandPanel extends Panel {
  template() {
    return [
      el(
        "section",
        { id: "command-panel", "aria-labelledby": "command-title" },
        el("h2", { id: "command-title" }, "Execute a command"),
        aggregateForm("command-form", {
          choice: ["command", "Command"],
          fields: el("label", {}, "Payload (JSON) ", el("textarea", { name: "payload", rows: 3 })),
          submit: "Execute",
        }),
        el("p", { id: "command-result", class: "result", role: "status", "data-testid": "command-result" }),
      ),
    ];
  }

  ready() {
    wireAggregateForm(this.$("#command-form"), "command", {
      refill: () => this.#fillCommands(),
      explain: () => this.#fillExample(),
      run: () => this.#execute(),
    });
  }

  attach() {
    attachAggregateForm(this, this.$("#command-form"), () => this.#fillCommands());
  }

  #aggregateType() {
    return this.session.sandbox?.aggregateType(this.$("#command-form").aggregateId.value.trim());
  }

  #fillCommands() {
    const type = this.#aggregateType();
    fillSelect(this.$("#command-form").command, type ? type.commands.map((c) => c.name) : []);
    this.#fillExample();
  }

  #fillExample() {
    const form = this.$("#command-form");
    const command = this.#aggregateType()?.commands.find((c) => c.name === form.command.value);
    form.payload.value = command ? JSON.stringify(command.example) : "{}";
    const shape = command?.payload ? ` Payload: ${command.payload}.` : "";
    form.querySelector("[name=help]").textContent = command ? `${command.description}${shape}` : "";
  }

  async #execute() {
    const form = this.$("#command-form");
    const result = this.$("#command-result");
    try {
      const payload = parseJson(form.payload.value || "{}", "Payload");
      const committed = await this.session.sandbox.execute(form.aggregateId.value.trim(), form.command.value, payload);
      showResult(result, "ok", describe(committed));
      this.session.appended(committed.aggregateId);
    } catch (error) {
      showError(result, error);
    }
  }
}

/** What a command stored, event by event. */
function describe(committed) {
  if (committed.alreadyStored) return RETRY;
  if (committed.events.length === 0) return "The command decided that nothing happens: no events.";
  const list = committed.events.map((e) => `${e.type} (version ${e.version}, position ${e.position})`).join(", ");
  return `Stored ${list}.`;
}

customElements.define("es-command", CommandPanel);
