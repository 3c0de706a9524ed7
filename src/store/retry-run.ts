/**
 * Retrying a finished run: one transaction. Lock the run; it must be FAILED,
 * CANCELLED or TIMED_OUT. Its FAILED, CANCELLED and SKIPPED steps go back to
 * PENDING (attempts 0, output, error, input, worker and lease cleared);
 * SUCCEEDED steps keep their outputs. The run goes back to RUNNING, and the
 * planner (seeing the kept outputs) decides what to queue, skip or fail at
 * once. A workflow timeout starts again from now. Everything is written by
 * one `writeChanges` statement.
 */
import type { Kysely } from "kysely";
import { planRun } from "../engine/planner.js";
import { canMoveStep } from "../engine/transition.js";
import { applyPlan } from "./apply-plan.js";
import { ChangeSet } from "./change-set.js";
import type { DefCache } from "./def-cache.js";
import { getRun } from "./run-queries.js";
import { loadSteps, lockRuns, runState } from "./run-state.js";
import type { Database } from "./schema.js";
import { finishedRuns, type CommitFacts } from "./observer.js";
import { settlePlan } from "./settle-plan.js";
import type { SignalBus } from "./signal-bus.js";
import { isUuid } from "./task-id.js";
import type { RunRecord, StoreSignal } from "./types.js";
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
): Promise<{ result: RetryResult; signals: StoreSignal[]; facts?: CommitFacts }> {
  if (!isUuid(runId)) return { result: { error: "NOT_FOUND" }, signals: [] };
  const id = runId.toLowerCase();
  return db.transaction().execute(async (trx) => {
    const run = (await lockRuns(trx, [id])).get(id);
    if (run === undefined) return { result: { error: "NOT_FOUND" as const }, signals: [] };
    if (run.status === "SUCCEEDED") return { result: { error: "SUCCEEDED" as const }, signals: [] };
    if (run.status === "PENDING" || run.status === "RUNNING")
      return { result: { error: "NOT_FINISHED" as const }, signals: [] };

    const steps = (await loadSteps(trx, [id])).get(id) ?? new Map();
    await deps.defs.load(trx, [{ workflowId: run.workflowId, version: run.workflowVersion }]);
    const def = deps.defs.get(run.workflowId, run.workflowVersion);
    if (def === undefined) throw new Error(`run ${id}: workflow ${run.workflowId} v${run.workflowVersion} not found`);

    const changes = new ChangeSet();
    // The workflow timeout starts again: a TIMED_OUT run would otherwise time out at once.
    changes.moveRun(id, run.status, "RUNNING", def.timeoutMs ? { deadlineMs: def.timeoutMs } : {}, "retry");
    changes.event({ run_id: id, type: "RUN_STATUS", run_status: "RUNNING", message: `retried after ${run.status}` });
    for (const step of steps.values()) {
      if (!canMoveStep(step.status, "PENDING", "retry")) continue;
      changes.moveStep(
        id,
        step.stepId,
        step.status,
        "PENDING",
        { reset: true, outputClear: true, errorClear: true, inputClear: true },
        "retry",
      );
      changes.event({
        run_id: id,
        type: "STEP_STATUS",
        step_id: step.stepId,
        step_status: "PENDING",
        message: "retried",
      });
      Object.assign(step, {
        status: "PENDING",
        attempts: 0,
        output: undefined,
        error: undefined,
        leaseToken: undefined,
        workerId: undefined,
      });
    }
    // Every step is examined (no hint): steps a timeout left PENDING are decided too.
    const state = runState(run, "RUNNING", steps);
    applyPlan(changes, def, id, "RUNNING", settlePlan(def, state, planRun(def, state), deps.maxPayloadBytes));

    const signals = changes.signals();
    await writeChanges(trx, changes, deps.bus.payloads(signals));
    // Retried steps the plan settles at once can finish the run again in this transaction.
    return { result: { run: (await getRun(trx, id))! }, signals, facts: { finished: finishedRuns(changes, [run]) } };
  });
}
