// <es-log>: the event log, every fact in order, scrolled virtually so that 100,000 events are
// all there (no cap): only the rows in view are in the page, fetched a block at a time. Filters
// by aggregate and type with a count; snapshot markers; a click on a row travels in time to it
// (later events are the future) and selects it for the labs; a box per event leaves it out
// (what-if).
import { compact, el, fill, fillSelect, formatCount, formatTime, shortId } from "../view.js";
import { Panel, touches } from "./panel.js";

/** Every row's height in pixels (the stylesheet holds rows to it). */
const ROW = 32;
/** Rows fetched at a time. */
const BLOCK = 200;
/** Rows drawn above and below the visible ones. */
const OVERSCAN = 8;
/** Each column's heading and the key its cells and width rule go by. */
const COLUMNS = [
  ["Out", "out"],
  ["#", "position"],
  ["Event id", "id"],
  ["Aggregate", "aggregate"],
  ["Version", "version"],
  ["Type", "type"],
  ["Schema", "schema"],
  ["Data", "data"],
  ["Time", "time"],
];
const ALL = "";

class LogPanel extends Panel {
  /** How many events match the filters. */
  #total = 0;
  /** Fetched blocks of events by block index, for the current filters and log. */
  #blocks = new Map();
  #fetching = new Set();
  /** Counts reloads: a block fetched for an earlier log or filter is dropped, not drawn. */
  #generation = 0;
  /** Snapshot markers by "aggregate@version". */
  #snapshots = new Map();
  /** Whether the view follows the end of the log as it grows. */
  #following = true;
  #frame;

  template() {
    return [
      el(
        "section",
        { id: "log-panel", "aria-labelledby": "log-title" },
        el("h2", { id: "log-title" }, "Event log"),
        el(
          "p",
          { class: "muted" },
          "Every fact, in order; nothing here is ever changed or deleted. Click a row to see everything as of that event (time travel). Tick “Out” to see the state and queries as if it had never happened (what-if).",
        ),
        el(
          "div",
          { class: "filters" },
          el("label", {}, "Aggregate ", el("select", { id: "log-aggregate", "data-testid": "log-aggregate" })),
          el("label", {}, "Type ", el("select", { id: "log-type", "data-testid": "log-type" })),
          el("span", { id: "log-count", class: "count", role: "status", "data-testid": "log-count" }),
        ),
        el(
          "p",
          { id: "what-if", class: "what-if", hidden: "", "data-testid": "what-if" },
          el("span"),
          " ",
          el("button", { type: "button", class: "secondary" }, "Put them back"),
        ),
        el(
          "div",
          { id: "log-scroll", class: "log-scroll", tabindex: "0", role: "region", "aria-label": "Event log rows" },
          el(
            "table",
            { id: "events", "data-testid": "events" },
            el(
              "thead",
              {},
              el(
                "tr",
                {},
                COLUMNS.map(([label, key]) => el("th", { class: `col-${key}`, scope: "col", title: key === "out" ? "Leave out (what-if)" : undefined }, label)),
              ),
            ),
            el("tbody"),
          ),
        ),
      ),
    ];
  }

