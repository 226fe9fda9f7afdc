// <es-schema>: the schema evolution lab. An old event exactly as stored beside the form the rules
// read it in, with the upcasters in between; a new upcaster written in the rules editor changes
// every read while the stored bytes stay the same.
import { el, fill } from "../view.js";
import { Panel } from "./panel.js";

class SchemaPanel extends Panel {
  template() {
    return [
      el(
        "section",
        { id: "schema-panel", "aria-labelledby": "schema-title" },
        el("h2", { id: "schema-title" }, "Lab: schema evolution"),
        el(
          "p",
          { class: "muted" },
          "Events are stored as they were written, forever. When an event type's shape changes, its schema version goes up and an upcaster turns the old form into the new one as it is read. The stored bytes never change.",
        ),
        el("p", { id: "schema-event", "data-testid": "schema-event" }),
        el(
          "div",
          { class: "side-by-side" },
          el("div", {}, el("h3", {}, "As stored"), el("pre", { id: "schema-stored", "data-testid": "schema-stored" })),
          el("div", {}, el("h3", {}, "As the rules read it"), el("pre", { id: "schema-upcast", "data-testid": "schema-upcast" })),
        ),
        el("h3", {}, "Upcasters on its way"),
        el("div", { id: "schema-upcasters", "data-testid": "schema-upcasters" }),
        el(
          "p",
          { class: "actions" },
          el("button", { type: "button", "data-action": "add", "data-testid": "schema-add-upcaster" }, "Write the next upcaster in the rules editor"),
          el("button", { type: "button", class: "secondary", "data-action": "users", hidden: "" }, "Open the users scenario (it has an upcaster)"),
        ),
      ),
    ];
  }

  ready() {
    this.$('[data-action="add"]').addEventListener("click", () => {
      const type = this.dataset.eventType;
      this.dispatchEvent(new CustomEvent("es-add-upcaster", { bubbles: true, detail: { eventType: type } }));
    });
    this.$('[data-action="users"]').addEventListener("click", () => {
      this.dispatchEvent(new CustomEvent("es-switch-scenario", { bubbles: true, detail: { scenario: "users" } }));
    });
  }

  attach() {
    this.follow(["selection"], () => this.render());
  }

  /** The event to show: the selected one, else the oldest whose type has upcasters, else the first. */
  async #event() {
    const { sandbox, selected, info } = this.session;
    if (selected?.eventId) return selected;
    const types = info.upcasters.map((u) => u.eventType);
    const events = types.length ? await sandbox.events({ fromPosition: 1, eventTypes: types, limit: 1 }) : [];
    return events[0] ?? (await sandbox.events({ fromPosition: 1, limit: 1 }))[0];
  }

  async render() {
    const { sandbox, info } = this.session;
    if (!sandbox) return;
    const latest = this.begin();
    const event = await this.#event();
    const view = event ? await sandbox.upcastView(event.eventId) : undefined;
    if (!latest()) return;
    this.$('[data-action="users"]').hidden = info.upcasters.length > 0 || !this.session.store || info.name === "users";
    if (!view) {
      this.$("#schema-event").textContent = "The log is empty.";
      return;
    }
    const { stored, upcast, error, upcasters } = view;
    this.dataset.eventType = stored.type;
    this.$("#schema-event").textContent =
      `Event #${stored.position}, ${stored.type} of ${stored.aggregateId}: stored at schema version ${stored.schemaVersion}` +
      (upcast ? `, read at version ${upcast.schemaVersion}.` : ".") +
      " Click a row of the log to choose another.";
    this.$("#schema-stored").textContent = JSON.stringify({ type: stored.type, schemaVersion: stored.schemaVersion, data: stored.data }, null, 2);
    this.$("#schema-upcast").textContent = upcast
      ? JSON.stringify({ type: upcast.type, schemaVersion: upcast.schemaVersion, data: upcast.data }, null, 2)
      : `It cannot be read: ${error}`;
    fill(
      this.$("#schema-upcasters"),
      upcasters.length
        ? upcasters.map((u) =>
            el(
              "div",
              { class: "upcaster" },
              el("p", {}, el("b", {}, `${u.eventType} v${u.fromVersion} → v${u.fromVersion + 1}`), u.description ? `: ${u.description}` : ""),
              el("pre", {}, Array.isArray(u.script) ? u.script.join("\n") : u.script),
            ),
          )
        : el("p", { class: "muted" }, `None: ${stored.type} v${stored.schemaVersion} is read as stored.`),
    );
  }
}

customElements.define("es-schema", SchemaPanel);
