// The es-sandbox page: the event log, the selected aggregate's replayed state, forms to execute
// commands and append raw events, live updates from other tabs. Domain logic lives in wasm.
import init, { Sandbox } from "./pkg/es_sandbox.js";
import { changedFields, compact, el, fill, fillSelect, formatTime, showResult } from "./view.js";
import { queryInWorker } from "./query-runner.js";

const QUERY_LIMITS = { maxRows: 200, timeLimitMs: 2000 };

const $ = (selector) => document.querySelector(selector);
const ui = {
  status: $("#status"),
  live: $("#live"),
  scenario: $("#scenario"),
  storage: $("#storage"),
  reset: $("#reset"),
  recovery: $("#recovery"),
  recoveryReason: $("#recovery-reason"),
  recoveryIntact: $("#recovery-intact"),
  recoveryConfirm: $("#recovery-confirm"),
  description: $("#scenario-description"),
  events: $("#events tbody"),
  aggregate: $("#aggregate"),
  trace: $("#trace"),
  state: $("#state"),
  replayInfo: $("#replay-info"),
  commandForm: $("#command-form"),
  commandResult: $("#command-result"),
  appendForm: $("#append-form"),
  appendResult: $("#append-result"),
  whatIf: $("#what-if"),
  readModelWhere: $("#read-model-where"),
  delay: $("#delay"),
  projections: $("#projections tbody"),
  suggested: $("#suggested"),
  queryForm: $("#query-form"),
  queryStatus: $("#query-status"),
  queryHead: $("#query-result thead"),
  queryBody: $("#query-result tbody"),
  history: $("#history"),
};
const HISTORY_KEY = "es-sandbox/query-history";
/** Event ids ticked "out": the state and queries are shown as if they never happened. */
const excluded = new Set();
const SHOWN_EVENTS = 200;

let sandbox;
let unsubscribe;
/** What the store's inspection found, for the recovery buttons. */
let recovery = { intactUpTo: 0, recordsAfter: 0 };
/** What a "Yes" in the inline confirmation does. */
let pendingConfirmation;

await init();
const params = new URLSearchParams(location.search);
fillSelect(ui.scenario, Sandbox.shippedScenarios(), params.get("scenario") ?? "bank");
ui.storage.value = params.get("storage") ?? "indexeddb";
/** The store: its kind, and a name (the scenario's unless the URL names one). */
const store = () => ({ storage: ui.storage.value, name: params.get("name") ?? ui.scenario.value });
ui.scenario.addEventListener("change", () => openScenario(ui.scenario.value));
ui.storage.addEventListener("change", () => openScenario(ui.scenario.value));
ui.reset.addEventListener("click", () => resetStore());
$("#recovery-reset").addEventListener("click", () =>
  confirmThen("Delete every stored record of this store, the intact ones too?", () => resetStore()),
);
$("#export").addEventListener("click", () => exportStore());
$("#export-rest").addEventListener("click", () => exportStore(recovery.intactUpTo));
$("#keep-prefix").addEventListener("click", () =>
  confirmThen(
    `Keep positions 1 to ${recovery.intactUpTo} and delete the ${recovery.recordsAfter} record(s) after them? Export them first to keep a copy.`,
    () => keepIntactPart(),
  ),
);
ui.recoveryConfirm.addEventListener("click", (event) => {
  const answer = event.target.dataset?.answer;
  if (!answer) return;
  ui.recoveryConfirm.hidden = true;
  const then = pendingConfirmation;
  pendingConfirmation = undefined;
  if (answer === "yes") then?.();
});
document.addEventListener("visibilitychange", () => {
  // A tab in the background may have missed announcements: read what is new.
  if (document.visibilityState === "visible") sandbox?.refresh().catch(() => {});
});
ui.aggregate.addEventListener("change", () => {
  setAggregateInForms(ui.aggregate.value);
  renderState();
});
ui.commandForm.aggregateId.addEventListener("input", () => fillCommands());
ui.commandForm.command.addEventListener("change", () => fillExample());
ui.appendForm.aggregateId.addEventListener("input", () => fillEventTypes());
ui.commandForm.addEventListener("submit", (event) => {
  event.preventDefault();
  executeCommand();
});
ui.appendForm.addEventListener("submit", (event) => {
  event.preventDefault();
  appendEvent();
});
ui.queryForm.addEventListener("submit", (event) => {
  event.preventDefault();
  runQuery(ui.queryForm.sql.value);
});
ui.delay.addEventListener("change", () => sandbox?.setProjectionDelay(Number(ui.delay.value) || 0));
ui.whatIf.querySelector("button").addEventListener("click", async () => {
  excluded.clear();
  await refresh(ui.aggregate.value || undefined);
});
ui.events.addEventListener("change", async (event) => {
  const id = event.target.dataset?.eventId;
  if (!id) return;
  if (event.target.checked) excluded.add(id);
  else excluded.delete(id);
  await refresh(ui.aggregate.value || undefined);
});
renderHistory();
await openScenario(ui.scenario.value);

