//! The TypeScript declarations of the JS API's option and answer shapes, added to the generated
//! `es_sandbox.d.ts` (the class and its methods are declared by wasm-bindgen itself).

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Where `append` expects the aggregate to be: any, no events yet, some events, or exactly this version. */
export type Expected = "any" | "noStream" | "exists" | number;

/** Options of `Sandbox.open`. */
export interface OpenOptions {
  /** Where events live (default "memory"). */
  storage?: "memory" | "localstorage" | "indexeddb";
  /** The store's name (default: the scenario's name). Stores with different names never mix. */
  name?: string;
  /** A shipped scenario's name ("bank", "orders", "users") or a scenario document (may be left out with `share`). */
  scenario?: string | object;
  /** IndexedDB commits: "relaxed" (default, fast) or "strict" (wait for the disk). */
  durability?: "relaxed" | "strict";
  /** "live" (default): projections follow new events on their own (a shipped scenario's read model from its first use); "manual": only on `project()`. */
  readModel?: "live" | "manual";
  /** When the store holds events of another scenario: refuse (default), or open with the store's or the given one. */
  onOtherScenario?: "refuse" | "useStored" | "useGiven";
  /** A file's events to import into the store, which must be empty: all of them or none. */
  import?: { format: "ndjson" | "kurrent" | "cloudEvents"; text: string };
  /** A share link's data (after `#share=`): its scenario, and its events if the store is empty. */
  share?: string;
  /** Told while rules are slow (past a second of work through them, then every half second): which function, how long. */
  onSlow?: (slow: SlowWork) => void;
  /** Stops the opening (an import's or a replay's work through slow rules) when it aborts: nothing is written. */
  signal?: AbortSignal;
}

/** Rules that are slow: the function that took most time in the current run of work. */
export interface SlowWork { script: string; function: string; functionMs: number; calls: number; totalMs: number }

/** A store, for the static methods that work without opening it. */
export interface StoreRef { storage: "memory" | "localstorage" | "indexeddb"; name: string }

/** Where a sandbox keeps its events, and what they survive (measured by killing the browser). */
export interface StoreInfo {
  storage: string;
  name: string;
  location: string;
  /** IndexedDB's commit durability: "relaxed" or "strict". */
  durability: string;
  durable: { tabClose: boolean; browserKill: boolean; osCrash: boolean; summary: string };
}

/** How far a stored log is intact (`Sandbox.inspectStore`), for a store that does not open. */
export interface Inspection {
  /** The last acknowledged position, as the commit record says (null: no record). */
  committed: number | null;
  /** Every record up to this position reads and continues the log. */
  intactUpTo: number;
  /** The first record that does not, and why. */
  problem: { key: string; reason: string } | null;
  records: number;
  /** Records after the intact log: what `truncateStore` would drop. */
  recordsAfter: number;
}

/**
 * What subscribers receive: new events from this tab ("local") or another ("remote"), or news
 * that the read model moved ("projection", with `projected`).
 */
export interface EventNotice {
  events: StoredEvent[];
  source: "local" | "remote" | "projection";
  projected?: Projected;
  error?: Error;
}

/** A projection: SQL run for each event of the named types. */
export interface ProjectionSpec {
  name: string;
  description?: string;
  setup: string | string[];
  on: Record<string, string | string[]>;
}

/** Where a projection is: its checkpoint (the last position applied), how far it is behind the log, and its state. */
export interface ProjectionStatus {
  name: string;
  description: string;
  checkpoint: number;
  /** Events of the log it has not applied yet. */
  behind: number;
  state: "running" | "paused" | "crashed" | "failed";
  atPosition?: number;
  message?: string;
  /** Its definition changed since its tables were built: rebuild it. */
  stale: boolean;
  objects: string[];
}

/**
 * The read model: the log's head, the projections, the delay before they follow new events, its
 * generation (it moves on with every change to the tables) and how far the slowest running
 * projection is behind.
 */
export interface ReadModelInfo {
  head: number;
  delayMs: number;
  location: string;
  generation: number;
  behind: number;
  projections: ProjectionStatus[];
}

/** What a round of projecting did. */
export interface Projected { applied: number; stopped: string[] }

export interface QueryOptions {
  /** Rows returned (default 200); the rest are counted. */
  maxRows?: number;
  /** Milliseconds before a query is stopped (default 2000). */
  timeLimitMs?: number;
  /** Recompute the projections without these events, in a separate database. */
  exclude?: string[];
  /** Time travel: recompute the projections from the log up to this position, in a separate database. */
  asOf?: number;
}

/**
 * A query's answer: values as JSON (numbers, strings, null; blobs as x'..'), the tables the
 * statement read, and (from `query`) the projections those belong to with how far each is
 * behind the log (`Sandbox.sources` gives the same for a `queryCopy` answer).
 */
export interface QueryAnswer {
  columns: string[];
  rows: unknown[][];
  totalRows: number;
  ms: number;
  whatIf: boolean;
  /** The position the answer is as of (time travel), or null for now. */
  asOf: number | null;
  /** Rows were left out because the answer reached its size cap (32 MB). */
  sizeCapped: boolean;
  tables: string[];
  sources: { name: string; checkpoint: number; behind: number }[];
}

/** An event as stored: immutable, with its place in its aggregate and in the log. */
export interface StoredEvent {
  position: number;
  eventId: string;
  aggregateId: string;
  version: number;
  type: string;
  schemaVersion: number;
  data: Record<string, unknown>;
  /** Milliseconds since the Unix epoch. */
  timestamp: number;
  correlationId?: string;
  causationId?: string;
}

