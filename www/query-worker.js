// A worker that runs the query box's SQL on a copy of the read model, off the page's thread, so
// that a long query never freezes the page. It loads the same wasm module as the page, and keeps
// the last copy it was given until it is given another. Started from a blob (the single offline
// file), it is handed the compiled module first instead of fetching it.
import init, { initSync, queryCopy } from "./pkg/es_sandbox.js";

let ready;
let database;

self.onmessage = async ({ data }) => {
  if (data.module) {
    initSync({ module: data.module });
    ready = Promise.resolve();
    return;
  }
  const { id, database: copy, sql, options } = data;
  ready ??= init();
  await ready;
  if (copy) database = copy;
  try {
    if (!database) throw Object.assign(new Error("no copy of the read model to query"), { kind: "query" });
    self.postMessage({ id, answer: queryCopy(database, sql, options) });
  } catch (error) {
    self.postMessage({ id, error: { message: error.message, kind: error.kind, details: error.details } });
  }
};
