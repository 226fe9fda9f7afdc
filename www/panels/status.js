// <es-status>: what is open and where its events live, and news from other tabs.
import { el, formatCount } from "../view.js";
import { Panel } from "./panel.js";

class StatusPanel extends Panel {
  template() {
    return [
      el("p", { id: "scenario-description", class: "muted" }),
      el("p", { id: "status", role: "status", class: "muted", "data-testid": "status" }, "Loading…"),
      el("p", { id: "live", role: "status", class: "muted", "data-testid": "live" }),
      el("p", { id: "notice", role: "alert", class: "notice", hidden: "", "data-testid": "notice" }),
      el(
        "p",
        { id: "slow", role: "alert", class: "notice", hidden: "", "data-testid": "slow" },
        el("span", { id: "slow-text" }),
        " ",
        el("button", { id: "slow-stop", type: "button", class: "danger", "data-testid": "slow-stop" }, "Stop"),
      ),
    ];
  }

  attach(session) {
    const status = this.$("#status");
    this.on("opening", ({ detail }) => {
      status.textContent = `Opening ${detail.scenario}…`;
      this.$("#live").textContent = "";
    });
    this.on("failed", ({ detail: error }) => {
      status.textContent = `Could not open ${session.scenario}: ${error.message}`;
    });
    this.on("opened", () => {
      const { info, where } = session;
      this.$("#scenario-description").textContent = info.description;
      const shared = where.storage !== "memory" ? " Other tabs on this store see its events live." : "";
      const own = session.ownRules ? " It was opened with the rules recorded with this store." : "";
      status.textContent = `${info.title || info.name}: events are stored in ${where.location}; ${where.durable.summary}.${shared}${own}`;
    });
    this.on("notice", ({ detail: message }) => {
      this.$("#notice").textContent = message;
      this.$("#notice").hidden = !message;
    });
    // Slow rules (a stranger's link, say): the page keeps breathing; say which rule, offer to stop.
    let quiet;
    this.on("slow", ({ detail: slow }) => {
      const each = (slow.functionMs / Math.max(1, slow.calls)).toFixed(1);
      this.$("#slow-text").textContent = `The rules are slow: ${slow.function} (${slow.script}) has run ${formatCount(Math.round(slow.functionMs))} ms over ${formatCount(slow.calls)} calls, ${each} ms each. The page stays usable meanwhile.`;
      this.$("#slow").hidden = false;
      clearTimeout(quiet);
      quiet = setTimeout(() => (this.$("#slow").hidden = true), 1500);
    });
    this.$("#slow-stop").addEventListener("click", () => {
      session.stopSlowWork();
      this.$("#slow").hidden = true;
    });
    this.on("remote", ({ detail }) => {
      this.$("#live").textContent = detail.error
        ? `Reading another tab's events failed: ${detail.error.message}`
        : `${detail.count} new event(s) from another tab, up to position ${detail.last}.`;
    });
  }
}

customElements.define("es-status", StatusPanel);
