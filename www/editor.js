// A small code editor: a textarea over a highlighted copy of its text, with line numbers and an
// error marker at a line and column. Chosen over CodeMirror 6 (about 150 KB bundled, and a build
// step for the page) because the page edits scripts of a few dozen lines: a textarea keeps
// native editing, undo, selection and accessibility, and highlighting needs one tokenizer per
// language. Highlighted text is built from text nodes only.
import { el, fill } from "./view.js";

const RHAI_KEYWORDS = new Set(
  "fn let const if else for in while loop do until return throw true false switch break continue import export as private this try catch".split(" "),
);
const SQL_KEYWORDS = new Set(
  "select from where insert into values update set delete create table view index primary key on conflict do nothing not null and or order by group having limit offset as join left inner outer union all distinct case when then else end integer text real blob default excluded replace if exists with recursive count sum avg min max coalesce pragma".split(
    " ",
  ),
);

/** Token patterns per language, tried in order; the first that matches at a place wins. */
const LANGUAGES = {
  rhai: [
    ["comment", /\/\/[^\n]*|\/\*[\s\S]*?(\*\/|$)/y],
    ["string", /"(\\.|[^"\\\n])*"?|`(\\.|[^`\\])*`?|'(\\.|[^'\\\n])'?/y],
    ["number", /\b\d[\d_]*(\.\d+)?\b/y],
    ["word", /[A-Za-z_]\w*/y],
  ],
  sql: [
    ["comment", /--[^\n]*/y],
    ["string", /'(''|[^'])*'?/y],
    ["param", /[:@$]\w+/y],
    ["number", /\b\d+(\.\d+)?\b/y],
    ["word", /[A-Za-z_]\w*/y],
  ],
  json: [
    ["key", /"(\\.|[^"\\])*"(?=\s*:)/y],
    ["string", /"(\\.|[^"\\])*"?/y],
    ["number", /-?\b\d+(\.\d+)?([eE][+-]?\d+)?\b/y],
    ["keyword", /\b(true|false|null)\b/y],
  ],
};

/** The text split into [kind, text] tokens (kind "" for plain text). */
export function tokenize(text, language) {
  const patterns = LANGUAGES[language] ?? [];
  const tokens = [];
  let plain = "";
  let at = 0;
  outer: while (at < text.length) {
    for (const [kind, pattern] of patterns) {
      pattern.lastIndex = at;
      const match = pattern.exec(text);
      if (!match || match[0].length === 0) continue;
      if (plain) tokens.push(["", plain]);
      plain = "";
      tokens.push([wordKind(kind, match[0], text, at + match[0].length, language), match[0]]);
      at += match[0].length;
      continue outer;
    }
    plain += text[at];
    at += 1;
  }
  if (plain) tokens.push(["", plain]);
  return tokens;
}

/** What a word is: a keyword, a function being called or defined, or a plain name. */
function wordKind(kind, word, text, after, language) {
  if (kind !== "word") return kind;
  const keywords = language === "sql" ? SQL_KEYWORDS : RHAI_KEYWORDS;
  if (keywords.has(language === "sql" ? word.toLowerCase() : word)) return "keyword";
  return /^\s*\(/.test(text.slice(after, after + 8)) ? "function" : "";
}

/**
 * An editor for `language` ("rhai", "sql" or "json") labelled `label`. Returns { element,
 * value (get/set), setLanguage(language), markError(line, column, message), clearError(),
 * onInput(handler) }.
 */
export function codeEditor({ language: initial, label, rows = 14, testid }) {
  let language = initial;
  const gutter = el("div", { class: "gutter", "aria-hidden": "true" });
  const highlight = el("pre", { class: "highlight", "aria-hidden": "true" }, el("code"));
  const area = el("textarea", { rows, spellcheck: "false", autocapitalize: "off", autocomplete: "off", "aria-label": label, "data-testid": testid });
  const message = el("p", { class: "editor-error", role: "alert", hidden: "" });
  const element = el("div", { class: "code-editor" }, el("div", { class: "code-frame" }, gutter, highlight, area), message);
  let errorLine;

  const render = () => {
    const text = area.value;
    fill(
      highlight.firstChild,
      tokenize(text + "\n", language).map(([kind, part]) => (kind ? el("span", { class: `tok-${kind}` }, part) : part)),
    );
    const lines = text.split("\n").length;
    fill(
      gutter,
      Array.from({ length: lines }, (_, i) => el("div", { class: i + 1 === errorLine ? "error" : undefined }, i + 1)),
    );
    // Reading the textarea's scroll forces a layout of the page: once in the next frame, not
    // on every render (a panel out of view renders its editor when a store opens).
    if (!pending) pending = requestAnimationFrame(sync);
  };
  let pending;
  const sync = () => {
    pending = undefined;
    highlight.scrollTop = area.scrollTop;
    highlight.scrollLeft = area.scrollLeft;
    gutter.scrollTop = area.scrollTop;
  };
  area.addEventListener("input", render);
  area.addEventListener("scroll", sync);
  // Tab indents rather than leaving the editor; Escape then Tab leaves it (keyboard users).
  let escaped = false;
  area.addEventListener("keydown", (event) => {
    if (event.key === "Escape") escaped = true;
    else if (event.key === "Tab" && !escaped && !event.shiftKey) {
      event.preventDefault();
      const { selectionStart: start, selectionEnd: end } = area;
      area.setRangeText("    ", start, end, "end");
      render();
    } else escaped = false;
  });

  return {
    element,
    get value() {
      return area.value;
    },
    set value(text) {
      area.value = text;
      this.clearError();
    },
    /** Marks a line (and column) as where an error is, says it, and puts the caret there. */
    markError(line, column, text) {
      errorLine = line;
      message.hidden = false;
      message.textContent = text;
      render();
      if (line) {
        const lines = area.value.split("\n");
        const offset = lines.slice(0, line - 1).reduce((sum, l) => sum + l.length + 1, 0) + Math.max(0, (column ?? 1) - 1);
        area.focus();
        area.setSelectionRange(offset, offset);
      }
    },
    setLanguage(next) {
      language = next;
      element.dataset.language = next;
      render();
    },
    clearError() {
      errorLine = undefined;
      message.hidden = true;
      message.textContent = "";
      render();
    },
    onInput(handler) {
      area.addEventListener("input", handler);
    },
  };
}
