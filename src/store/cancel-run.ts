/**
 * Cancelling a run: one transaction. Lock the run; if it is unfinished, stop
 * it (`stop-runs.ts`: its PENDING / QUEUED / RUNNING steps and the run →
 * CANCELLED) with one `writeChanges` statement, and return the tasks that
 * were RUNNING. A finished run comes back unchanged.
 */
import type { Kysely } from "kysely";
import { FINISHED_RUN_STATUSES, type Failure } from "../engine/model.js";
import { ChangeSet } from "./change-set.js";
import { scrubNul } from "./nul-text.js";
import { finishedRuns, type CommitFacts } from "./observer.js";
import { getRun } from "./run-queries.js";
import { lockRuns } from "./run-state.js";
import type { Database } from "./schema.js";
import type { SignalBus } from "./signal-bus.js";
import { stopRuns } from "./stop-runs.js";
import { isUuid } from "./task-id.js";
import type { RunRecord, RunningTaskRef, StoreSignal } from "./types.js";
import { writeChanges } from "./write-changes.js";

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
): Promise<{
  result: { run: RunRecord; running: RunningTaskRef[] } | undefined;
  signals: StoreSignal[];
  facts?: CommitFacts;
}> {
  if (!isUuid(runId)) return { result: undefined, signals: [] };
  const id = runId.toLowerCase();
  return db.transaction().execute(async (trx) => {
    const run = (await lockRuns(trx, [id])).get(id);
    if (run === undefined) return { result: undefined, signals: [] };
    if (FINISHED_RUN_STATUSES.includes(run.status)) {
      return { result: { run: (await getRun(trx, id))!, running: [] }, signals: [] };
    }
    const error: Failure = { type: "CANCELLED", message: scrubNul(reason) };
    const changes = new ChangeSet();
    const running = await stopRuns(trx, changes, [run], "CANCELLED", error);
    const signals = changes.signals();
    if (running.length > 0) signals.push({ kind: "cancel", tasks: running, reason: error.message });
    await writeChanges(trx, changes, bus.payloads(signals));
    return {
      result: { run: (await getRun(trx, id))!, running },
      signals,
      facts: { finished: finishedRuns(changes, [run]) },
    };
  });
}
