// The consumers lab's settings as a form: one field per setting of the module's LabSettings
// (KurrentDB's names for the group's), read into and filled from the nested settings object.
// The module checks every range when a run starts and names the setting it refused.
import { el } from "../view.js";

const choices = (...pairs) => pairs.map(([value, label]) => ({ value, label }));

/** Every field: its path in the settings, label, kind, and where it goes. */
export const FIELDS = [
  { path: "consumers", label: "Consumers", type: "number", min: 1, max: 4, part: "main" },
  { path: "kind", label: "Subscription", type: "select", options: choices(["persistent", "persistent (the store tracks the group)"], ["catchUp", "catch-up (each consumer its own checkpoint)"]), part: "main" },
  { path: "topology", label: "Consumers are", type: "select", options: choices(["independent", "independent (each builds the whole read model)"], ["competing", "competing (one group shares the messages)"]), part: "main" },
  { path: "group.strategy", label: "Strategy", type: "select", options: choices(["RoundRobin", "round robin"], ["DispatchToSingle", "dispatch to single"], ["Pinned", "pinned by aggregate"]), part: "main" },
  { path: "commit", label: "Commit", type: "select", options: choices(["afterHandling", "after handling (at least once)"], ["beforeHandling", "before handling (at most once)"]), part: "main" },
  { path: "inbox", label: "Inbox of handled event ids", type: "checkbox", part: "main" },
  { path: "onFailure", label: "On a failure", type: "select", options: choices(["retry", "nack: retry"], ["park", "nack: park"], ["skip", "nack: skip"]), part: "main" },
  { path: "link.latencyMs", label: "Latency (ms)", type: "number", min: 0, max: 60000, step: 10, part: "link" },
  { path: "link.jitterMs", label: "Jitter (ms)", type: "number", min: 0, max: 60000, step: 10, part: "link" },
  { path: "link.dropPercent", label: "Drop %", type: "number", min: 0, max: 99, step: 1, part: "link" },
  { path: "link.duplicatePercent", label: "Duplicate %", type: "number", min: 0, max: 100, step: 1, part: "link" },
  { path: "link.reorderMs", label: "Reorder window (ms)", type: "number", min: 0, max: 60000, step: 10, part: "link" },
  { path: "seed", label: "Seed", type: "number", min: 0, step: 1, part: "link" },
  { path: "group.messageTimeoutMs", label: "messageTimeout (ms)", type: "number", min: 10, step: 10, part: "more" },
  { path: "group.maxRetryCount", label: "maxRetryCount", type: "number", min: 0, max: 100, part: "more" },
  { path: "group.inFlightLimit", label: "In-flight limit per consumer", type: "number", min: 1, max: 10000, part: "more" },
  { path: "group.checkpointAfterMs", label: "checkPointAfter (ms)", type: "number", min: 0, step: 10, part: "more" },
  { path: "group.minCheckpointCount", label: "minCheckPointCount", type: "number", min: 1, part: "more" },
  { path: "group.maxCheckpointCount", label: "maxCheckPointCount", type: "number", min: 1, part: "more" },
  { path: "handlingMs", label: "Handling time (ms)", type: "number", min: 0, step: 1, part: "more" },
  { path: "restartMs", label: "Restart after a crash (ms)", type: "number", min: 0, step: 10, part: "more" },
];

/** The lab's default settings (the module's defaults), which a guided step starts from. */
export const DEFAULTS = {
  seed: 1,
  kind: "persistent",
  topology: "independent",
  consumers: 2,
  group: { messageTimeoutMs: 1000, maxRetryCount: 3, inFlightLimit: 5, checkpointAfterMs: 500, minCheckpointCount: 1, maxCheckpointCount: 100, strategy: "RoundRobin" },
  link: { latencyMs: 100, jitterMs: 0, dropPercent: 0, duplicatePercent: 0, reorderMs: 0 },
  commit: "afterHandling",
  inbox: false,
  onFailure: "retry",
  handlingMs: 10,
  restartMs: 500,
};

const get = (object, path) => path.split(".").reduce((o, key) => o?.[key], object);

function set(object, path, value) {
  const keys = path.split(".");
  const last = keys.pop();
  const parent = keys.reduce((o, key) => (o[key] ??= {}), object);
  parent[last] = value;
}

/** Settings merged over others, part by part. */
export function merged(base, over = {}) {
  return { ...base, ...over, group: { ...base.group, ...over.group }, link: { ...base.link, ...over.link } };
}

function field(spec) {
  const name = spec.path;
  const testid = `lab-${name.replace(".", "-")}`;
  if (spec.type === "checkbox") {
    return el("label", { class: "inline" }, el("input", { type: "checkbox", name, "data-testid": testid }), ` ${spec.label}`);
  }
  const input =
    spec.type === "select"
      ? el("select", { name, "data-testid": testid }, spec.options.map((o) => el("option", { value: o.value }, o.label)))
      : el("input", { type: "number", name, min: spec.min, max: spec.max, step: spec.step ?? 1, "data-testid": testid, inputmode: "decimal" });
  return el("label", {}, spec.label, input);
}

/** The settings fields, grouped: the subscription, the link, and the rest in a disclosure. */
export function settingsFields() {
  const part = (name) => FIELDS.filter((f) => f.part === name).map(field);
  return [
    el("fieldset", { class: "lab-settings" }, el("legend", {}, "Subscription"), part("main")),
    el("fieldset", { class: "lab-settings" }, el("legend", {}, "Network (each consumer's link, both ways)"), part("link")),
    el("details", {}, el("summary", {}, "Group settings and timings"), el("div", { class: "lab-settings" }, part("more"))),
  ];
}

/** Reads the settings from the form's fields; a number field that holds no number is refused by name. */
export function readSettings(form) {
  const settings = {};
  for (const spec of FIELDS) {
    const input = form.elements[spec.path];
    let value = spec.type === "checkbox" ? input.checked : input.value;
    if (spec.type === "number") {
      value = input.value.trim() === "" ? NaN : Number(input.value);
      if (!Number.isFinite(value)) throw Object.assign(new Error(`${spec.label} needs a number.`), { kind: "badInput" });
    }
    set(settings, spec.path, value);
  }
  return settings;
}

/** Fills the form's fields from settings. */
export function fillSettings(form, settings) {
  for (const spec of FIELDS) {
    const input = form.elements[spec.path];
    const value = get(settings, spec.path);
    if (value === undefined) continue;
    if (spec.type === "checkbox") input.checked = Boolean(value);
    else input.value = String(value);
  }
}
