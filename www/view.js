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

const TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium" });

/** A timestamp (ms) as local date and time (one formatter for all: a table draws many). */
export function formatTime(ms) {
  return TIME.format(new Date(ms));
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

/** A count with thousands separators. */
export function formatCount(n) {
  return Number(n).toLocaleString("en-US");
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
