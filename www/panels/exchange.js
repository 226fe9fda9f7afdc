// <es-exchange>: the log out of and into the sandbox. Export it as NDJSON (the sandbox's own
// format), KurrentDB append bodies or CloudEvents; import such a file into a new store (all of
// it or nothing, every problem named by line or path); copy a link that carries the scenario and
// its log; cut a given/when/then fixture from an aggregate's versions.
import { button, download, el, fill, formatCount, showResult } from "../view.js";
import { Panel, touches } from "./panel.js";

const FORMATS = [
  ["ndjson", "NDJSON (es-sandbox)", "ndjson"],
  ["kurrent", "KurrentDB / EventStoreDB", "kurrent.json"],
  ["cloudEvents", "CloudEvents (JSON batch)", "cloudevents.json"],
];

/**
 * The page's address with a share link's data in its fragment: this page's own (the query
 * dropped) on the page, the full page next to the modules from an embed (another namespace).
 */
export function shareUrl(data, namespace) {
  const url = namespace === "page" ? new URL(location.href) : new URL("../index.html", import.meta.url);
  url.search = "";
  url.hash = `share=${data}`;
  return url.href;
}

/** A short, stable name for a link's store: the same link opens the same store. */
export function linkStoreName(data) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) hash = Math.imul(hash ^ data.charCodeAt(i), 0x01000193);
  return `link-${(hash >>> 0).toString(36)}`;
}

class ExchangePanel extends Panel {
  /** Whether the address bar follows the log (after "Copy link", or opened from a link). */
  sharing = false;
  #shareTimer;

