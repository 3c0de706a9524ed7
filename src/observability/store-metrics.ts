/**
 * The store's side of the metrics: runs started and finished, retries
 * scheduled, transaction durations and batch sizes, runs and rows purged. The facts arrive after
 * each commit (`StoreObserver.committed`), so a rolled-back transaction
 * counts nothing, and every replica counts only its own commits: summed
 * over replicas, each run and retry is counted once.
 *
 * @example
 *   const observer = createStoreMetrics(registry, { workflows, actions });
 *   const store = await openStore(config, logger, observer);
 */
import { Counter, Histogram, type Registry } from "prom-client";
import type { StoreObserver, StoreStatement } from "../store/index.js";
import { Children, childPairs, OTHER, type LabelBudget } from "./labels.js";

/** Transaction durations: a claim or a completion takes milliseconds; an outage, seconds. */
const DB_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Batch sizes up to the largest configurable batches (claims 250, completions 500, triggers 1,000 by default). */
const BATCH_SIZES = [0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

/**
 * Creates the store metrics on `registry`.
 *
 * @example
 *   const observer = createStoreMetrics(new Registry(), { workflows: new LabelBudget(), actions: new LabelBudget() });
 *   observer.committed({ started: ["billing"] });
 */
export function createStoreMetrics(
  registry: Registry,
  budgets: { workflows: LabelBudget; actions: LabelBudget },
): StoreObserver {
  const registers = [registry];
  const runsStarted = new Counter({
    name: "weft_runs_started_total",
    help: "Runs created (TriggerWorkflow, events, schedules), by workflow.",
    labelNames: ["workflow"],
    registers,
  });
  const runsFinished = new Counter({
    name: "weft_runs_finished_total",
    help: "Runs that reached a final status, by workflow and status.",
    labelNames: ["workflow", "status"],
    registers,
  });
  const retries = new Counter({
    name: "weft_retries_scheduled_total",
    help: "Failed step attempts sent back to the queue for another attempt, by action.",
    labelNames: ["action"],
    registers,
  });
  const durations = new Histogram({
    name: "weft_db_transaction_duration_seconds",
    help: "Duration of the store's write transactions, by statement (failed ones included).",
    labelNames: ["statement"],
    buckets: DB_SECONDS,
    registers,
  });
  const batchOf = (kind: string, what: string) =>
    new Histogram({ name: `weft_${kind}_batch_size`, help: what, buckets: BATCH_SIZES, registers });
  const batches = {
    claim: batchOf("claim", "Tasks taken by one claim (empty claims included)."),
    completion: batchOf("completion", "Task results committed by one completion transaction."),
    trigger: batchOf("trigger", "Runs asked for by one trigger transaction."),
  };

  const started = new Children(budgets.workflows, (workflow) => runsStarted.labels(workflow));
  const finished = childPairs(budgets.workflows, (workflow, status) => runsFinished.labels(workflow, status));
  const retried = new Children(budgets.actions, (action) => retries.labels(action));
  const statements = new Map<StoreStatement, Histogram.Internal<string>>();

  return {
    transaction(statement, seconds) {
      let child = statements.get(statement);
      if (child === undefined) statements.set(statement, (child = durations.labels(statement)));
      child.observe(seconds);
    },
    batch(kind, size) {
      batches[kind].observe(size);
    },
    committed(facts) {
      for (const workflow of facts.started ?? []) started.get(workflow).inc();
      for (const run of facts.finished ?? []) finished(run.workflowId, run.status).inc();
      for (const action of facts.retries ?? []) retried.get(action ?? OTHER).inc();
    },
    purged: purgeCounters(registers),
  };
}

/** `weft_purged_*`: what purge batches deleted, by reason (and table). */
function purgeCounters(registers: Registry[]): StoreObserver["purged"] {
  const runs = new Counter({
    name: "weft_purged_runs_total",
    help: "Finished runs deleted, by reason (retention: the background pass; request: PurgeRuns).",
    labelNames: ["reason"],
    registers,
  });
  const rows = new Counter({
    name: "weft_purged_rows_total",
    help: "Rows deleted with purged runs, by table and reason.",
    labelNames: ["table", "reason"],
    registers,
  });
  const bytes = new Counter({
    name: "weft_purged_bytes_total",
    help: "Size of the rows deleted with purged runs (heap tuples, indexes not counted), by reason.",
    labelNames: ["reason"],
    registers,
  });
  return (reason, counts) => {
    runs.labels(reason).inc(counts.runs);
    rows.labels("runs", reason).inc(counts.runs);
    rows.labels("step_runs", reason).inc(counts.steps);
    rows.labels("run_events", reason).inc(counts.events);
    rows.labels("webhook_deliveries", reason).inc(counts.webhookDeliveries);
    bytes.labels(reason).inc(counts.bytes);
  };
}
