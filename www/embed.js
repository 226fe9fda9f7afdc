// <es-sandbox>: the sandbox as one element for documentation pages, made of the page's own
// panels. One <script type="module" src=".../embed.js"> defines it; each element has its own
// session, store namespace, query history and subscriptions, inside a Shadow DOM so that the
// host page's styles neither leak in nor out. Until the element comes near the viewport only this
// module and its two small imports load: no panel, no wasm.
//
//   <es-sandbox scenario="bank" panels="events,state" height="420"></es-sandbox>
//
// Attributes: scenario (a shipped name, a URL of a scenario document, or the document as JSON),
// panels (comma-separated, see PANELS), storage (memory, the default; indexeddb; localstorage),
// namespace (the store's name; default: es-sandbox-embed-<scenario>-<n>), readonly, compact,
// theme (light, dark, auto), height (pixels), eager (start at once). Colours are CSS custom
// properties (--accent, --page, --ink, …) that the host page may set on the element.

import { PANELS as CATALOG } from "./panels/catalog.js";
import { loadWasm } from "./wasm-source.js";

/** Panel names an embed may show, and the element each one is. */
export const PANELS = Object.fromEntries(CATALOG.map((p) => [p.name, p.tag]));
/** Panels that need the read model: without any of them an embed loads the lean module. */
const READ_MODEL_PANELS = new Set(CATALOG.filter((p) => p.readModel).map((p) => p.tag));
/** Panels that span the embed's width. */
const WIDE = new Set(CATALOG.filter((p) => p.wide).map((p) => p.tag));
const DEFAULT_PANELS = "events,state,command";
const STORAGES = ["memory", "indexeddb", "localstorage"];
const here = (path) => new URL(path, import.meta.url).href;

let embeds = 0;

class EsSandbox extends HTMLElement {
  #started = false;
  #root;
  session;

  connectedCallback() {
    if (this.#root) {
      // Moved elsewhere on the page: its session was closed when it left; open it again.
      if (this.#started && this.session && !this.session.sandbox) this.#reopen();
      return;
    }
    this.ordinal = ++embeds;
    this.#root = this.attachShadow({ mode: "open" });
    const style = Object.assign(document.createElement("link"), { rel: "stylesheet", href: here("style.css") });
    const placeholder = document.createElement("p");
    placeholder.className = "muted embed-waiting";
    placeholder.textContent = `es-sandbox: ${this.#scenarioLabel()} starts when it comes into view.`;
    this.#root.append(style, placeholder);
    if (this.hasAttribute("eager") || typeof IntersectionObserver === "undefined") {
      this.start();
      return;
    }
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) {
          observer.disconnect();
          this.start();
        }
      },
      { rootMargin: "300px" },
    );
    observer.observe(this);
  }

  disconnectedCallback() {
    this.session?.close();
  }

  async #reopen() {
    await this.#open(await this.#scenario());
  }

  /** The panels asked for, as element names (unknown names are skipped). */
  panels() {
    const names = (this.getAttribute("panels") ?? DEFAULT_PANELS).split(",").map((n) => n.trim());
    return [...new Set(names.filter((n) => Object.hasOwn(PANELS, n)).map((n) => PANELS[n]))];
  }

  #scenarioLabel() {
    const scenario = this.getAttribute("scenario") ?? "bank";
    return scenario.trimStart().startsWith("{") ? "an inline scenario" : scenario;
  }

  /** The scenario: a shipped name, a document fetched from a URL, or an inline document. */
  async #scenario() {
    const scenario = (this.getAttribute("scenario") ?? "bank").trim();
    if (scenario.startsWith("{")) return scenario;
    if (/^[a-z][a-z0-9_-]*$/.test(scenario)) return scenario;
    const response = await fetch(new URL(scenario, document.baseURI));
    if (!response.ok) throw new Error(`the scenario ${scenario} could not be fetched: HTTP ${response.status}`);
    return response.text();
  }

  /** Loads the panels and the module, then opens the store. */
  async start() {
    if (this.#started) return;
    this.#started = true;
    const tags = this.panels();
    const lean = !tags.some((tag) => READ_MODEL_PANELS.has(tag));
    // The module downloads and compiles while the panels' modules load (a failure to load it
    // is told when the session opens); the lean one first, on a page of both.
    loadWasm(lean, { leanFirst: true }).catch(() => {});
    const shown = [...(this.hasAttribute("compact") ? [] : ["es-status"]), ...tags];
    // The status panel's module loads with the others, not one round trip after them.
    const [{ Session }] = await Promise.all([import("./session.js"), ...shown.map((tag) => import(here(`panels/${tag.slice(3)}.js`)))]);
    const session = (this.session = new Session());
    session.namespace = this.namespace;
    session.lean = lean;
    // Opening a store with a read model is long (SQLite's first schema, cold): it waits until the
    // panels already asked to draw (the lean embeds' first logs) have drawn, instead of taking
    // turns with them. A documentation page's three embeds (lean, lean, whole), 10 tries each in
    // turns: their logs at 617/579/619 ms before these two changes, 513/447/614 after.
    if (!lean) session.beforeOpening = async () => (await import("./panels/panel.js")).whenDrawn();
    if (this.hasAttribute("readonly")) session.readOnly = "This sandbox is read-only: it shows the log and what it means, and takes no commands.";
    const main = document.createElement("main");
    main.className = this.hasAttribute("compact") ? "embed compact" : "embed";
    const height = Number(this.getAttribute("height"));
    if (height > 0) main.style.maxHeight = `${height}px`;
    const elements = shown.map((tag) => {
      const node = document.createElement(tag);
      if (tag === "es-status" || WIDE.has(tag) || tags.length === 1) node.classList.add("wide");
      node.session = session;
      return node;
    });
    main.append(...elements);
    this.#root.querySelector(".embed-waiting").replaceWith(main);
    // The labs ask for another scenario or the rules editor: within this embed only.
    this.#root.addEventListener("es-switch-scenario", ({ detail }) => this.#open(detail.scenario));
    this.#root.addEventListener("es-add-upcaster", ({ detail }) => this.#root.querySelector("es-rules")?.addUpcaster(detail.eventType));
    this.#root.addEventListener("es-edit-projection", ({ detail }) => this.#root.querySelector("es-rules")?.editProjection(detail.name));
    let problem;
    try {
      if (!(await this.#open(await this.#scenario()))) problem = session.lastError;
    } catch (error) {
      problem = error;
    }
    if (problem) {
      const status = document.createElement("p");
      status.className = "notice";
      status.setAttribute("role", "alert");
      status.textContent = `es-sandbox could not start: ${problem.message}`;
      main.prepend(status);
    }
  }

  /** The store's name: the namespace attribute, else one per scenario and element. */
  get namespace() {
    return this.getAttribute("namespace") ?? `es-sandbox-embed-${this.#scenarioLabel().replace(/[^a-z0-9_-]/gi, "_")}-${this.ordinal}`;
  }

  #open(scenario) {
    const storage = STORAGES.includes(this.getAttribute("storage")) ? this.getAttribute("storage") : "memory";
    const name = typeof scenario === "string" && !scenario.startsWith("{") && scenario !== this.getAttribute("scenario") ? `${this.namespace}-${scenario}` : this.namespace;
    return this.session.open({ scenario, storage, name });
  }
}

customElements.define("es-sandbox", EsSandbox);