  template() {
    const formats = (id) =>
      el("select", { id, "data-testid": id }, FORMATS.map(([value, label]) => el("option", { value }, label)));
    return [
      el(
        "section",
        { id: "exchange-panel", "aria-labelledby": "exchange-title" },
        el("h2", { id: "exchange-title" }, "Import, export, share"),
        el("h3", {}, "Export the log"),
        el(
          "p",
          { class: "row" },
          el("label", {}, "Format ", formats("export-format")),
          button("Download", () => this.#export(), { id: "export-events", "data-testid": "export-events" }),
        ),
        el(
          "p",
          { class: "muted" },
          "NDJSON keeps everything exactly. KurrentDB's shape is the body of POST /streams/{aggregate id} (metadata carries timestamp, schema version, version and position); CloudEvents puts the aggregate id in subject.",
        ),
        el("h3", {}, "Import into a new store"),
        el(
          "p",
          { class: "row" },
          el(
            "label",
            {},
            "Format ",
            el("select", { id: "import-format", "data-testid": "import-format" }, el("option", { value: "auto" }, "from the file"), FORMATS.map(([value, label]) => el("option", { value }, label))),
          ),
          el("label", {}, "File ", el("input", { id: "import-file", type: "file", accept: ".ndjson,.json,.jsonl,application/json", "data-testid": "import-file" })),
        ),
        el("p", { id: "import-result", class: "result", role: "status", "data-testid": "import-result" }),
        el("ul", { id: "import-problems", class: "problems", "data-testid": "import-problems" }),
        el("h3", {}, "Share"),
        el(
          "p",
          { class: "row" },
          button("Copy link", () => this.#share(), { id: "share", "data-testid": "share" }),
          el("input", { id: "share-link", readonly: "", hidden: "", "aria-label": "Share link", "data-testid": "share-link" }),
        ),
        el("p", { id: "share-result", class: "result", role: "status", "data-testid": "share-result" }),
        el("h3", {}, "Given/when/then fixture"),
        el(
          "p",
          { class: "row" },
          el("label", {}, "Versions ", el("input", { id: "fixture-from", type: "number", min: "1", value: "1", class: "narrow", "data-testid": "fixture-from" })),
          el("label", {}, "to ", el("input", { id: "fixture-to", type: "number", min: "1", value: "1", class: "narrow", "data-testid": "fixture-to" })),
          button("Make fixture", () => this.#fixture(), { id: "fixture", "data-testid": "fixture" }),
          button("Download it", () => this.#downloadFixture(), { id: "fixture-download", class: "secondary", hidden: "", "data-testid": "fixture-download" }),
        ),
        el("p", { id: "fixture-result", class: "result", role: "status", "data-testid": "fixture-result" }),
        el("pre", { id: "fixture-text", class: "code", hidden: "", "data-testid": "fixture-text" }),
      ),
    ];
  }

  ready() {
    this.$("#import-file").addEventListener("change", () => this.#import());
  }

  attach(session) {
    // The fixture's range follows the selection when the panel is in view (as panels render).
    this.follow(["selection"], () => this.#defaults());
    this.on("changed", ({ detail }) => {
      if (touches(detail, ["log"]) && this.sharing) this.#followLog();
    });
    this.on("opened", () => {
      if (session.sandbox) this.#defaults();
    });
  }

  /** The fixture's range: the selected event's version, else the aggregate's whole stream. */
  async #defaults() {
    const { sandbox, aggregate, selected } = this.session;
    if (!sandbox || !aggregate) return;
    const streams = await sandbox.streams();
    const head = streams.find((s) => s.aggregateId === aggregate)?.version ?? 1;
    const to = selected?.aggregateId === aggregate ? selected.version : head;
    this.$("#fixture-to").value = String(to);
    this.$("#fixture-from").value = String(Math.min(Number(this.$("#fixture-from").value) || 1, to));
  }

  async #export() {
    const { sandbox, store } = this.session;
    if (!sandbox) return;
    const format = this.$("#export-format").value;
    const extension = FORMATS.find(([value]) => value === format)[2];
    download(`${store.name}.${extension}`, await sandbox.exportEvents(format), format === "ndjson" ? "application/x-ndjson" : "application/json");
  }

  async #import() {
    const input = this.$("#import-file");
    const file = input.files?.[0];
    if (!file) return;
    const result = this.$("#import-result");
    fill(this.$("#import-problems"));
    const text = await file.text();
    const chosen = this.$("#import-format").value;
    const { Sandbox, store } = this.session;
    // The module knows its formats (the choice says otherwise if it can).
    const format = chosen === "auto" ? Sandbox.fileFormat(text) : chosen;
    const previous = { scenario: this.session.scenario, ...store };
    // A file that names a shipped scenario is imported under it; otherwise under the open one.
    const named = Sandbox.fileScenario(format, text);
    const scenario = named && Sandbox.shippedScenarios().includes(named) ? named : previous.scenario;
    const name = `${scenario}-import-${Date.now().toString(36)}`;
    showResult(result, "busy", `Importing ${file.name} as ${format}…`);
    const opened = await this.session.open({ scenario, storage: store.storage, name, importFile: { format, text } });
    input.value = "";
    if (opened) {
      const count = await this.session.sandbox.headPosition();
      showResult(result, "ok", `Imported ${count} events from ${file.name} into the new store ${name}.`);
      // A reload of the page opens this store again.
      if (this.#ownsAddress) history.replaceState(null, "", `?${new URLSearchParams({ scenario, storage: store.storage, name })}`);
      return;
    }
    const error = this.session.lastError;
    showResult(result, "error", `Nothing was imported: ${error?.message ?? "the store did not open"}`);
    const problems = error?.details?.problems ?? [];
    fill(this.$("#import-problems"), problems.map((p) => el("li", {}, `${p.at}: ${p.message}`)));
    if (error?.details?.more) this.$("#import-problems").append(el("li", {}, `and ${error.details.more} more`));
    // The page goes back to the store it had open.
    await this.session.open(previous);
  }

  async #share() {
    const result = this.$("#share-result");
    const link = await this.#link();
    if (!link) {
      showResult(result, "error", "The log is too long for a link (browsers take links up to 2 MB): here it is as an NDJSON file to send instead.");
      this.$("#export-format").value = "ndjson";
      await this.#export();
      return;
    }
    this.sharing = this.#ownsAddress;
    const field = this.$("#share-link");
    field.value = link;
    field.hidden = false;
    try {
      await navigator.clipboard.writeText(link);
      const follows = this.#ownsAddress ? " The address bar follows the log from now on." : "";
      showResult(result, "ok", `Link copied (${formatCount(link.length)} characters).${follows}`);
    } catch {
      field.select();
      showResult(result, "ok", "Copy the link from the field (the browser did not allow copying).");
    }
  }

  /** Whether this panel is the page's (not an embed's): only the page's owns the address bar. */
  get #ownsAddress() {
    return this.session.namespace === "page";
  }

  /**
   * The page's address with the log in its fragment, also put in the address bar on the page (no
   * new history entry). From an embed, the link opens the full page next to its modules.
   */
  async #link() {
    const data = await this.session.sandbox?.shareLink();
    if (!data) return undefined;
    const url = shareUrl(data, this.session.namespace);
    if (this.#ownsAddress) history.replaceState(null, "", url);
    return url;
  }

  /** Keeps the address bar's link current as the log grows, at most once a second. */
  #followLog() {
    clearTimeout(this.#shareTimer);
    this.#shareTimer = setTimeout(async () => {
      const link = await this.#link().catch(() => undefined);
      if (link && !this.$("#share-link").hidden) this.$("#share-link").value = link;
    }, 1000);
  }

  #fixtureFile;

  #downloadFixture() {
    if (this.#fixtureFile) download(this.#fixtureFile.name, this.#fixtureFile.text);
  }

  async #fixture() {
    const { sandbox, aggregate } = this.session;
    const result = this.$("#fixture-result");
    const pre = this.$("#fixture-text");
    if (!sandbox || !aggregate) return;
    const from = Number(this.$("#fixture-from").value);
    const to = Number(this.$("#fixture-to").value);
    try {
      const text = await sandbox.fixture({ aggregateId: aggregate, from, to });
      pre.textContent = text;
      pre.hidden = false;
      showResult(result, "ok", `Given ${aggregate}'s events before version ${from}, when versions ${from} to ${to} happen, then its state is as shown. The core's Fixture::run replays it.`);
      this.#fixtureFile = { name: `${aggregate}-v${from}-v${to}.fixture.json`, text };
      this.$("#fixture-download").hidden = false;
    } catch (error) {
      pre.hidden = true;
      this.$("#fixture-download").hidden = true;
      showResult(result, "error", error.message);
    }
  }
}

customElements.define("es-exchange", ExchangePanel);
