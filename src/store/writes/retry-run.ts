/**
 * Retrying a finished run: one transaction. Lock the run; the engine says
 * whether it may be retried (FAILED, CANCELLED or TIMED_OUT) and, with its
 * steps and definition loaded, what retrying it moves
 * (`src/engine/retry-run.ts`: the resets, the run back to RUNNING, the plan
 * from there). Everything is written by one `writeChanges` statement.
 */
import type { Kysely } from "kysely";
import { planRetryRun, retryRefusal } from "../../engine/retry-run.js";
import { ChangeSet } from "./change-set.js";
import type { DefCache } from "../reads/def-cache.js";
import { finishedRuns, type CommitFacts } from "../observer.js";
import { getRun } from "../reads/run-queries.js";
import { loadRuns, lockRuns, runInNamespace } from "./run-state.js";
import type { Database } from "../db/schema.js";
import type { SignalBus } from "../signals/signal-bus.js";
import { isUuid } from "../task-id.js";
import type { RunRecord, StoreSignal } from "../types.js";
import { writeChanges } from "./write-changes.js";

type RetryResult = { run: RunRecord } | { error: "NOT_FOUND" | "NOT_FINISHED" | "SUCCEEDED" };

/**
 * Re-opens a finished, unsuccessful run.
 *
 * @example
 * ```ts
 * const { result, signals } = await retryRun(db, runId, { defs, bus });
 * if ("error" in result) throw precondition(result.error);
 * ```
 */
export async function retryRun(
  db: Kysely<Database>,
  runId: string,
  deps: { defs: DefCache; bus: SignalBus; maxPayloadBytes?: number },
  namespace?: string,
): Promise<{ result: RetryResult; signals: StoreSignal[]; facts?: CommitFacts }> {
  if (!isUuid(runId)) return { result: { error: "NOT_FOUND" }, signals: [] };
  const id = runId.toLowerCase();
  return db.transaction().execute(async (trx) => {
    const locked = await lockRuns(trx, [id]);
    const run = locked.get(id);
    if (run === undefined || !runInNamespace(run, namespace))
      return { result: { error: "NOT_FOUND" as const }, signals: [] };
    const refusal = retryRefusal(run.status);
    if (refusal !== undefined) return { result: { error: refusal }, signals: [] };

    const loaded = (await loadRuns(trx, locked)).get(id)!;
    await deps.defs.load(trx, [{ namespace: run.namespace, workflowId: run.workflowId, version: run.workflowVersion }]);
    const def = deps.defs.get(run.namespace, run.workflowId, run.workflowVersion);
    if (def === undefined) throw new Error(`run ${id}: workflow ${run.workflowId} v${run.workflowVersion} not found`);

    const changes = new ChangeSet((runId) => (runId === id ? loaded.run.input : undefined));
    changes.add(planRetryRun(def, loaded, deps.maxPayloadBytes));
    const signals = changes.signals();
    await writeChanges(trx, changes, deps.bus.payloads(signals));
    // Retried steps the plan settles at once can finish the run again in this transaction.
    return { result: { run: (await getRun(trx, id))! }, signals, facts: { finished: finishedRuns(changes, [run]) } };
  });
}
