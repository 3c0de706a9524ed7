/**
 * Cancelling a run: one transaction. Lock the run; if it is unfinished, lock
 * its open steps (`stop-runs.ts`), let the engine stop it (`planCancel`: its
 * PENDING / QUEUED / RUNNING steps and the run → CANCELLED), write that with
 * one `writeChanges` statement, and return the tasks that were RUNNING. A
 * finished run comes back unchanged.
 */
import type { Kysely } from "kysely";
import { planCancel, stoppable } from "../../engine/stop.js";
import { finishedRuns, type CommitFacts } from "../observer.js";
import { getRun } from "../reads/run-queries.js";
import { lockRuns, runInNamespace } from "./run-state.js";
import type { Database } from "../db/schema.js";
import type { SignalBus } from "../signals/signal-bus.js";
import { lockOpenSteps, writeStop } from "./stop-runs.js";
import { isUuid } from "../task-id.js";
import type { RunRecord, RunningTaskRef, StoreSignal } from "../types.js";

/**
 * Cancels the run; `result` is undefined when it does not exist. A finished
 * run comes back unchanged with no running tasks.
 *
 * @example
 * ```ts
 * const { result, signals } = await cancelRun(db, runId, "cancelled by request", bus);
 * ```
 */
export async function cancelRun(
  db: Kysely<Database>,
  runId: string,
  reason: string,
  bus: SignalBus,
  namespace?: string,
): Promise<{
  result: { run: RunRecord; running: RunningTaskRef[] } | undefined;
  signals: StoreSignal[];
  facts?: CommitFacts;
}> {
  if (!isUuid(runId)) return { result: undefined, signals: [] };
  const id = runId.toLowerCase();
  return db.transaction().execute(async (trx) => {
    const run = (await lockRuns(trx, [id])).get(id);
    if (run === undefined || !runInNamespace(run, namespace)) return { result: undefined, signals: [] };
    if (stoppable([run]).length === 0) {
      return { result: { run: (await getRun(trx, id))!, running: [] }, signals: [] };
    }
    const decision = planCancel(run, await lockOpenSteps(trx, [run]), reason);
    const { running, signals, changes } = await writeStop(trx, decision, bus);
    return {
      result: { run: (await getRun(trx, id))!, running },
      signals,
      facts: { finished: finishedRuns(changes, [run]) },
    };
  });
}
