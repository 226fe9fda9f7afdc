// The base of every panel: a custom element that builds its own DOM once, from text only, and
// renders what its session's sandbox answers whenever the session says something changed.

/** Whether a "changed" event's detail (one kind or a list) includes any of `kinds`. */
export function touches(detail, kinds) {
  return [].concat(detail).some((kind) => kinds.includes(kind));
}
/**
 * The session events whose handlers draw: each panel's handler of one of them runs in a task of
 * its own, so a new log or a change on a large one never holds the page in one long task of
 * every panel drawing in turn.
 */
const DRAWING = new Set(["opened", "changed"]);
const turns = [];

/**
 * Runs `work` for `panel` in a task of its own. One turn at a time, each asked for when the one
 * before has run, so the page's own timers and drawing get their turn between two panels too;
 * panels near the view go first (the log's first rows before a panel far below), each panel's
 * work in the order it came. Work that answers the change (`answers`: the state for a moved
 * time-travel cursor) goes before the rest near the view: every turn before it may let the page
 * draw a frame first, and the slider would wait for the frames of panels that only mark rows.
 */
function inTurn(panel, work, answers = false) {
  turns.push({ panel, work, answers });
  if (turns.length === 1) turn.port2.postMessage(null);
}

/** The turn to run next: near the view and answering first, then near the view, then any. */
function nextTurn() {
  const answering = turns.findIndex((t) => t.answers && t.panel.nearView);
  return answering >= 0 ? answering : Math.max(0, turns.findIndex((t) => t.panel.nearView));
}

/** Who waits for the turns to run out (see `whenDrawn`). */
const waitingForDrawn = [];

/** Resolves once every panel on the page that asked for a turn to draw has had it. */
export function whenDrawn() {
  return turns.length ? new Promise((resolve) => waitingForDrawn.push(resolve)) : Promise.resolve();
}

// A message rather than a timer: chained timers are held back 4 ms each after the fifth.
const turn = new MessageChannel();
turn.port1.onmessage = () => {
  const [{ work }] = turns.splice(nextTurn(), 1);
  try {
    work();
  } finally {
    if (turns.length) turn.port2.postMessage(null);
    else for (const resolve of waitingForDrawn.splice(0)) resolve();
  }
};

export class Panel extends HTMLElement {
  #session;
  #listening = [];

  /** The session the panel shows; setting it (again) re-attaches the panel. */
  get session() {
    return this.#session;
  }

  set session(session) {
    this.#stopListening();
    this.#session = session;
    this.#build();
    this.attach?.(session);
  }

  connectedCallback() {
    this.#build();
  }

  disconnectedCallback() {
    this.#stopListening();
  }

  /**
   * Listens to a session event for as long as the panel shows this session; the handler of an
   * event that draws runs in a task of its own, unless the panel stopped listening meanwhile,
   * before other panels' when `answers(event)` says the panel answers that change.
   */
  on(type, handler, { answers } = {}) {
    const entry = [type, handler];
    if (DRAWING.has(type)) {
      this.#observe();
      entry[1] = (event) =>
        inTurn(this, () => this.#listening.includes(entry) && handler(event), Boolean(answers?.(event)));
    }
    this.#session.addEventListener(type, entry[1]);
    this.#listening.push(entry);
  }

  /**
   * Renders on the session's "changed" when what changed is one of `kinds` ("log", "cursor",
   * "selection", "whatIf"); a new log always counts. A panel out of view renders when it comes
   * into view instead: a long page of panels stays fast on a large log.
   */
  follow(kinds, render) {
    this.#observe();
    this.on("changed", ({ detail }) => {
      if (!touches(detail, ["log", ...kinds])) return;
      if (this.#visible) render();
      else this.#pending = render;
    });
  }

  /** Whether the panel is in view or near it (until the browser says, it counts as near). */
  get nearView() {
    return this.#visible;
  }

  #visible = true;
  #pending;
  #observer;

  #observe() {
    if (this.#observer || typeof IntersectionObserver === "undefined") return;
    this.#observer = new IntersectionObserver(
      (entries) => {
        this.#visible = entries.some((e) => e.isIntersecting);
        if (this.#visible && this.#pending) {
          const render = this.#pending;
          this.#pending = undefined;
          render();
        }
      },
      { rootMargin: "400px" },
    );
    this.#observer.observe(this);
  }

  /**
   * Starts a render; the function it returns says whether that render is still the latest one
   * (renders await the sandbox, and a newer one may have started meanwhile).
   */
  begin() {
    const turn = (this.turns = (this.turns ?? 0) + 1);
    return () => turn === this.turns;
  }

  /** The first element inside the panel that matches a selector. */
  $(selector) {
    return this.querySelector(selector);
  }

  #build() {
    if (this.built) return;
    this.built = true;
    this.replaceChildren(...this.template());
    this.ready?.();
  }

  #stopListening() {
    for (const [type, handler] of this.#listening) this.#session?.removeEventListener(type, handler);
    this.#listening = [];
  }
}
