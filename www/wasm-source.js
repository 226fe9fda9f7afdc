// Where the wasm module comes from. The hosted page fetches it next to its glue and starts the
// query worker from its own file; the single offline file (scripts/dist) replaces this module
// with one that has the wasm inlined and starts the worker from a blob.

/**
 * Loads and starts a wasm module: the whole one, or with `lean` the one without the read model
 * (no SQLite). Resolves to its JS face (`Sandbox`, `queryCopy`, …).
 */
export async function loadWasm(lean = false) {
  const glue = lean ? await import("./pkg-lean/es_sandbox.js") : await import("./pkg/es_sandbox.js");
  await glue.default();
  return glue;
}

/** Starts a query worker (www/query-worker.js), which loads the module itself. */
export function startQueryWorker() {
  return new Worker(new URL("./query-worker.js", import.meta.url), { type: "module" });
}
