// DOM helpers: build elements from data with textContent only (event data is user input).

/** Creates an element with attributes and children (strings become text nodes). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replaces an element's children. */
export function fill(node, ...children) {
  node.replaceChildren(...children.flat());
}

/** Fills a <select> with options, keeping the current choice when it still exists. */
export function fillSelect(select, values, preferred) {
  const keep = preferred ?? select.value;
  fill(select, values.map((value) => el("option", { value }, value)));
  if (values.includes(keep)) select.value = keep;
}

/** Compact JSON for table cells. */
export function compact(value) {
  return JSON.stringify(value);
}

const two = (n) => String(n).padStart(2, "0");

/**
 * A timestamp (ms) as local date and time, 2026-12-02 19:04:05. Written out by hand: the
 * browser's locale formatters cost tens of milliseconds to set up, on the way to the first row.
 */
export function formatTime(ms) {
  const t = new Date(ms);
  if (Number.isNaN(t.getTime())) return String(ms);
  return `${t.getFullYear()}-${two(t.getMonth() + 1)}-${two(t.getDate())} ${two(t.getHours())}:${two(t.getMinutes())}:${two(t.getSeconds())}`;
}

/** Shows an outcome in a status line: ok, rejected (a business rule) or error. */
export function showResult(node, kind, message) {
  node.dataset.kind = kind;
  node.textContent = message;
}

const SVG = "http://www.w3.org/2000/svg";

/** Creates an SVG element with attributes and children (strings become text nodes). */
export function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A byte count as people read it. */
export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** A number with thousands separators and at most three decimals, 12,345.678 (no locale formatter, as above). */
export function formatCount(n) {
  const number = Number(n);
  const [whole, fraction] = String(Math.round(Math.abs(number) * 1000) / 1000).split(".");
  if (!Number.isFinite(number) || whole.includes("e")) return String(number);
  return `${number < 0 && whole + (fraction ?? "") !== "0" ? "-" : ""}${whole.replace(/\B(?=(\d{3})+$)/g, ",")}${fraction ? `.${fraction}` : ""}`;
}

/** A short form of an event id (its first 8 characters); the whole id goes in a title. */
export function shortId(id) {
  return id.slice(0, 8);
}

/** A button that runs `run` when clicked. */
export function button(text, run, attributes = {}) {
  const node = el("button", { type: "button", ...attributes }, text);
  node.addEventListener("click", run);
  return node;
}

/** Offers a text as a file download. */
export function download(name, text, type = "application/json") {
  const link = el("a", { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  link.click();
  // The click starts the download at once; the URL can go after this turn.
  setTimeout(() => URL.revokeObjectURL(link.href), 0);
}
