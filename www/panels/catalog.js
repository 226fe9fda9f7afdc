// Every panel of the sandbox, in the page's order: the one list the page, the embed and the
// screenshot test read. Data only (no DOM, no imports), so Node can read it too.

/**
 * Each panel: its name in an embed's `panels` attribute, its element (whose module is
 * `panels/<element without "es-">.js`), the id of its section, its label in the page's section
 * bar (none: reached through its neighbour), whether it spans the width, and whether it needs
 * the read model (an embed without such a panel loads the lean module).
 */
export const PANELS = [
  { name: "timeline", tag: "es-timeline", section: "timeline-panel", label: "Time travel", wide: true },
  { name: "events", tag: "es-log", section: "log-panel", label: "Log", wide: true },
  { name: "state", tag: "es-state", section: "state-panel", label: "State" },
  { name: "command", tag: "es-command", section: "command-panel", label: "Commands" },
  { name: "append", tag: "es-append", section: "append-panel" },
  { name: "read-model", tag: "es-read-model", section: "read-model-panel", label: "Read model", wide: true, readModel: true },
  { name: "query", tag: "es-query", section: "query-panel", label: "Query", wide: true, readModel: true },
  { name: "what-if", tag: "es-what-if", section: "what-if-panel", label: "What-if", wide: true, readModel: true },
  { name: "consumers", tag: "es-consumers", section: "consumers-panel", label: "Consumers", wide: true, readModel: true },
  { name: "snapshots", tag: "es-snapshots", section: "snapshots-panel", label: "Snapshots" },
  { name: "storage", tag: "es-storage", section: "storage-panel", label: "Storage" },
  { name: "crud", tag: "es-crud", section: "crud-panel", label: "CRUD vs log", wide: true },
  { name: "conflict", tag: "es-conflict", section: "conflict-panel", label: "Conflicts" },
  { name: "idempotency", tag: "es-idempotency", section: "idempotency-panel", label: "Idempotency" },
  { name: "schema", tag: "es-schema", section: "schema-panel", label: "Schemas", wide: true },
  { name: "rules", tag: "es-rules", section: "rules-panel", label: "Rules", wide: true },
  { name: "exchange", tag: "es-exchange", section: "exchange-panel", label: "Import, export, share", wide: true },
];
