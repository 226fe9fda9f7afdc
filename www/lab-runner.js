// Runs a consumers lab (the module's ConsumersLab, on the page) with its consumer nodes in
// workers: it asks the lab what happens next, hands deliveries to the workers (together when
// the lab says they can go together), brings back what the nodes did, starts a worker for each
// node (again after a crash: the crashed worker is terminated for real) and paces simulated
// time. It decides nothing itself: the lab does.
import { startConsumerWorker } from "./wasm-source.js";

/** A worker holding one consumer node, with its requests awaiting answers. */
class NodeWorker {
  #worker = startConsumerWorker();
  #pending = new Map();
  #next = 1;
  alive = true;

  constructor() {
    this.#worker.onmessage = ({ data: { id, answer, error } }) => {
      const request = this.#pending.get(id);
      this.#pending.delete(id);
      if (error) request?.reject(Object.assign(new Error(error.message), { kind: error.kind, details: error.details }));
      else request?.resolve(answer);
    };
    this.#worker.onerror = (event) => this.#fail(new Error(`a consumer's worker failed: ${event.message}`));
  }

  /** Sends a request and resolves to the node's answer. */
  call(message) {
    if (!this.alive) return Promise.reject(new Error("this consumer's worker was terminated"));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...message, id });
    });
  }

  /** Terminates the worker for real (a crash, or the end of the run). */
  terminate() {
    this.alive = false;
    this.#worker.terminate();
    this.#fail(new Error("this consumer's worker was terminated"));
  }

  #fail(error) {
    for (const request of this.#pending.values()) request.reject(error);
    this.#pending.clear();
  }
}

export class LabRunner extends EventTarget {
  /** The module's ConsumersLab. */
  lab;
  /** Per consumer: its worker (undefined while it is down), where its read model lives, how often it started, its checkpoint then. */
  nodes = [];
  /** Deliveries handed to nodes so far, and nodes started. */
  handed = 0;
  started = 0;
  #busy = Promise.resolve();
  #closed = false;

  constructor(lab) {
    super();
    this.lab = lab;
  }

  /** Whether anything is left to happen. */
  get settled() {
    return this.lab.nextAt() === undefined;
  }

  /** Runs `work` while nothing else drives the lab (no delivery in between): a consistent look. */
  exclusive(work) {
    return this.#serial(work);
  }

  /** Where each consumer's read model lives (its worker's answer when it opened). */
  get storage() {
    return this.nodes.map((node) => node?.storage);
  }

  /** Runs `work` after whatever is running: the lab is driven by one caller at a time. */
  #serial(work) {
    const run = this.#busy.then(work);
    this.#busy = run.catch(() => {});
    return run;
  }

  /**
   * Runs the lab until simulated time `untilMs` (or until nothing is left), for at most
   * `budgetMs` of the page's time; resolves to whether it reached `untilMs`.
   */
  advance(untilMs, { budgetMs = 8, limit = 512 } = {}) {
    return this.#serial(async () => {
      const started = performance.now();
      while (!this.#closed) {
        const at = this.lab.nextAt();
        if (at === undefined || at > untilMs) return true;
        if (performance.now() - started > budgetMs) return false;
        await this.#once(limit, untilMs);
      }
      return true;
    });
  }

  /** Runs until one message has moved (a delivery handled, or a message arrived or was lost). */
  step() {
    return this.#serial(async () => {
      for (let i = 0; i < 10_000 && !this.#closed; i++) {
        const arrows = this.lab.status().arrows;
        const kind = await this.#once(1, Infinity);
        if (kind === undefined) return false;
        if (kind === "deliver" || this.lab.status().arrows !== arrows || kind === "internal") return true;
      }
      return true;
    });
  }

  /** Does one thing the lab says happens next (deliveries up to `untilMs`); resolves to its kind (undefined: nothing). */
  async #once(limit, untilMs) {
    const batch = this.lab.deliveries(limit, untilMs);
    if (batch.length) {
      await this.#deliver(batch);
      return "deliver";
    }
    const happening = this.lab.next(untilMs);
    if (!happening) return undefined;
    switch (happening.kind) {
      case "start":
        await this.#start(happening.consumer);
        break;
      case "arm":
        await this.nodes[happening.consumer]?.worker?.call({ type: "arm", point: happening.point }).catch(() => {});
        break;
      case "deliver":
        await this.#deliver([happening]);
        break;
      default:
        break;
    }
    this.dispatchEvent(new CustomEvent("moved"));
    return happening.kind;
  }

  /** Hands deliveries to their workers, each worker's in order, and answers the lab in order. */
  async #deliver(batch) {
    const byConsumer = new Map();
    for (const item of batch) {
      if (!byConsumer.has(item.consumer)) byConsumer.set(item.consumer, []);
      byConsumer.get(item.consumer).push(item);
    }
    const results = new Map();
    await Promise.all(
      [...byConsumer].map(async ([consumer, items]) => {
        const node = this.nodes[consumer];
        let done = items.map(({ arrow }) => ({ arrow, handled: null }));
        if (node?.worker?.alive) {
          try {
            done = await node.worker.call({ type: "deliver", batch: items.map(({ arrow, delivery }) => ({ arrow, delivery })) });
          } catch {
            // The worker is gone: what it was handed is lost with it.
          }
          // A node that crashed is terminated for real; the lab starts another after a while.
          if (done.some((d) => d.handled?.outcome?.outcome === "crashed")) {
            node.worker.terminate();
            node.worker = undefined;
          }
        }
        for (const d of done) results.set(d.arrow, d.handled);
      }),
    );
    for (const item of batch) this.lab.handled(item.consumer, item.arrow, results.get(item.arrow) ?? null);
    this.handed += batch.length;
  }

  /** Starts a consumer's node in a new worker (over the files its crashed one left). */
  async #start(consumer) {
    const previous = this.nodes[consumer];
    previous?.worker?.terminate();
    const worker = new NodeWorker();
    const fresh = !previous;
    const opened = await worker.call({ type: "open", options: this.lab.nodeOptions(consumer, fresh) });
    // Where it opened its read model, how often it started, and the checkpoint it found there.
    this.nodes[consumer] = { worker, storage: opened.storage, starts: (previous?.starts ?? 0) + 1, checkpoint: opened.checkpoint };
    this.lab.started(consumer, opened.replies);
    this.started += 1;
  }

  /** Asks a consumer's read model a question (undefined while it is down). */
  async query(consumer, sql, options) {
    const worker = this.nodes[consumer]?.worker;
    if (!worker?.alive) return undefined;
    return worker.call({ type: "query", sql, options });
  }

  /** How much memory each running consumer's module holds (`undefined` while it is down). */
  memory() {
    return Promise.all(this.nodes.map((node) => (node?.worker?.alive ? node.worker.call({ type: "memory" }) : undefined)));
  }

  /** Ends the run: every worker is terminated. */
  close() {
    this.#closed = true;
    for (const node of this.nodes) node?.worker?.terminate();
    this.nodes = [];
  }
}
