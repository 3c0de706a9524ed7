/**
 * What the store tells an observer (the metrics) about its writes: how long
 * each transaction took, how large its batch was, and, after a commit, the
 * runs it started and finished and the retries it scheduled; and what each
 * purge batch deleted. The facts are
 * gathered from what the write path already holds in memory, so observing
 * costs no query; nothing here is read back by the store.
 *
 * @example
 *   const store = new KyselyStore(db, undefined, { observer: metrics.store });
 */
import { FINISHED_RUN_STATUSES, type RunStatus } from "../engine/model.js";
import type { PurgeCounts } from "./records.js";
import type { ChangeSet } from "./writes/change-set.js";

/** The store calls that are timed, by name. */
export type StoreStatement = "claim" | "completion" | "trigger" | "cancel_run" | "retry_run" | "time_out_runs";

/** A run that reached a final status in a committed transaction. */
export interface FinishedRun {
  /** Set by the store (the metrics count by workflow only). */
  runId?: string;
  workflowId: string;
  status: RunStatus;
}

/** What one committed transaction did, as far as the metrics count it. */
export interface CommitFacts {
  /** The workflow of each run created (an idempotent repeat creates none). */
  started?: readonly string[];
  /** The id of each run created, in the order of `started`. */
  startedIds?: readonly string[];
  finished?: readonly FinishedRun[];
  /** The action of each step sent back to QUEUED for another attempt (undefined: unknown). */
  retries?: readonly (string | undefined)[];
}

export interface StoreObserver {
  /** A timed call ended, committed or not, after `seconds`. */
  transaction(statement: StoreStatement, seconds: number): void;
  /** Tasks one claim took (0 included), results one completion carried, triggers one trigger started. */
  batch(kind: "claim" | "completion" | "trigger", size: number): void;
  /** Called after the commit, never for a rolled-back transaction. */
  committed(facts: CommitFacts): void;
  /** A purge batch committed: by a retention pass or by a `PurgeRuns` request. */
  purged(reason: PurgeReason, counts: PurgeCounts): void;
}

/** Why runs were deleted. */
export type PurgeReason = "retention" | "request";

/** The default: observes nothing (tests and tools that open a store need no metrics). */
export const NO_STORE_OBSERVER: StoreObserver = {
  transaction() {},
  batch() {},
  committed() {},
  purged() {},
};

/**
 * The runs among `runs` that these changes move to a final status.
 *
 * @example
 *   const facts = { finished: finishedRuns(changes, locked.values()) };
 */
export function finishedRuns(changes: ChangeSet, runs: Iterable<{ id: string; workflowId: string }>): FinishedRun[] {
  const finished: FinishedRun[] = [];
  for (const run of runs) {
    const to = changes.runs.get(run.id)?.to;
    if (to !== undefined && FINISHED_RUN_STATUSES.includes(to))
      finished.push({ runId: run.id, workflowId: run.workflowId, status: to });
  }
  return finished;
}

/**
 * The facts of a trigger: a run per created plan, finished too when its plan
 * settled it at once (every root skipped or failed).
 *
 * @example
 *   const facts = triggerFacts(plans, created);
 */
export function triggerFacts(
  plans: readonly { runId: string; workflowId: string; row: { status: RunStatus; finished: boolean } }[],
  created: ReadonlySet<string>,
): CommitFacts {
  const started: string[] = [];
  const startedIds: string[] = [];
  const finished: FinishedRun[] = [];
  for (const plan of plans) {
    if (!created.has(plan.runId)) continue;
    started.push(plan.workflowId);
    startedIds.push(plan.runId);
    if (plan.row.finished) finished.push({ runId: plan.runId, workflowId: plan.workflowId, status: plan.row.status });
  }
  return { started, startedIds, finished };
}
