// The consumers lab's guided sequence: eight runs on the bank scenario, each a setting or a fault
// away from the one before, from a perfect network to a poison event fixed and replayed. Data
// only: what each step sets, does and says; the panel runs it and the module judges it.

/** The questions the verdicts ask, as the bank scenario's queries name them. */
export const DEPOSITS = "SELECT account, deposits, total FROM deposits ORDER BY account";
export const BALANCES = "SELECT account, balance FROM balances ORDER BY account";

/** The deposits statement with its ON CONFLICT clause lost: an account's second deposit fails. */
export const BROKEN_DEPOSITED = "INSERT INTO deposits (account, deposits, total) VALUES (:aggregate_id, 1, :amount)";

/** Fewest events the sequence wants in the log: enough accounts with more than one deposit. */
export const LOG_WANTED = 40;

const PERFECT = { latencyMs: 100, jitterMs: 0, dropPercent: 0, duplicatePercent: 0, reorderMs: 0 };
const DUPLICATING = { ...PERFECT, duplicatePercent: 30 };
/**
 * The projections most steps run: the ledger is left out, because its rows are keyed by
 * position, so a repeated event fails on its primary key (idempotent by accident).
 */
const COUNTING = ["balances", "deposits"];

/**
 * Each step: its title, what it shows (`says`), what to look at once it ran (`look`), the
 * settings it runs with (over the lab's defaults), the actions it takes during the run, the
 * projections it runs (default: all), the question its verdict asks, and `rules`: "break" puts the bug in the deposits projection
 * before the run, "fix" is the step that mends it (it goes on with the run it finds).
 */
export const STEPS = [
  {
    id: "perfect",
    title: "A perfect network",
    says: "Two consumers each follow the log over a link that loses, repeats and reorders nothing. Every event reaches each once, in order, and each acknowledges it.",
    look: "Both verdicts say converged: each read model answers as the log does.",
    settings: { consumers: 2, inbox: false, link: PERFECT },
    projections: COUNTING,
    query: DEPOSITS,
  },
  {
    id: "duplicates",
    title: "Duplicates, no inbox",
    says: "The same two consumers, but the link delivers three messages in ten twice: at-least-once delivery. The deposits projection counts, so a deposit that arrives twice is counted twice. (The ledger projection is left out of these runs: its rows are keyed by position, so a repeat fails on its primary key, idempotent by accident.)",
    look: "A verdict says diverged, with the account, both answers and the position applied twice.",
    settings: { consumers: 2, inbox: false, seed: 3, link: DUPLICATING },
    projections: COUNTING,
    query: DEPOSITS,
  },
  {
    id: "inbox",
    title: "The same link, an inbox",
    says: "Each consumer now records every event id it handles in its inbox, in the same transaction as its writes, and skips an id it has seen: the idempotent consumer.",
    look: "The Absorbed column counts the duplicates the inbox turned away, and both converge.",
    settings: { consumers: 2, inbox: true, seed: 3, link: DUPLICATING },
    projections: COUNTING,
    query: DEPOSITS,
  },
  {
    id: "crash",
    title: "A crash after the write, before the ack",
    says: "Consumer B writes an event to its read model, then its worker is terminated before it commits its checkpoint and acknowledges. A new worker opens the same files after a while and resumes from the checkpoint.",
    look: "The store redelivers what B never acknowledged (marked ↻ in the diagram); the event B had written comes again and its inbox absorbs it. Both converge.",
    settings: { consumers: 2, inbox: true, link: PERFECT },
    script: [{ atMs: 250, action: { action: "crash", consumer: 1, point: "afterWrite" } }],
    projections: COUNTING,
    query: DEPOSITS,
  },
  {
    id: "round-robin",
    title: "Competing consumers, round robin",
    says: "Two consumers now share one persistent group and take turns. An account's later event can reach the consumer that never saw its Created: the balances projection finds no row to update, the consumer nacks, the message is retried and finally parked.",
    look: "Failed and parked counts grow, and together the consumers do not hold the log's balances: per-account order is lost between them.",
    settings: { consumers: 2, topology: "competing", inbox: true, link: PERFECT, group: { strategy: "RoundRobin", maxRetryCount: 2 } },
    query: BALANCES,
  },
  {
    id: "pinned",
    title: "Pinned by account",
    says: "The same group with the pinned strategy: each account goes to one consumer, chosen by a hash of its id, so each account's events arrive in order at one place (over a link that keeps order: jitter would reorder them again).",
    look: "Nothing fails, and together the consumers hold every balance the log says.",
    settings: { consumers: 2, topology: "competing", inbox: true, link: PERFECT, group: { strategy: "Pinned", maxRetryCount: 2 } },
    query: BALANCES,
  },
  {
    id: "poison",
    title: "A poison event",
    says: "This step ships a bug in the deposits projection, through the rules as a deploy would: its INSERT lost its ON CONFLICT clause, so every account's second deposit fails (a UNIQUE constraint). Each consumer nacks it, it is retried maxRetryCount times, then parked; the other events go on.",
    look: "The parked drawer lists each poison event with its error. The log's truth fails on them too: the fault is the projection's, not the network's.",
    settings: { consumers: 2, inbox: true, link: PERFECT, onFailure: "retry", group: { maxRetryCount: 2 } },
    rules: "break",
    projections: COUNTING,
    query: DEPOSITS,
  },
  {
    id: "fix",
    title: "Fix, redeploy, replay the parked",
    says: "Fix the projection in the rules editor (put the ON CONFLICT clause back) and apply, or let this step put the shipped rules back. The consumers are redeployed with the fixed statement over their tables; then the parked messages are replayed, ahead of new ones.",
    look: "The replayed deposits apply, the parked list empties and both consumers converge.",
    rules: "fix",
    query: DEPOSITS,
  },
];
