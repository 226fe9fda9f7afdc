// One sandbox as the panels share it: which store and scenario are open, the aggregate selected,
// the events left out for a what-if. Panels listen to its events and render what the sandbox
// answers; none of them computes a domain answer itself.
//
// Events: "opening", "opened", "failed" (detail: the error), "changed" (render again; detail:
// what changed, one or a list of "log" (new events or anything else), "cursor" (time travel),
// "selection" (the aggregate or event selected) and "whatIf" (events left out or put back):
// panels that do not show it skip the render), "remote" (detail: { count, last }: another tab
// appended), "readmodel" (the read model moved), "lab" (a consumers lab run started or ended),
// "slow" (detail: which rule function is slow and how long it took; `stopSlowWork()` stops it).
import { loadWasm } from "./wasm-source.js";

/**
 * Loads a wasm module once per page: the whole one, or with `lean` the one without the read
 * model. Resolves to its JS face.
 */
export function loadModule({ lean = false } = {}) {
  return loadWasm(lean);
}

export class Session extends EventTarget {
  /** The open sandbox, or undefined while opening or after a failed open. */
  sandbox;
  /** The scenario as the module describes it, and where its events live. */
  info;
  where;
  /** Why the last open failed (its error), for the panel that asked. */
  lastError;
  /** The store: { storage, name }. */
  store = { storage: "indexeddb", name: "bank" };
  scenario = "bank";
  /** The aggregate the state and forms show. */
  aggregate = "";
  /** Event ids left out: the state and queries are shown as if they never happened. */
  excluded = new Set();
  /** Time travel: the log position everything is shown as of (undefined: now). */
  cursor;
  /** The event selected in the log (its row was clicked): the labs act on it. */
  selected;
  #unsubscribe;
  /** Stops an opening's work through slow rules (the sandbox's own stop takes over once open). */
  #opening;
  #remote = { count: 0, last: 0, timer: undefined };
  #readModelTimer;

  /** What keeps this session's things apart from another's on the page: "page", or an embed's. */
  namespace = "page";
  /** Why commands never run here (a read-only embed), or undefined. */
  readOnly;
  /** Whether this session runs on the lean module (no read model: an embed without its panels). */
  lean = false;
  /** Awaited after the module is loaded and before the store opens (an embed's turn), if set. */
  beforeOpening;
  /** The module's `Sandbox` class, once loaded (static methods: checkScenario, diffStates, …). */
  Sandbox;
  /** A shared consumers lab run (link data) to replay once the shared log is open. */
  sharedLab;
  /** The consumers lab's run, while there is one: { runner, player, names } (the query box asks its read models). */
  lab;

  /** Where the query history is kept: per namespace (the page, each embed) and scenario. */
  historyKey() {
    return `es-sandbox/query-history/${this.namespace}/${this.scenario}`;
  }

