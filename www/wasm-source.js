// Where the wasm module comes from. The hosted page fetches it next to its glue and starts the
// query worker from its own file; the single offline file (scripts/dist) replaces this module
// with one that has the wasm inlined and starts the worker from a blob.
import init from "./pkg/es_sandbox.js";

/** Loads and starts the wasm module for this page. */
export function loadWasm() {
  return init();
}

/** Starts a query worker (www/query-worker.js), which loads the module itself. */
export function startQueryWorker() {
  return new Worker(new URL("./query-worker.js", import.meta.url), { type: "module" });
}
