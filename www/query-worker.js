// A worker that runs the query box's SQL on a copy of the read model, off the page's thread, so
// that a long query never freezes the page. It loads the same wasm module as the page, and keeps
// the last copy it was given until it is given another.
import init, { queryCopy } from "./pkg/es_sandbox.js";

const ready = init();
let database;

self.onmessage = async ({ data: { id, database: copy, sql, options } }) => {
  await ready;
  if (copy) database = copy;
  try {
    if (!database) throw Object.assign(new Error("no copy of the read model to query"), { kind: "query" });
    self.postMessage({ id, answer: queryCopy(database, sql, options) });
  } catch (error) {
    self.postMessage({ id, error: { message: error.message, kind: error.kind, details: error.details } });
  }
};
