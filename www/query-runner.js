// Runs queries in www/query-worker.js and waits for their answers. A worker that stops answering
// (it should not: SQLite interrupts a query at its time limit) is replaced.
let worker;
let nextId = 1;
const pending = new Map();

function start() {
  worker = new Worker(new URL("./query-worker.js", import.meta.url), { type: "module" });
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
  for (const request of pending.values()) {
    clearTimeout(request.watchdog);
    request.reject(error);
  }
  pending.clear();
}

/**
 * Runs `sql` on `database` (a read model copy from `Sandbox.readModelCopy`, handed over to the
 * worker) with `options` ({ maxRows, timeLimitMs }); resolves to the query's answer.
 */
export function queryInWorker(database, sql, options) {
  if (!worker) start();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    // Past the time limit SQLite has stopped the query; this is a last resort.
    const watchdog = setTimeout(() => restart(new Error("the query worker stopped answering; it was restarted")), options.timeLimitMs + 10_000);
    pending.set(id, { resolve, reject, watchdog });
    worker.postMessage({ id, database, sql, options }, [database.buffer]);
  });
}