  /**
   * Opens a scenario over a store, closing what was open. A store remembers the scenario its
   * events were written under: when that is the same scenario with other rules (edited ones),
   * they persist with the store and are used; another scenario is refused ("failed", kind
   * "otherScenario") unless `onOtherScenario` says to use the store's or the given one.
   * `share` (a share link's data) brings its scenario and its log; `importFile` ({ format, text })
   * fills the empty store from a file first. Resolves to whether it opened; if not, `lastError`.
   */
  async open({ scenario, storage, name, onOtherScenario, share, importFile }) {
    // A scenario is a shipped name or a document (edited rules); a share link brings its own.
    this.scenario = share ? "the shared scenario" : typeof scenario === "string" ? scenario : scenario.name;
    this.store = { storage, name: name ?? this.scenario };
    this.#close();
    this.dispatchEvent(new CustomEvent("opening", { detail: { scenario: this.scenario } }));
    await this.#loadModule();
    await this.beforeOpening?.();
    let sandbox;
    try {
      const extra = { ...(onOtherScenario ? { onOtherScenario } : {}), ...(share ? { share } : {}), ...(importFile ? { import: importFile } : {}) };
      this.#opening = new AbortController();
      const pacing = { onSlow: (slow) => this.dispatchEvent(new CustomEvent("slow", { detail: slow })), signal: this.#opening.signal };
      sandbox = await this.Sandbox.open({ ...this.store, ...(share ? {} : { scenario }), ...extra, ...pacing });
    } catch (error) {
      if (error.kind === "otherScenario" && !onOtherScenario && error.details.stored === this.scenario) {
        return this.open({ scenario, storage, name, onOtherScenario: "useStored" });
      }
      this.lastError = error;
      this.dispatchEvent(new CustomEvent("failed", { detail: error }));
      return false;
    }
    this.sandbox = sandbox;
    this.info = sandbox.scenario();
    this.scenario = this.info.name;
    /** Whether the store's own recorded rules were used rather than the ones asked for. */
    this.ownRules = onOtherScenario === "useStored";
    this.where = sandbox.storeInfo();
    this.excluded.clear();
    this.cursor = undefined;
    this.selected = undefined;
    this.aggregate = "";
    this.#unsubscribe = sandbox.subscribe((notice) => this.#onNotice(notice));
    const streams = await sandbox.streams();
    this.aggregate = streams[0]?.aggregateId ?? "";
    this.dispatchEvent(new CustomEvent("opened"));
    this.changed();
    return true;
  }

  /** Stops the work running through slow rules: the opening, or a replay or generation after. */
  stopSlowWork() {
    this.#opening?.abort();
    this.sandbox?.stopSlowWork();
  }

  /**
   * Why commands cannot run now, or undefined when they can: they act on the real log at its
   * head, so not while the page shows a what-if or the past, nor without an open store.
   */
  get readOnlyReason() {
    return this.blockedReason();
  }

  /** Like `readOnlyReason`; `{ past: false }` for writes that do not depend on the cursor. */
  blockedReason({ past = true } = {}) {
    if (!this.sandbox) return "No store is open.";
    if (this.readOnly) return this.readOnly;
    if (this.excluded.size) return "A what-if is shown (events are left out): put them back to run commands against the real log.";
    if (past && this.cursor !== undefined) return `The page shows the log as of position ${this.cursor}: return to now to run commands.`;
    return undefined;
  }

  /**
   * Moves the cursor (time travel) to a position, or back to now with undefined; `event` is the
   * event at that position when a row was clicked: it becomes the selection and its aggregate
   * the one shown.
   */
  travel(position, event) {
    this.cursor = position;
    if (!event) {
      this.changed("cursor");
      return;
    }
    this.selected = event;
    this.aggregate = event.aggregateId;
    this.changed(["cursor", "selection"]);
  }

  /**
   * Opens this store again with other rules (an edited scenario document, or a shipped name to
   * go back to the shipped rules); the store records them from then on.
   */
  applyRules(scenario) {
    return this.open({ scenario, ...this.store, onOtherScenario: "useGiven" });
  }

  /** Deletes the store's data (the open sandbox's, or a store that did not open) and opens again. */
  async reset() {
    await this.#close({ destroy: true });
    await this.#loadModule();
    // A store that did not open (or the one just closed): delete it by name.
    await this.Sandbox.destroyStore(this.store);
    return this.open({ scenario: this.scenario, ...this.store });
  }

  /** This tab appended to an aggregate: show it, and render the new log. */
  appended(aggregateId) {
    this.aggregate = aggregateId;
    this.changed("log");
  }

  /** Selects the aggregate the state and the forms show. */
  select(aggregateId) {
    this.aggregate = aggregateId;
    this.changed("selection");
  }

  /** Leaves an event out of (or puts it back into) the what-if. */
  leaveOut(eventId, out) {
    if (out) this.excluded.add(eventId);
    else this.excluded.delete(eventId);
    this.changed("whatIf");
  }

  /** Puts every event back. */
  putBack() {
    this.excluded.clear();
    this.changed("whatIf");
  }

  /** Loads this session's module (whole or lean) and keeps its `Sandbox` class. */
  async #loadModule() {
    this.Sandbox = (await loadModule({ lean: this.lean })).Sandbox;
  }

  /** Says something to the person using the page that is not about one panel (a broken link). */
  notify(message) {
    this.dispatchEvent(new CustomEvent("notice", { detail: message }));
  }

  /** Tells the panels to render again, saying what changed (one kind or a list). */
  changed(what = "log") {
    this.dispatchEvent(new CustomEvent("changed", { detail: what }));
  }

  /** Closes the open sandbox (an embed taken off its page). */
  close() {
    return this.#close();
  }

  /** Closes the open sandbox (deleting its store with `destroy`), then frees it. */
  async #close({ destroy = false } = {}) {
    const sandbox = this.sandbox;
    this.sandbox = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (!sandbox) return;
    if (destroy) await sandbox.destroy();
    else sandbox.close();
    // Renders still awaiting the closed sandbox get its "closed" error, not a freed object's:
    // its memory is given back a little later.
    setTimeout(() => sandbox.free(), 10_000);
  }

  /**
   * Events another tab appended: say so, and render again at most a few times a second however
   * many arrive (this tab's own forms render themselves). The read model's moves likewise.
   */
  #onNotice({ events, source, error }) {
    if (error) {
      this.dispatchEvent(new CustomEvent("remote", { detail: { error } }));
      return;
    }
    if (source === "projection") {
      this.#readModelTimer ??= setTimeout(() => {
        this.#readModelTimer = undefined;
        this.dispatchEvent(new CustomEvent("readmodel"));
      }, 100);
      return;
    }
    if (source !== "remote") return;
    const remote = this.#remote;
    remote.count += events.length;
    remote.last = events.at(-1).position;
    remote.timer ??= setTimeout(() => {
      const detail = { count: remote.count, last: remote.last };
      this.#remote = { count: 0, last: 0, timer: undefined };
      this.dispatchEvent(new CustomEvent("remote", { detail }));
      this.changed();
    }, 100);
  }
}