async function openScenario(name) {
  ui.status.textContent = `Opening ${name}…`;
  ui.recovery.hidden = true;
  unsubscribe?.();
  sandbox?.close();
  sandbox?.free();
  sandbox = undefined;
  try {
    sandbox = await Sandbox.open({ ...store(), scenario: name });
  } catch (error) {
    ui.status.textContent = `Could not open ${name}: ${error.message}`;
    if (error.kind === "corrupt") await showRecovery(error);
    return;
  }
  const info = sandbox.scenario();
  const where = sandbox.storeInfo();
  ui.description.textContent = info.description;
  unsubscribe = sandbox.subscribe((notice) => onNotice(notice));
  excluded.clear();
  sandbox.setProjectionDelay(Number(ui.delay.value) || 0);
  fill(
    ui.suggested,
    info.queries.map((q) => {
      const button = el("button", { type: "button", class: "secondary", title: q.sql }, q.title);
      button.addEventListener("click", () => {
        ui.queryForm.sql.value = q.sql;
        runQuery(q.sql);
      });
      return button;
    }),
  );
  ui.queryForm.sql.value = info.queries[0]?.sql ?? "SELECT * FROM events";
  fill(ui.queryHead);
  fill(ui.queryBody);
  showResult(ui.queryStatus, "", "");
  await refresh();
  setAggregateInForms(ui.aggregate.value);
  const shared = where.durable.tabClose ? " Other tabs on this store see its events live." : "";
  ui.status.textContent = `${info.title || info.name}: events are stored in ${where.location}; ${where.durable.summary}.${shared}`;
}

let remote = { count: 0, last: 0, redraw: undefined };

/**
 * Events another tab appended: say so, and redraw at most a few times a second however many
 * arrive. (This tab's own forms redraw themselves.)
 */
function onNotice({ events, source, error }) {
  if (error) {
    ui.live.textContent = `Reading another tab's events failed: ${error.message}`;
    return;
  }
  if (source === "projection") {
    scheduleReadModel();
    return;
  }
  if (source !== "remote") return;
  remote.count += events.length;
  remote.last = events.at(-1).position;
  remote.redraw ??= setTimeout(async () => {
    ui.live.textContent = `${remote.count} new event(s) from another tab, up to position ${remote.last}.`;
    remote = { count: 0, last: 0, redraw: undefined };
    await refresh(ui.aggregate.value || undefined);
  }, 100);
}

/** Asks inline (no browser dialog) before doing something that deletes stored records. */
function confirmThen(question, then) {
  ui.recoveryConfirm.querySelector("span").textContent = question;
  ui.recoveryConfirm.hidden = false;
  pendingConfirmation = then;
}

/** Shows why the store does not open, how far its log is intact, and the ways out. */
async function showRecovery(error) {
  ui.recoveryReason.textContent = error.message;
  ui.recovery.hidden = false;
  ui.recoveryConfirm.hidden = true;
  try {
    recovery = await Sandbox.inspectStore(store());
    const acknowledged = recovery.committed === null ? "" : ` The store acknowledged events up to position ${recovery.committed}.`;
    ui.recoveryIntact.textContent =
      `The log is intact up to position ${recovery.intactUpTo}.${acknowledged} ` +
      `${recovery.recordsAfter} stored record(s) follow the intact part.`;
  } catch (inspectError) {
    ui.recoveryIntact.textContent = `The store could not be inspected: ${inspectError.message}`;
  }
}

