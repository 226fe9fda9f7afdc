// Where the wasm module comes from. The hosted page fetches it next to its glue and starts the
// query worker from its own file; the single offline file (scripts/dist) replaces this module
// with one that has the wasm inlined and starts the worker from a blob.

let compiled;

/**
 * Loads and starts a wasm module: the whole one, or with `lean` the one without the read model
 * (no SQLite). Resolves to its JS face (`Sandbox`, `queryCopy`, …). The whole module is compiled
 * once, and the same compiled module is handed to the consumers lab's workers.
 */
export async function loadWasm(lean = false) {
  if (lean) {
    const glue = await import("./pkg-lean/es_sandbox.js");
    await glue.default();
    return glue;
  }
  const glue = await import("./pkg/es_sandbox.js");
  if (!compiled) {
    const response = fetch(new URL("./pkg/es_sandbox_bg.wasm", import.meta.url));
    compiled = WebAssembly.compileStreaming
      ? await WebAssembly.compileStreaming(response)
      : await WebAssembly.compile(await (await response).arrayBuffer());
    await glue.default({ module_or_path: compiled });
  }
  return glue;
}

/** Starts a consumer node's worker (www/consumer-worker.js), handing it the compiled module. */
export function startConsumerWorker() {
  const worker = new Worker(new URL("./consumer-worker.js", import.meta.url), { type: "module" });
  worker.postMessage({ type: "module", module: compiled });
  return worker;
}

/** Starts a query worker (www/query-worker.js), which loads the module itself. */
export function startQueryWorker() {
  return new Worker(new URL("./query-worker.js", import.meta.url), { type: "module" });
}
