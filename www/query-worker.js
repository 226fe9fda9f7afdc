// A worker that runs the query box's SQL on a copy of the read model, off the page's thread, so
// that a long query never freezes the page. It loads the same wasm module as the page.
import init, { queryCopy } from "./pkg/es_sandbox.js";

const ready = init();

self.onmessage = async ({ data: { id, database, sql, options } }) => {
  await ready;
  try {
    self.postMessage({ id, answer: queryCopy(database, sql, options) });
  } catch (error) {
    self.postMessage({ id, error: { message: error.message, kind: error.kind, details: error.details } });
  }
};