async function keepIntactPart() {
  try {
    await Sandbox.truncateStore({ ...store(), keep: recovery.intactUpTo });
  } catch (error) {
    ui.recoveryIntact.textContent = `Nothing was dropped: ${error.message}`;
    return;
  }
  await openScenario(ui.scenario.value);
}

async function resetStore() {
  ui.status.textContent = "Resetting…";
  unsubscribe?.();
  if (sandbox) {
    await sandbox.destroy();
  } else {
    await Sandbox.destroyStore(store());
  }
  await openScenario(ui.scenario.value);
}

/** Downloads what is stored (everything, or the records after a position), decoded where possible. */
async function exportStore(after) {
  const text = await Sandbox.exportStore({ ...store(), ...(after === undefined ? {} : { after }) });
  const suffix = after === undefined ? "export" : `after-${after}`;
  const link = el("a", { href: URL.createObjectURL(new Blob([text], { type: "application/json" })), download: `${store().name}-${suffix}.json` });
  link.click();
  URL.revokeObjectURL(link.href);
}

/** Re-reads the log and the aggregates, then the selected aggregate's state. */
async function refresh(preferredAggregate) {
  const head = await sandbox.headPosition();
  const events = await sandbox.events({ fromPosition: Math.max(1, head - SHOWN_EVENTS + 1), limit: SHOWN_EVENTS });
  fill(
    ui.events,
    events.map((e) =>
      el(
        "tr",
        { "data-position": e.position, class: excluded.has(e.eventId) ? "left-out" : undefined },
        el("td", {}, checkbox(e.eventId)),
        el("td", {}, e.position),
        el("td", {}, e.aggregateId),
        el("td", {}, e.version),
        el("td", {}, e.type),
        el("td", {}, `v${e.schemaVersion}`),
        el("td", { class: "data" }, compact(e.data)),
        el("td", { class: "time" }, formatTime(e.timestamp)),
      ),
    ),
  );
  const streams = await sandbox.streams();
  fillSelect(
    ui.aggregate,
    streams.map((s) => s.aggregateId),
    preferredAggregate,
  );
  ui.whatIf.hidden = excluded.size === 0;
  ui.whatIf.querySelector("span").textContent =
    `What-if: ${excluded.size} event(s) left out. The state and your queries are computed as if they never happened; nothing stored changes.`;
  await renderState();
  await renderReadModel();
}

function checkbox(eventId) {
  const box = el("input", { type: "checkbox", "data-event-id": eventId, "aria-label": "leave out" });
  box.checked = excluded.has(eventId);
  return box;
}

let readModelTimer;
/** Redraws the read model panel at most every 100 ms however often projections move. */
function scheduleReadModel() {
  readModelTimer ??= setTimeout(async () => {
    readModelTimer = undefined;
    await renderReadModel();
  }, 100);
}

async function renderReadModel() {
  if (!sandbox) return;
  const model = await sandbox.projections();
  ui.readModelWhere.textContent = `The read model lives ${model.location}. The log's head is at position ${model.head}; a projection behind it answers with older data.`;
  fill(
    ui.projections,
    model.projections.map((p) => {
      const behind = model.head - p.checkpoint;
      const state = p.stale ? "stale" : p.state;
      const detail = p.stale
        ? "definition changed: rebuild to apply it"
        : p.state === "crashed"
          ? `after applying up to position ${p.atPosition}, before committing: nothing of that round was kept`
          : p.state === "failed"
            ? `stopped at position ${p.atPosition}: ${p.message}`
            : "";
      const actions = [];
      const action = (label, run) => {
        const button = el("button", { type: "button", class: "secondary", "data-action": label }, label);
        button.addEventListener("click", async () => {
          try {
            run();
          } catch (error) {
            showResult(ui.queryStatus, "error", error.message);
          }
          await renderReadModel();
        });
        actions.push(button);
      };
      if (p.state === "running") action("Pause", () => sandbox.pauseProjection(p.name));
      else if (!p.stale) action("Resume", () => sandbox.resumeProjection(p.name));
      action("Crash", () => sandbox.crashProjection(p.name, 1));
      action("Rebuild", () => sandbox.rebuildProjection(p.name));
      return el(
        "tr",
        { "data-projection": p.name, title: p.description },
        el("td", {}, p.name),
        el("td", {}, `${p.checkpoint} / ${model.head}`, behind > 0 ? ` (${behind} behind)` : ""),
        el("td", {}, el("span", { class: "state-badge", "data-state": state }, state), detail ? ` ${detail}` : ""),
        el("td", {}, actions),
      );
    }),
  );
}

