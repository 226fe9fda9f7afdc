// Where the wasm module comes from. The hosted page fetches it next to its glue and starts the
// query worker from its own file; the single offline file (scripts/dist) replaces this module
// with one that has the wasm inlined and starts the worker from a blob.

let compiled;
const started = new Map();

/**
 * Loads and starts a wasm module: the whole one, or with `lean` the one without the read model
 * (no SQLite). Resolves to its JS face (`Sandbox`, `queryCopy`, …). Each is started once per
 * page, and the whole module's compiled form is handed to the consumers lab's workers.
 *
 * With `leanFirst` (embeds), the whole module is fetched only once a lean one asked for by the
 * next task has started: compiled beside it on the same cores, it held back the embeds that need
 * only the lean one. Embeds coming into view ask in one task, in any order.
 */
export function loadWasm(lean = false, { leanFirst = false } = {}) {
  if (!started.has(lean)) started.set(lean, lean || !leanFirst ? start(lean) : afterLean());
  return started.get(lean);
}

async function afterLean() {
  await nextTask();
  await started.get(true)?.catch(() => {});
  return start(false);
}

/** Resolves in a task of its own, after the tasks already queued. */
function nextTask() {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

async function start(lean) {
  const dir = lean ? "./pkg-lean/" : "./pkg/";
  // The module downloads and compiles while its glue and the glue's snippets load.
  const [glue, module] = await Promise.all([
    lean ? import("./pkg-lean/es_sandbox.js") : import("./pkg/es_sandbox.js"),
    compile(new URL(`${dir}es_sandbox_bg.wasm`, import.meta.url)),
  ]);
  await glue.default({ module_or_path: module });
  if (!lean) compiled = module;
  return glue;
}

/** Fetches and compiles a wasm module, streaming where the browser can. */
function compile(url) {
  const response = fetch(url);
  return WebAssembly.compileStreaming
    ? WebAssembly.compileStreaming(response)
    : response.then((r) => r.arrayBuffer()).then((bytes) => WebAssembly.compile(bytes));
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
