// A consumer node of the consumers lab, in a worker of its own: it opens its read model (in the
// origin-private file system, so that it outlives this worker being terminated) and handles
// what the lab on the page hands it, one message at a time, in order. It is handed the page's
// compiled module first, and never fetches one.
import { initSync, ConsumerNode } from "./pkg/es_sandbox.js";

let node;
let exports;
let queue = Promise.resolve();

async function handle({ type, ...data }) {
  switch (type) {
    case "open":
      node = await ConsumerNode.open(data.options);
      return { replies: node.start(), storage: node.storage(), checkpoint: node.checkpoint() };
    case "deliver":
      return node.receive(data.batch);
    case "arm":
      node.arm(data.point);
      return true;
    case "query":
      return node.query(data.sql, data.options);
    case "memory":
      // The module's linear memory: the node's SQLite and everything else it holds.
      return { wasmBytes: exports.memory.buffer.byteLength };
    default:
      throw new Error(`a consumer node does not know "${type}"`);
  }
}

self.onmessage = ({ data }) => {
  if (data.type === "module") {
    exports = initSync({ module: data.module });
    return;
  }
  // One message at a time, in the order they came: a delivery never overtakes the open.
  queue = queue.then(async () => {
    try {
      self.postMessage({ id: data.id, answer: await handle(data) });
    } catch (error) {
      self.postMessage({ id: data.id, error: { message: error.message, kind: error.kind, details: error.details } });
    }
  });
};