async function runQuery(sql) {
  if (!sandbox) return;
  remember(sql);
  try {
    const model = await sandbox.projections();
    delete ui.queryStatus.dataset.kind;
    ui.queryStatus.textContent = "Running…";
    // The query runs in a worker on a copy of the read model: the page stays live meanwhile.
    const database = await sandbox.readModelCopy({ exclude: [...excluded] });
    const answer = await queryInWorker(database, sql, QUERY_LIMITS);
    answer.whatIf = excluded.size > 0;
    fill(ui.queryHead, el("tr", {}, answer.columns.map((c) => el("th", {}, c))));
    fill(
      ui.queryBody,
      answer.rows.map((row) => el("tr", {}, row.map((value) => el("td", { class: value === null ? "null" : undefined }, value === null ? "NULL" : String(value))))),
    );
    const more = answer.totalRows - answer.rows.length;
    const lag = Math.min(...model.projections.filter((p) => p.name !== "events").map((p) => p.checkpoint), model.head);
    const notes = [
      `${answer.totalRows} row(s) in ${answer.ms.toFixed(1)} ms`,
      more > 0 ? `showing the first ${answer.rows.length}, ${more} more` : "",
      answer.whatIf ? "what-if: computed in a separate read model without the events left out" : "",
      !answer.whatIf && lag < model.head ? `read model behind the log (position ${lag} of ${model.head}): the answer may be stale` : "",
    ];
    showResult(ui.queryStatus, "ok", notes.filter(Boolean).join("; ") + ".");
  } catch (error) {
    fill(ui.queryHead);
    fill(ui.queryBody);
    showResult(ui.queryStatus, "error", error.message);
  }
}

function remember(sql) {
  const history = [sql, ...loadHistory().filter((q) => q !== sql)].slice(0, 15);
  try {
    localStorage.setItem(HISTORY_KEY, JSON.stringify(history));
  } catch {
    // A full or blocked localStorage only loses the history.
  }
  renderHistory();
}

function loadHistory() {
  try {
    const history = JSON.parse(localStorage.getItem(HISTORY_KEY) ?? "[]");
    return Array.isArray(history) ? history.filter((q) => typeof q === "string") : [];
  } catch {
    return [];
  }
}

function renderHistory() {
  fill(
    ui.history,
    loadHistory().map((sql) => {
      const button = el("button", { type: "button", class: "link" }, sql);
      button.addEventListener("click", () => {
        ui.queryForm.sql.value = sql;
      });
      return el("li", {}, button);
    }),
  );
}

async function renderState() {
  const aggregateId = ui.aggregate.value;
  if (!aggregateId) {
    fill(ui.trace);
    ui.state.textContent = "";
    ui.replayInfo.textContent = "No aggregates yet.";
    return;
  }
  try {
    const replay = await sandbox.replay(aggregateId, { trace: true, exclude: [...excluded] });
    let before = replay.trace.initialState;
    fill(
      ui.trace,
      replay.trace.steps.map((step) => {
        const changes = changedFields(before, step.state);
        before = step.state;
        const text = step.excluded ? "left out" : changes.join(", ") || "no change";
        return el("li", { class: step.excluded ? "left-out" : undefined }, el("b", {}, `v${step.version} ${step.type}`), " ", text);
      }),
    );
    ui.state.textContent = JSON.stringify(replay.state, null, 2);
    const from = replay.fromSnapshot === null ? "the start" : `the snapshot at version ${replay.fromSnapshot}`;
    const whatIf = replay.excludedVersions.length ? `, leaving out version(s) ${replay.excludedVersions.join(", ")}` : "";
    const skipped = replay.skippedSnapshots.map((s) => ` Skipped the snapshot at version ${s.version}: ${s.message}.`).join("");
    ui.replayInfo.textContent = `${replay.kind} ${aggregateId} at version ${replay.version}: replayed ${replay.eventsReplayed} event(s) from ${from}${whatIf}.${skipped}`;
  } catch (error) {
    fill(ui.trace);
    ui.state.textContent = "";
    ui.replayInfo.textContent = `Replay failed: ${error.message}`;
  }
}

