// The es-sandbox page: the event log, the selected aggregate's replayed state, forms to execute
// commands and append raw events, live updates from other tabs. Domain logic lives in wasm.
import init, { Sandbox } from "./pkg/es_sandbox.js";
import { changedFields, compact, el, fill, fillSelect, formatTime, showResult } from "./view.js";

const $ = (selector) => document.querySelector(selector);
const ui = {
  status: $("#status"),
  live: $("#live"),
  scenario: $("#scenario"),
  storage: $("#storage"),
  reset: $("#reset"),
  recovery: $("#recovery"),
  recoveryReason: $("#recovery-reason"),
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
};
const SHOWN_EVENTS = 200;

let sandbox;
let unsubscribe;

await init();
const params = new URLSearchParams(location.search);
fillSelect(ui.scenario, Sandbox.shippedScenarios(), params.get("scenario") ?? "bank");
ui.storage.value = params.get("storage") ?? "indexeddb";
/** The store: its kind, and a name (the scenario's unless the URL names one). */
const store = () => ({ storage: ui.storage.value, name: params.get("name") ?? ui.scenario.value });
ui.scenario.addEventListener("change", () => openScenario(ui.scenario.value));
ui.storage.addEventListener("change", () => openScenario(ui.scenario.value));
ui.reset.addEventListener("click", () => resetStore());
$("#recovery-reset").addEventListener("click", () => resetStore());
$("#export").addEventListener("click", () => exportStore());
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
    if (error.kind === "corrupt") {
      ui.recoveryReason.textContent = error.message;
      ui.recovery.hidden = false;
    }
    return;
  }
  const info = sandbox.scenario();
  const where = sandbox.storeInfo();
  ui.description.textContent = info.description;
  unsubscribe = sandbox.subscribe((notice) => onNotice(notice));
  await refresh();
  setAggregateInForms(ui.aggregate.value);
  const lasting = where.durable ? "they survive reloads and are shared with other tabs" : "a reload starts over";
  ui.status.textContent = `${info.title || info.name}: events are stored in ${where.location}; ${lasting}.`;
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
  if (source !== "remote") return;
  remote.count += events.length;
  remote.last = events.at(-1).position;
  remote.redraw ??= setTimeout(async () => {
    ui.live.textContent = `${remote.count} new event(s) from another tab, up to position ${remote.last}.`;
    remote = { count: 0, last: 0, redraw: undefined };
    await refresh(ui.aggregate.value || undefined);
  }, 100);
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

/** Downloads everything stored, decoded where possible, as a JSON file. */
async function exportStore() {
  const text = await Sandbox.exportStore(store());
  const link = el("a", { href: URL.createObjectURL(new Blob([text], { type: "application/json" })), download: `${store().name}-export.json` });
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
        { "data-position": e.position },
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
  await renderState();
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
    const replay = await sandbox.replay(aggregateId, { trace: true });
    let before = replay.trace.initialState;
    fill(
      ui.trace,
      replay.trace.steps.map((step) => {
        const changes = changedFields(before, step.state);
        before = step.state;
        return el("li", {}, el("b", {}, `v${step.version} ${step.type}`), " ", changes.join(", ") || "no change");
      }),
    );
    ui.state.textContent = JSON.stringify(replay.state, null, 2);
    const from = replay.fromSnapshot === null ? "the start" : `the snapshot at version ${replay.fromSnapshot}`;
    ui.replayInfo.textContent = `${replay.kind} ${aggregateId} at version ${replay.version}: replayed ${replay.eventsReplayed} event(s) from ${from}.`;
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
