// The es-sandbox page: composes the panels (one custom element each, in panels/) over one
// session, and the page's own controls: which scenario, which storage, reset. Domain logic
// lives in wasm; the panels render what it answers.
import { loadModule, Sandbox, Session } from "./session.js";
import "./panels/status.js";
import "./panels/recovery.js";
import "./panels/log.js";
import "./panels/state.js";
import "./panels/command.js";
import "./panels/append.js";
import "./panels/read-model.js";
import "./panels/query.js";
import { fillSelect } from "./view.js";

const $ = (selector) => document.querySelector(selector);
const scenario = $("#scenario");
const storage = $("#storage");
const params = new URLSearchParams(location.search);

await loadModule();
fillSelect(scenario, Sandbox.shippedScenarios(), params.get("scenario") ?? "bank");
storage.value = params.get("storage") ?? "indexeddb";

const session = new Session();
for (const panel of document.querySelectorAll("[data-panel]")) panel.session = session;

/** Opens the chosen scenario on the chosen storage; the store's name is the URL's, or the scenario's. */
const open = () => session.open({ scenario: scenario.value, storage: storage.value, name: params.get("name") ?? scenario.value });
scenario.addEventListener("change", open);
storage.addEventListener("change", open);
$("#reset").addEventListener("click", () => session.reset());
// The store may have been opened with its own scenario: the choice shows it.
session.addEventListener("opened", () => {
  if ([...scenario.options].some((o) => o.value === session.scenario)) scenario.value = session.scenario;
});
document.addEventListener("visibilitychange", () => {
  // A tab in the background may have missed announcements: read what is new.
  if (document.visibilityState === "visible") session.sandbox?.refresh().catch(() => {});
});
await open();
