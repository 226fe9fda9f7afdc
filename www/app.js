// The es-sandbox page: composes the panels (one custom element each, in panels/) over one
// session, and the page's own controls: which scenario, which storage, reset, the tour. Domain
// logic lives in wasm; the panels render what it answers.
import { loadModule, Session } from "./session.js";
import "./panels/status.js";
import "./panels/recovery.js";
import "./panels/tour.js";
import { linkStoreName } from "./panels/exchange.js";
import { PANELS } from "./panels/catalog.js";
import { el, fillSelect } from "./view.js";

const $ = (selector) => document.querySelector(selector);

// The panels, in the catalog's order, and a link to each in the section bar.
$("nav").append(...PANELS.filter((p) => p.label).map((p) => el("a", { href: `#${p.section}` }, p.label)));
$("main").append(...PANELS.map((p) => el(p.tag, { "data-panel": "", class: p.wide ? "wide" : undefined })));
// The module downloads and compiles while the panels' modules load.
const module = loadModule();
await Promise.all(PANELS.map((p) => import(`./panels/${p.tag.slice("es-".length)}.js`)));
const scenario = $("#scenario");
const storage = $("#storage");
const params = new URLSearchParams(location.search);
const STORAGES = ["indexeddb", "localstorage", "memory"];

// The built, hosted app keeps itself for offline use (scripts/dist marks its page).
const worker = document.documentElement.dataset.serviceWorker;
if (worker && "serviceWorker" in navigator && location.protocol !== "file:") {
  navigator.serviceWorker.register(worker).catch(() => {});
}

const { Sandbox } = await module;
// URL parameters are user input: only known values are used.
const shipped = Sandbox.shippedScenarios();
fillSelect(scenario, shipped, shipped.includes(params.get("scenario")) ? params.get("scenario") : "bank");
storage.value = STORAGES.includes(params.get("storage")) ? params.get("storage") : "indexeddb";

const session = new Session();
for (const panel of document.querySelectorAll("[data-panel]")) panel.session = session;

const first = scenario.value;
/**
 * The store a scenario opens: the URL's `name` for the scenario the URL asked for, that name and
 * the scenario's for another (a store holds one scenario), else the scenario's own.
 */
const storeName = (chosen) => {
  const name = params.get("name");
  if (!name) return chosen;
  return chosen === first ? name : `${name}-${chosen}`;
};
/** Opens the chosen scenario on the chosen storage. */
const open = () => session.open({ scenario: scenario.value, storage: storage.value, name: storeName(scenario.value) });
scenario.addEventListener("change", open);
storage.addEventListener("change", open);

// Reset deletes every event: it asks first.
const confirm = $("#reset-confirm");
$("#reset").addEventListener("click", () => {
  confirm.hidden = false;
  confirm.querySelector('[data-answer="no"]').focus();
});
confirm.addEventListener("click", async (event) => {
  const answer = event.target.dataset?.answer;
  if (!answer) return;
  confirm.hidden = true;
  $("#reset").focus();
  if (answer === "yes") await session.reset();
});
confirm.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    confirm.hidden = true;
    $("#reset").focus();
  }
});

$("#tour-open").addEventListener("click", () => $("es-tour").open());
// The labs ask for the rules editor or another scenario through events.
document.addEventListener("es-add-upcaster", ({ detail }) => $("es-rules").addUpcaster(detail.eventType));
document.addEventListener("es-edit-projection", ({ detail }) => $("es-rules").editProjection(detail.name));
document.addEventListener("es-switch-scenario", ({ detail }) => {
  scenario.value = detail.scenario;
  open();
});

// The store may have been opened with its own scenario: the choice shows it.
session.addEventListener("opened", () => {
  if ([...scenario.options].some((o) => o.value === session.scenario)) scenario.value = session.scenario;
});
document.addEventListener("visibilitychange", () => {
  // A tab in the background may have missed announcements: read what is new.
  if (document.visibilityState === "visible") session.sandbox?.refresh().catch(() => {});
});
// A share link carries its scenario and log in the fragment: it opens in a store of its own.
// A consumers lab run may follow it (`&lab=`): the consumers panel replays it once the log is open.
const [share, lab] = location.hash.startsWith("#share=") ? location.hash.slice("#share=".length).split("&lab=") : [""];
session.sharedLab = share && lab ? lab : undefined;
if (share && (await session.open({ share, storage: storage.value, name: linkStoreName(share) }))) {
  $("es-exchange").sharing = true;
} else {
  if (share) {
    session.notify(`This shared link could not be opened, so the ${scenario.value} scenario is shown instead. ${session.lastError?.message ?? ""}`);
    history.replaceState(null, "", location.pathname + location.search);
  }
  await open();
}
