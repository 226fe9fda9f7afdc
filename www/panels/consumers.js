// <es-consumers>: the consumers lab. Consumers in workers of their own, each with its own SQLite
// read model, follow the log over simulated links that lose, repeat and reorder messages; the
// learner plays, pauses and steps simulated time, crashes a consumer, cuts a link, parks and
// replays, and sees every message in a space-time diagram and each read model's answer beside
// the log's truth. The module decides everything (lab, links, verdicts); this panel carries
// messages between it and the workers (www/lab-runner.js) and draws what it says.
import { LabRunner } from "../lab-runner.js";
import { LabPlayer } from "../lab-player.js";
import { SpaceTime, describeArrow, formatSimTime, legend } from "../consumers/diagram.js";
import { DEFAULTS, fillSettings, merged, readSettings, settingsFields } from "../consumers/settings-form.js";
import { ConsumerTable, CONSUMER_COLUMNS, allParked, parkedRows, traceItems, truthLine, verdictItems } from "../consumers/views.js";
import { Guide } from "../consumers/guide-view.js";
import { button, el, fill, showResult } from "../view.js";
import { Panel, touches } from "./panel.js";
import { shareUrl } from "./exchange.js";

const SPEEDS = [0.25, 1, 4, 16, 64];
const QUERY_LIMITS = { maxRows: 200, timeLimitMs: 2000 };

class ConsumersPanel extends Panel {
  /** The run: its runner and player, the store it runs over, the question asked. */
  #run;
  #diagram = new SpaceTime({ onPick: (id) => this.#pick(id) });
  #table;
  #guide = new Guide(this);
  #drawn = { stats: 0, verdict: 0 };
  #verdicts;

