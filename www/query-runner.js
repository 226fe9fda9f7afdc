// Runs queries in www/query-worker.js and waits for their answers. The worker keeps the last copy
// of the read model it was given: a query on an unchanged read model (same generation) sends no
// copy. A worker that stops answering (it should not: SQLite interrupts a query at its time
// limit) is replaced.
import { startQueryWorker } from "./wasm-source.js";

let worker;
let nextId = 1;
/** The generation of the read model the worker holds, if it holds the real one. */
let held;
const pending = new Map();

function start() {
  worker = startQueryWorker();
  held = undefined;
  worker.onmessage = ({ data: { id, answer, error } }) => {
    const request = pending.get(id);
    if (!request) return;
    pending.delete(id);
    clearTimeout(request.watchdog);
    if (error) request.reject(Object.assign(new Error(error.message), { name: "SandboxError", kind: error.kind, details: error.details }));
    else request.resolve(answer);
  };
  worker.onerror = (event) => restart(new Error(`the query worker failed: ${event.message}`));
}

function restart(error) {
  worker?.terminate();
  worker = undefined;
  held = undefined;
  for (const request of pending.values()) {
    clearTimeout(request.watchdog);
    request.reject(error);
  }
  pending.clear();
}

/**
 * Runs `sql` with `options` ({ maxRows, timeLimitMs }) in the worker, on the read model of
 * `generation` (`undefined` for a what-if copy, never kept). `copy()` gives the read model's bytes
 * (`Sandbox.readModelCopy`); it is called only when the worker does not hold that generation.
 */
export async function queryInWorker({ sql, options, generation, copy }) {
  if (!worker) start();
  const fresh = generation === undefined || generation !== held;
  const database = fresh ? await copy() : undefined;
  held = generation;
  const id = nextId++;
  return new Promise((resolve, reject) => {
    // Past the time limit SQLite has stopped the query; this is a last resort.
    const watchdog = setTimeout(() => restart(new Error("the query worker stopped answering; it was restarted")), options.timeLimitMs + 10_000);
    pending.set(id, { resolve, reject, watchdog });
    worker.postMessage({ id, database, sql, options }, database ? [database.buffer] : []);
  });
}