  ready() {
    this.$("#what-if button").addEventListener("click", () => this.session.putBack());
    const scroll = this.$("#log-scroll");
    scroll.addEventListener("scroll", () => {
      this.#following = scroll.scrollTop + scroll.clientHeight >= scroll.scrollHeight - ROW;
      this.#schedule();
    });
    const body = this.$("#events tbody");
    body.addEventListener("change", (event) => {
      const id = event.target.dataset?.eventId;
      if (id) this.session.leaveOut(id, event.target.checked);
    });
    const travel = (row) => {
      const event = this.#eventAt(Number(row.dataset.index));
      if (event) this.session.travel(event.position, event);
    };
    body.addEventListener("click", (event) => {
      if (event.target.closest("input, button")) return;
      const row = event.target.closest("tr[data-position]");
      if (row) travel(row);
    });
    body.addEventListener("keydown", (event) => {
      const row = event.target.closest?.("tr[data-position]");
      if (!row || event.target !== row) return;
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        travel(row);
      } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        this.#focusRow(Number(row.dataset.index) + (event.key === "ArrowDown" ? 1 : -1));
      }
    });
    for (const filter of ["#log-aggregate", "#log-type"]) {
      this.$(filter).addEventListener("change", () => {
        this.#following = true;
        this.reload();
      });
    }
  }

  attach() {
    this.on("opened", () => {
      this.$("#log-aggregate").value = ALL;
      this.$("#log-type").value = ALL;
      this.#following = true;
    });
    // A new log is fetched again; a moved cursor, selection or what-if only re-marks the rows
    // drawn (the slider moves the cursor many times a second).
    this.on("changed", ({ detail }) => (touches(detail, ["log"]) ? this.reload() : this.#mark()));
  }

  /** The current filters as an event query. */
  #query() {
    const aggregateId = this.$("#log-aggregate").value || undefined;
    const type = this.$("#log-type").value;
    return { aggregateId, eventTypes: type ? [type] : [] };
  }

  /** The log changed: count again, forget fetched rows, and draw. */
  async reload() {
    const { sandbox, info } = this.session;
    if (!sandbox) return;
    const latest = this.begin();
    const [streams, total, markers] = await Promise.all([
      sandbox.streams(),
      sandbox.countEvents(this.#query()),
      sandbox.snapshotMarkers(),
    ]);
    if (!latest()) return;
    const aggregates = [ALL, ...streams.map((s) => s.aggregateId)];
    const types = [ALL, ...new Set(info.aggregates.flatMap((a) => a.eventTypes.map((t) => t.name)))];
    fillSelect(this.$("#log-aggregate"), aggregates);
    fillSelect(this.$("#log-type"), types);
    for (const select of [this.$("#log-aggregate"), this.$("#log-type")]) {
      const all = select.querySelector('option[value=""]');
      if (all) all.textContent = "all";
    }
    this.#total = total;
    this.#generation++;
    this.#blocks.clear();
    this.#fetching.clear();
    this.#snapshots = new Map(markers.map((m) => [`${m.aggregateId}@${m.version}`, m]));
    const filtered = this.$("#log-aggregate").value || this.$("#log-type").value;
    this.$("#log-count").textContent = `${formatCount(total)} event${total === 1 ? "" : "s"}${filtered ? " match the filters" : " in the log"}`;
    // Following the end, the last rows are drawn, where the view is about to be.
    this.#draw(this.#following ? Infinity : undefined);
    if (this.#following) {
      const scroll = this.$("#log-scroll");
      scroll.scrollTop = scroll.scrollHeight;
    }
  }

  #eventAt(index) {
    return this.#blocks.get(Math.floor(index / BLOCK))?.[index % BLOCK];
  }

  /** Fetches a block of rows, then draws again. */
  async #fetch(block) {
    if (this.#fetching.has(block)) return;
    this.#fetching.add(block);
    const generation = this.#generation;
    const { sandbox } = this.session;
    const query = this.#query();
    const filtered = query.aggregateId || query.eventTypes.length;
    let events;
    try {
      events = await sandbox.events(
        filtered ? { ...query, fromPosition: 1, skip: block * BLOCK, limit: BLOCK } : { fromPosition: block * BLOCK + 1, limit: BLOCK },
      );
    } catch {
      // A closed or switched sandbox: the next reload fetches again.
    }
    // A reload in between (a grown log, other filters) has its own fetches: these rows may be
    // another query's, so they are not kept.
    if (generation !== this.#generation) return;
    this.#fetching.delete(block);
    if (events) this.#blocks.set(block, events);
    this.#schedule();
  }

  #schedule() {
    this.$("#events").setAttribute("aria-busy", "true");
    this.#frame ??= requestAnimationFrame(() => {
      this.#frame = undefined;
      this.#draw();
    });
  }

  /**
   * Draws the rows in view (and a few around), with spacers for the rest; `top`: the scroll
   * position to draw for, default the view's. The table is `aria-busy` while rows are on their way.
   */
  #draw(top) {
    const { sandbox, excluded, cursor, selected } = this.session;
    if (!sandbox) return;
    const scroll = this.$("#log-scroll");
    const height = scroll.clientHeight || 600;
    // A position past the end (the end itself, or a view left from a longer log before the
    // browser moves it) draws the last rows, not nothing.
    const at = Math.max(0, Math.min(top ?? scroll.scrollTop, this.#total * ROW - height));
    const first = Math.max(0, Math.floor(at / ROW) - OVERSCAN);
    const count = Math.ceil(height / ROW) + 2 * OVERSCAN;
    const last = Math.min(this.#total, first + count);
    const rows = [];
    // Spacers stand for the rows not drawn; their heights are set through the CSSOM, which the
    // Content-Security-Policy allows (a style attribute it would not).
    rows.push(el("tr", { class: "spacer", "aria-hidden": "true" }, el("td", { colspan: COLUMNS.length })));
    rows[0].firstChild.style.height = `${first * ROW}px`;
    for (let index = first; index < last; index++) {
      const event = this.#eventAt(index);
      if (!event) {
        this.#fetch(Math.floor(index / BLOCK));
        rows.push(el("tr", { class: "loading" }, el("td", { colspan: COLUMNS.length }, "…")));
        continue;
      }
      rows.push(this.#row(event, index, { excluded, cursor, selected }));
    }
    const rest = el("tr", { class: "spacer", "aria-hidden": "true" }, el("td", { colspan: COLUMNS.length }));
    rest.firstChild.style.height = `${Math.max(0, this.#total - last) * ROW}px`;
    rows.push(rest);
    const focused = document.activeElement?.closest?.("#events tr[data-index]")?.dataset.index;
    fill(this.$("#events tbody"), rows);
    const loading = rows.some((row) => row.classList.contains("loading"));
    this.$("#events").setAttribute("aria-busy", String(loading || this.#frame !== undefined));
    if (focused !== undefined) this.$(`#events tr[data-index="${focused}"]`)?.focus({ preventScroll: true });
    this.#showWhatIf();
  }

  /** Marks the drawn rows for the cursor (the future), the selection and the events left out. */
  #mark() {
    const { excluded, cursor, selected } = this.session;
    for (const row of this.$("#events tbody").querySelectorAll("tr[data-index]")) {
      const event = this.#eventAt(Number(row.dataset.index));
      if (!event) continue;
      const out = excluded.has(event.eventId);
      row.className = rowClasses(event, out, cursor);
      if (selected?.eventId === event.eventId) row.setAttribute("aria-selected", "true");
      else row.removeAttribute("aria-selected");
      row.setAttribute("aria-label", rowLabel(event, cursor));
      row.querySelector("input[type=checkbox]").checked = out;
    }
    this.#showWhatIf();
  }

  #showWhatIf() {
    const { excluded } = this.session;
    const whatIf = this.$("#what-if");
    whatIf.hidden = excluded.size === 0;
    whatIf.querySelector("span").textContent =
      `What-if: ${excluded.size} event(s) left out. The state and your queries are computed as if they never happened; nothing stored changes.`;
  }

  #row(e, index, { excluded, cursor, selected }) {
    const out = excluded.has(e.eventId);
    const box = el("input", { type: "checkbox", "data-event-id": e.eventId, "aria-label": `Leave out event ${e.position} (${e.type} of ${e.aggregateId})` });
    box.checked = out;
    const marker = this.#snapshots.get(`${e.aggregateId}@${e.version}`);
    const version = el("td", { "data-col": "version" }, String(e.version));
    if (marker) {
      version.append(
        " ",
        el(
          "span",
          { class: `badge snapshot${marker.stale ? " stale" : ""}`, title: marker.stale ? `Stale: ${marker.stale.message}` : "A snapshot was taken after this event" },
          marker.stale ? "stale snapshot" : "snapshot",
        ),
      );
    }
    return el(
      "tr",
      {
        "data-position": e.position,
        "data-index": index,
        class: rowClasses(e, out, cursor) || undefined,
        tabindex: "0",
        "aria-selected": selected?.eventId === e.eventId ? "true" : undefined,
        "aria-label": rowLabel(e, cursor),
      },
      el("td", {}, box),
      el("td", { "data-col": "position" }, e.position),
      el("td", { "data-col": "id", class: "id", title: e.eventId }, shortId(e.eventId)),
      el("td", { "data-col": "aggregate" }, e.aggregateId),
      version,
      el("td", { "data-col": "type" }, e.type),
      el("td", { "data-col": "schema" }, `v${e.schemaVersion}`),
      el("td", { "data-col": "data", class: "data", title: compact(e.data) }, compact(e.data)),
      el("td", { "data-col": "time", class: "time" }, formatTime(e.timestamp)),
    );
  }

  /** Moves the keyboard focus to a row, scrolling it into view. */
  #focusRow(index) {
    if (index < 0 || index >= this.#total) return;
    const scroll = this.$("#log-scroll");
    const top = index * ROW;
    if (top < scroll.scrollTop) scroll.scrollTop = top;
    else if (top + ROW > scroll.scrollTop + scroll.clientHeight - ROW) scroll.scrollTop = top - scroll.clientHeight + 2 * ROW;
    this.#draw();
    this.$(`#events tr[data-index="${index}"]`)?.focus({ preventScroll: true });
  }
}

/** A row's classes: left out (what-if), in the future of the cursor, or at it. */
function rowClasses(event, out, cursor) {
  return [out && "left-out", cursor !== undefined && event.position > cursor && "future", cursor === event.position && "cursor"].filter(Boolean).join(" ");
}

/** What a row says to a screen reader. */
function rowLabel(event, cursor) {
  const future = cursor !== undefined && event.position > cursor ? " (in the future)" : "";
  return `Event ${event.position}: ${event.type} of ${event.aggregateId}, version ${event.version}${future}`;
}

customElements.define("es-log", LogPanel);