  template() {
    const speed = el("select", { id: "lab-speed", "aria-label": "Speed", "data-testid": "lab-speed" }, SPEEDS.map((s) => el("option", { value: s }, `${s}×`)));
    speed.value = "1";
    return [
      el(
        "section",
        { id: "consumers-panel", "aria-labelledby": "consumers-title" },
        el("h2", { id: "consumers-title" }, "Consumers over a network"),
        el(
          "p",
          { class: "muted" },
          "Consumers follow the log over links that can lose, repeat and reorder messages. Each runs in a worker of its own with its own SQLite read model, and reaches the store only through messages: deliveries down, acks and nacks back up. Simulated time: play, pause, step one message.",
        ),
        this.#guide.element,
        el(
          "form",
          { id: "lab-form" },
          settingsFields(),
          el("fieldset", { class: "lab-settings" }, el("legend", {}, "Projections the consumers run"), el("span", { id: "lab-projections" })),
          el(
            "label",
            { class: "lab-query" },
            "The question each read model answers (the verdict compares it with the log's) ",
            el("select", { id: "lab-query-pick", "aria-label": "A scenario query" }),
            el("textarea", { name: "sql", rows: 2, spellcheck: "false", "aria-label": "The question each read model answers, in SQL", "data-testid": "lab-sql" }),
          ),
        ),
        el(
          "p",
          { class: "actions lab-controls" },
          button("Start a run", () => this.#startFromForm(), { id: "lab-start", "data-testid": "lab-start" }),
          button("Play", () => this.#togglePlay(), { id: "lab-play", class: "secondary", "data-testid": "lab-play", disabled: "" }),
          button("Step", () => this.#run?.player.step(), { id: "lab-step", class: "secondary", "data-testid": "lab-step", disabled: "", title: "Pause, then move one message" }),
          el("label", { class: "inline" }, "Speed ", speed),
          el("output", { id: "lab-clock", "data-testid": "lab-clock" }, "no run"),
          button("Share this run", () => this.#share(), { id: "lab-share", class: "secondary", "data-testid": "lab-share", disabled: "" }),
        ),
        el("input", { id: "lab-share-link", readonly: "", hidden: "", "aria-label": "Link to this run", "data-testid": "lab-share-link" }),
        el("p", { id: "lab-result", class: "result", role: "status", "data-testid": "lab-result" }),
        el("div", { id: "lab-diagram", class: "lab-diagram" }, this.#diagram.element),
        legend(),
        el("p", { id: "lab-arrow", class: "muted", "aria-live": "polite", "data-testid": "lab-arrow" }, "Click an arrow for its message and event."),
        el("pre", { id: "lab-arrow-event", hidden: "", "data-testid": "lab-arrow-event" }),
        el(
          "div",
          { class: "scroll-x" },
          el(
            "table",
            { id: "lab-consumers", "data-testid": "lab-consumers" },
            el("thead", {}, el("tr", {}, CONSUMER_COLUMNS.map((h) => el("th", { scope: "col" }, h)))),
            el("tbody"),
          ),
        ),
        el("p", { id: "lab-truth", "data-testid": "lab-truth" }),
        el("ul", { id: "lab-verdicts", class: "lab-verdicts", "data-testid": "lab-verdicts" }),
        el(
          "details",
          { id: "lab-parked", "data-testid": "lab-parked" },
          el("summary", {}, "Parked messages ", el("span", { id: "lab-parked-count" }, "(0)")),
          el("p", { class: "muted" }, "Each group's parked stream, oldest first, numbered as its events are. Replaying sends them again ahead of new messages, with a fresh count of retries; with a stop number, only those numbered below it (KurrentDB's stopAt)."),
          el(
            "div",
            { class: "scroll-x" },
            el("table", {}, el("thead", {}, el("tr", {}, ["Number", "Position", "Aggregate", "Type", "Attempts", "Group of", "Why"].map((h) => el("th", { scope: "col" }, h)))), el("tbody", { id: "lab-parked-rows" })),
          ),
          el(
            "p",
            { class: "actions" },
            el("label", { class: "inline" }, "Stop at number ", el("input", { id: "lab-stop-at", type: "number", min: 0, placeholder: "all", "aria-label": "Replay the parked messages numbered below (KurrentDB's stopAt)" })),
            button("Replay parked messages", () => this.replayParked(), { id: "lab-replay", "data-testid": "lab-replay" }),
            button("Restart the group (a leader change)", () => this.#act({ action: "restartGroup" }), { class: "secondary", "data-testid": "lab-restart-group" }),
          ),
        ),
        el(
          "details",
          { id: "lab-kurrent" },
          el("summary", {}, "This group in KurrentDB"),
          el("p", { class: "muted" }, "The requests that create this persistent subscription group on a KurrentDB cluster (HTTP API; the times are the lab's simulated milliseconds). The README maps each setting."),
          el("pre", { id: "lab-kurrent-body", "data-testid": "lab-kurrent-body" }),
        ),
        el("details", { id: "lab-trace" }, el("summary", {}, "The last messages, in words"), el("ol", { id: "lab-trace-list", reversed: "" })),
      ),
    ];
  }

  ready() {
    this.#table = new ConsumerTable(this.$("#lab-consumers tbody"), (action) => this.#act(action));
    fillSettings(this.$("#lab-form"), DEFAULTS);
    this.$("#lab-speed").addEventListener("change", (event) => {
      if (this.#run) this.#run.player.speed = Number(event.target.value);
    });
    this.$("#lab-query-pick").addEventListener("change", (event) => {
      const query = this.session.info?.queries[Number(event.target.value)];
      if (query) this.$("#lab-form").sql.value = query.sql;
    });
  }

  attach(session) {
    this.on("opening", () => this.#guide.render());
    this.on("opened", () => this.#opened());
    this.on("changed", ({ detail }) => {
      if (touches(detail, ["log"]) && this.#run) this.#run.runner.lab.refresh(this.#run.player.clock).catch(() => {});
    });
    this.on("remote", () => this.#run?.runner.lab.refresh(this.#run.player.clock).catch(() => {}));
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    this.#stop();
  }

  /** The run, for the query panel and the guide: { runner, player, store, names }. */
  get run() {
    return this.#run;
  }

  /** The scenario's projections and queries; the run goes on over the same store (edited rules). */
  async #opened() {
    const { session } = this;
    if (session.lean) {
      showResult(this.$("#lab-result"), "error", "The consumers lab needs the read model: this embed runs without it.");
      return;
    }
    fill(
      this.$("#lab-projections"),
      session.info.projections.map((p) => el("label", { class: "inline" }, el("input", { type: "checkbox", name: "projection", value: p.name, checked: "" }), ` ${p.name}`)),
    );
    fill(this.$("#lab-query-pick"), el("option", { value: "" }, "a query of the scenario…"), session.info.queries.map((q, i) => el("option", { value: i }, q.title)));
    const form = this.$("#lab-form");
    if (!form.sql.value) form.sql.value = session.info.queries.find((q) => /deposits/i.test(q.sql))?.sql ?? session.info.queries[0]?.sql ?? "";
    this.#guide.render();
    const run = this.#run;
    if (run && run.store === storeKey(session)) {
      if (run.runner.lab.followSandbox(session.sandbox)) {
        showResult(this.$("#lab-result"), "ok", "The projections changed: every consumer was redeployed with the new statements over its tables (what it held is sent again).");
      }
      await run.runner.lab.refresh(run.player.clock);
      this.#draw(true);
    } else if (run) {
      this.#stop();
    }
    if (session.sharedLab) {
      const shared = session.sharedLab;
      session.sharedLab = undefined;
      await this.#reproduce(shared);
    }
  }

  /** Starts a run from the form's settings. */
  #startFromForm() {
    let settings;
    try {
      settings = readSettings(this.$("#lab-form"));
    } catch (error) {
      showResult(this.$("#lab-result"), "error", error.message);
      return undefined;
    }
    const projections = [...this.querySelectorAll("[name=projection]:checked")].map((i) => i.value);
    return this.start({ settings, projections });
  }

  /**
   * Starts a run (`options` as `Sandbox.consumersLab` takes them) and plays it; resolves to
   * whether it started.
   */
  async start(options, { play = true } = {}) {
    const { session } = this;
    const result = this.$("#lab-result");
    this.#stop();
    if (!session.sandbox) return false;
    let lab;
    try {
      lab = await session.sandbox.consumersLab({ ...options, namespace: session.namespace });
    } catch (error) {
      showResult(result, "error", `The run did not start: ${error.message}`);
      return false;
    }
    const runner = new LabRunner(lab);
    const player = new LabPlayer(runner);
    player.speed = Number(this.$("#lab-speed").value);
    this.#run = { runner, player, store: storeKey(session), names: lab.status().consumers.map((c) => c.name) };
    session.lab = this.#run;
    this.#verdicts = undefined;
    this.#table.clear();
    player.addEventListener("tick", () => this.#draw());
    player.addEventListener("state", () => this.#controls());
    player.addEventListener("failed", ({ detail }) => showResult(result, "error", `The run stopped: ${detail.message}`));
    runner.addEventListener("moved", () => (this.#drawn.moved = true));
    const settings = lab.status();
    showResult(result, "ok", `A run of ${settings.consumers.length} consumer(s) over positions 1 to ${settings.head} started; each consumer's worker opens its read model.`);
    fill(this.$("#lab-kurrent-body"), kurrentText(lab.kurrentSubscription()));
    session.dispatchEvent(new CustomEvent("lab"));
    this.#controls();
    if (play) player.play();
    else this.#draw(true);
    return true;
  }

  #stop() {
    if (!this.#run) return;
    this.#run.player.stop();
    this.#run = undefined;
    if (this.session) this.session.lab = undefined;
    this.session?.dispatchEvent(new CustomEvent("lab"));
    this.#controls();
  }

  #togglePlay() {
    const player = this.#run?.player;
    if (!player) return;
    if (player.playing) player.pause();
    else player.play();
  }

  #controls() {
    const player = this.#run?.player;
    this.$("#lab-play").disabled = !player;
    this.$("#lab-step").disabled = !player;
    this.$("#lab-share").disabled = !player;
    this.$("#lab-play").textContent = player?.playing ? "Pause" : "Play";
    if (player && !player.playing) this.#draw(true);
  }

  /** Does an action at the clock's time (it goes into the run's script). */
  #act(action) {
    const run = this.#run;
    if (!run) return;
    try {
      run.runner.lab.act(action, run.player.clock);
      this.#draw(true);
    } catch (error) {
      showResult(this.$("#lab-result"), "error", error.message);
    }
  }

  /**
   * Sends the parked messages again, ahead of new ones: all, or those numbered below the stop
   * asked for (KurrentDB's stopAt counts in the parked stream, oldest first).
   */
  replayParked() {
    const stopAt = this.$("#lab-stop-at").value.trim();
    this.#act({ action: "replayParked", ...(stopAt ? { stopAt: Number(stopAt) } : {}) });
  }

  /** Draws the run: the diagram every time, the table and the verdicts a few times a second. */
  #draw(now = false) {
    const run = this.#run;
    if (!run) {
      this.$("#lab-clock").textContent = "no run";
      return;
    }
    const { lab } = run.runner;
    const clock = run.player.clock;
    // Nothing moved since the last frame: nothing to draw again (but the verdict once more).
    const still = !now && clock === this.#drawn.clock && !this.#drawn.moved;
    if (still && this.#drawn.judgedStill) return;
    this.#drawn.clock = clock;
    this.#drawn.moved = false;
    this.#drawn.judgedStill = still;
    if (still) now = true;
    const status = lab.status();
    const windowMs = windowOf(lab);
    this.$("#lab-clock").textContent = `${formatSimTime(clock)}${status.settled ? " · settled" : ""}`;
    const lanes = [{ name: "log", running: true }, ...status.consumers.map((c) => ({ name: `consumer ${c.name}`, running: c.running, cut: c.cut }))];
    const arrows = lab.arrows(clock - windowMs, clock + 1);
    this.#diagram.draw({ arrows, clock, windowMs, lanes });
    const wall = performance.now();
    if (now || wall - this.#drawn.stats > 200) {
      this.#drawn.stats = wall;
      this.#table.update(status, this.#verdicts, run.runner.storage);
      const parked = allParked(status);
      this.$("#lab-parked-count").textContent = `(${parked.length})`;
      fill(this.$("#lab-parked-rows"), parkedRows(parked));
      fill(this.$("#lab-trace-list"), traceItems(arrows));
    }
    if (now || wall - this.#drawn.verdict > 800) {
      this.#drawn.verdict = wall;
      this.#judge();
    }
  }

  /** Asks every consumer's read model the question (nothing moves meanwhile) and shows the verdicts. */
  async #judge() {
    const run = this.#run;
    const sql = this.$("#lab-form").sql.value.trim();
    if (!run || !sql || this.#judging) return;
    this.#judging = true;
    try {
      const { verdicts, settled } = await run.runner.exclusive(async () => {
        const answers = await Promise.all(
          run.names.map((_, i) => run.runner.query(i, sql, QUERY_LIMITS).then((a) => a ?? null, (error) => ({ error: error.message }))),
        );
        return { verdicts: run.runner.lab.verdicts(sql, answers), settled: run.runner.settled };
      });
      if (run !== this.#run) return;
      this.#verdicts = verdicts;
      // Whether these verdicts are final until something new happens (tests wait for it).
      this.$("#lab-verdicts").dataset.settled = String(settled);
      this.$("#lab-truth").textContent = truthLine(verdicts.truth);
      fill(this.$("#lab-verdicts"), verdictItems(verdicts));
      this.#table.update(run.runner.lab.status(), verdicts, run.runner.storage);
      this.dispatchEvent(new CustomEvent("judged"));
    } catch (error) {
      this.$("#lab-truth").textContent = `The log's truth could not answer: ${error.message}`;
      fill(this.$("#lab-verdicts"));
    } finally {
      this.#judging = false;
    }
  }

  #judging = false;

  /** Shows a picked arrow in words, with its event from the log. */
  async #pick(id) {
    const run = this.#run;
    const arrow = run?.runner.lab.arrow(id);
    if (!arrow) return;
    this.#diagram.picked = id;
    this.$("#lab-arrow").textContent = describeArrow(arrow);
    const [event] = await this.session.sandbox.events({ fromPosition: arrow.position, limit: 1 });
    const pre = this.$("#lab-arrow-event");
    pre.hidden = !event;
    if (event) pre.textContent = `${event.type} of ${event.aggregateId} (v${event.version}, position ${event.position}, id ${event.eventId})\n${JSON.stringify(event.data, null, 2)}`;
    this.#draw(true);
  }

  /** A link to the page with this log and this run (up to the clock), copied. */
  async #share() {
    const run = this.#run;
    const result = this.$("#lab-result");
    if (!run) return;
    // The link replays to the clock: the run is held there, with everything up to it done.
    const until = await run.player.hold();
    const data = await this.session.sandbox.shareLink();
    const labData = run.runner.lab.shareData(until);
    if (!data || !labData) {
      showResult(result, "error", "The log is too long for a link: export it as a file instead.");
      return;
    }
    const link = `${shareUrl(data, this.session.namespace)}&lab=${labData}`;
    const field = this.$("#lab-share-link");
    field.value = link;
    field.hidden = false;
    const status = run.runner.lab.status();
    try {
      await navigator.clipboard.writeText(link);
      showResult(result, "ok", `Link copied: it opens this log and replays this run to ${formatSimTime(until)} (${status.arrows} messages, digest ${status.digest}).`);
    } catch {
      field.select();
      showResult(result, "ok", `Copy the link from the field: it replays this run to ${formatSimTime(until)} (${status.arrows} messages, digest ${status.digest}).`);
    }
  }

  /** Replays a shared run to where it was shared, then says whether it went the same way. */
  async #reproduce(shared) {
    const result = this.$("#lab-result");
    if (!(await this.start({ shared }, { play: false }))) return;
    const run = this.#run;
    const expected = run.runner.lab.sharedRun();
    fillSettings(this.$("#lab-form"), run.runner.lab.settings());
    showResult(result, "busy", `Replaying the shared run to ${formatSimTime(expected.untilMs)}…`);
    await run.player.runTo(expected.untilMs);
    const status = run.runner.lab.status();
    const same = status.digest === expected.digest && status.arrows === expected.arrows;
    result.dataset.reproduced = same ? "same" : "different";
    showResult(
      result,
      same ? "ok" : "error",
      same
        ? `The shared run, replayed to ${formatSimTime(expected.untilMs)}: the same ${status.arrows} messages with the same fates (digest ${status.digest}, as the link says). Play to go on.`
        : `The shared run went otherwise here: ${status.arrows} messages, digest ${status.digest}; the link says ${expected.arrows} messages, digest ${expected.digest}.`,
    );
    this.#draw(true);
  }

  /**
   * The tour's step: on the bank scenario the guided sequence's duplicates step; elsewhere a run
   * of this scenario's log over a link that repeats messages. Resolves when the run has started.
   */
  tourStep() {
    if (this.session?.scenario === "bank") {
      this.#guide.select(1);
      return this.#guide.run();
    }
    const settings = merged(DEFAULTS, { link: { ...DEFAULTS.link, duplicatePercent: 30 } });
    fillSettings(this.$("#lab-form"), settings);
    return this.start({ settings });
  }
}

/** Which store a run follows (a run goes on when the same store reopens with other rules). */
function storeKey(session) {
  return `${session.store.storage}/${session.store.name}`;
}

/** How much simulated time the diagram shows: enough for a few round trips. */
function windowOf(lab) {
  const { link, handlingMs } = lab.settings();
  return Math.min(20_000, Math.max(1_500, 12 * (2 * link.latencyMs + link.jitterMs + handlingMs)));
}

/** The KurrentDB requests as text. */
function kurrentText({ requests }) {
  return requests.map((r) => `${r.method} ${r.path}\nContent-Type: application/json\n\n${JSON.stringify(r.body, null, 2)}`).join("\n\n");
}

customElements.define("es-consumers", ConsumersPanel);