/** An event to append; id, schema version and timestamp default to new, current and now. */
export interface NewEvent {
  type: string;
  data?: Record<string, unknown>;
  eventId?: string;
  schemaVersion?: number;
  timestamp?: number;
  correlationId?: string;
  causationId?: string;
}

export interface AppendOptions { expected?: Expected }

export interface ExecuteOptions {
  expected?: Expected;
  timestamp?: number;
  correlationId?: string;
  causationId?: string;
  /** Ids for the events the command produces, to make a retry idempotent. */
  eventIds?: string[];
}

/** What an append or command stored, and the aggregate's state after it. */
export interface Committed {
  aggregateId: string;
  events: StoredEvent[];
  /** True when the events were already stored (an idempotent retry): nothing was written. */
  alreadyStored: boolean;
  state: unknown;
  version: number;
  snapshotTaken?: number;
  snapshotError?: string;
}

/** What a raw append stored: ids, versions and positions of the batch, and the state after it. */
export interface AppendSummary {
  aggregateId: string;
  /** True when the events were already stored (an idempotent retry): nothing was written. */
  alreadyStored: boolean;
  eventIds: string[];
  firstVersion: number;
  lastVersion: number;
  firstPosition: number;
  lastPosition: number;
  version: number;
  state: unknown;
  snapshotTaken?: number;
  snapshotError?: string;
}

export interface ReplayOptions {
  /** Stop after this version. */
  version?: number;
  /** Stop before the first event stamped later than this (ms since the epoch). */
  time?: number;
  /** Stop at the aggregate's last event at or before this position of the whole log. */
  position?: number;
  /** Leave these event ids out (what-if). */
  exclude?: string[];
  /** Record the state after each event. */
  trace?: boolean;
  /** Start from a snapshot when one is usable (default true). */
  useSnapshots?: boolean;
}

export interface Replay {
  aggregateId: string;
  /** The aggregate type, such as "account". */
  aggregateType: string;
  state: unknown;
  version: number;
  headVersion: number;
  fromSnapshot: number | null;
  skippedSnapshots: {
    version: number;
    reason: { kind: "staleRules" | "includesExcluded" | "tampered" | "eventChanged" | "unreadable"; [k: string]: unknown };
    message: string;
  }[];
  eventsReplayed: number;
  excludedVersions: number[];
  trace?: { initialState: unknown; steps: { version: number; position: number; eventId: string; type: string; excluded: boolean; state: unknown; changes: Change[] }[] };
}

/** A snapshot, sealed: the event it was taken after, and a checksum of it all. */
export interface Snapshot { aggregateId: string; version: number; eventId: string; state: unknown; rulesHash: string; checksum: string }

/** A read of the log: from a position, only some types or one aggregate, skipping the first `skip` matches. */
export interface EventQuery { fromPosition?: number; limit?: number; eventTypes?: string[]; aggregateId?: string; skip?: number }

/** How a field changed between two states (nested fields as "a.b"). */
export interface Change { field: string; kind: "added" | "removed" | "increased" | "decreased" | "changed"; before?: unknown; after?: unknown }

/** A stored snapshot placed in the log: `stale` says why a replay would skip it (null: usable). */
export interface SnapshotMarker {
  aggregateId: string;
  version: number;
  position: number | null;
  stale: { version: number; reason: { kind: string }; message: string } | null;
  bytes: number;
}

/** What `generate` stored. */
export interface Generated { commands: number; refused: number; events: number; aggregates: number }

/** How much the log and its snapshots store (bytes as JSON), in all and per aggregate. */
export interface Storage {
  events: number;
  bytes: number;
  snapshots: number;
  snapshotBytes: number;
  aggregates: { aggregateId: string; events: number; bytes: number; snapshots: number; snapshotBytes: number }[];
}

/** Events a replay folds at each version: `versions` without snapshots; the corners [version, folded] with them. */
export interface ReplayCosts { versions: number; snapshots: number[]; withSnapshots: [number, number][] }

/** An aggregate's numeric fields over its versions. */
export interface StateSeries { fields: string[]; points: { version: number; position: number; values: (number | null)[] }[] }

/** An event as stored beside the form the rules read. */
export interface UpcastView {
  stored: StoredEvent;
  upcast: StoredEvent | null;
  error: string | null;
  upcasters: { eventType: string; fromVersion: number; description: string; script: string | string[] }[];
}

/** A CRUD row: an aggregate's last state, overwritten in place. */
export interface CrudRow { aggregateId: string; row: unknown; updatedAt: number; writes: number }

export interface StreamInfo { aggregateId: string; version: number; lastPosition: number }

export interface AggregateInfo {
  name: string;
  idPrefix: string;
  description: string;
  rules: string;
  rulesHash: string;
  /** Each command with help, an example payload and its payload's shape in words. */
  commands: { name: string; description: string; example: unknown; payload: string | null }[];
  /** Each event type with its current schema version and its data's shape at each version. */
  eventTypes: { name: string; schemaVersion: number; shapes: { schemaVersion: number; shape: string }[] }[];
}

export interface ScenarioInfo {
  name: string;
  title: string;
  description: string;
  snapshotInterval: number;
  aggregates: AggregateInfo[];
  upcasters: { eventType: string; fromVersion: number; description: string; script: string | string[] }[];
  projections: ProjectionSpec[];
  queries: { title: string; sql: string }[];
}

/** Every error the sandbox throws is an `Error` with `name` "SandboxError", a `kind` and `details`. */
export type SandboxErrorKind =
  | "conflict" | "businessRule" | "script" | "badInput" | "idempotency"
  | "storageFull" | "corrupt" | "storage" | "projection" | "query" | "otherScenario";
"#;