function setAggregateInForms(aggregateId) {
  ui.commandForm.aggregateId.value = aggregateId;
  ui.appendForm.aggregateId.value = aggregateId;
  fillCommands();
  fillEventTypes();
}

function fillCommands() {
  const kind = sandbox.aggregateKind(ui.commandForm.aggregateId.value);
  fillSelect(ui.commandForm.command, kind ? kind.commands.map((c) => c.name) : []);
  fillExample();
}

function fillExample() {
  const kind = sandbox.aggregateKind(ui.commandForm.aggregateId.value);
  const command = kind?.commands.find((c) => c.name === ui.commandForm.command.value);
  ui.commandForm.payload.value = command ? JSON.stringify(command.example) : "{}";
  ui.commandForm.querySelector("[name=help]").textContent = command?.description ?? "";
}

function fillEventTypes() {
  const kind = sandbox.aggregateKind(ui.appendForm.aggregateId.value);
  fillSelect(ui.appendForm.type, kind ? kind.eventTypes.map((t) => t.name) : []);
}

/** Parses a JSON text field, or says which field is not JSON. */
function parseJson(text, field) {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw Object.assign(new Error(`${field} is not valid JSON: ${error.message}`), { kind: "badInput" });
  }
}

const RETRY = "Already stored: nothing was written (an idempotent retry).";

/** What a command stored, event by event. */
function describeCommitted(committed) {
  if (committed.alreadyStored) return RETRY;
  if (committed.events.length === 0) return "The command decided that nothing happens: no events.";
  const list = committed.events.map((e) => `${e.type} (version ${e.version}, position ${e.position})`).join(", ");
  return `Stored ${list}.`;
}

/** What a raw append stored. */
function describeAppended(appended, type) {
  if (appended.alreadyStored) return RETRY;
  return `Stored ${type} (version ${appended.lastVersion}, position ${appended.lastPosition}).`;
}

function showError(node, error) {
  if (error.kind === "businessRule") {
    showResult(node, "rejected", `Rejected: ${error.details?.message ?? error.message}. Nothing was stored.`);
  } else if (error.kind === "conflict") {
    const { expected, actual } = error.details;
    showResult(node, "conflict", `Conflict: expected version ${expected}, actual version ${actual}. Nothing was stored.`);
  } else {
    showResult(node, "error", error.message);
  }
}

async function executeCommand() {
  const form = ui.commandForm;
  try {
    const payload = parseJson(form.payload.value || "{}", "Payload");
    const committed = await sandbox.execute(form.aggregateId.value.trim(), form.command.value, payload);
    showResult(ui.commandResult, "ok", describeCommitted(committed));
    await refresh(committed.aggregateId);
  } catch (error) {
    showError(ui.commandResult, error);
  }
}

async function appendEvent() {
  const form = ui.appendForm;
  try {
    const data = parseJson(form.data.value || "{}", "Data");
    const text = form.expected.value.trim();
    const expected = text === "" ? "any" : Number(text);
    if (Number.isNaN(expected)) throw new Error("Expected version must be a number or empty for any.");
    const appended = await sandbox.append(form.aggregateId.value.trim(), [{ type: form.type.value, data }], { expected });
    showResult(ui.appendResult, "ok", describeAppended(appended, form.type.value));
    await refresh(appended.aggregateId);
  } catch (error) {
    showError(ui.appendResult, error);
  }
}
