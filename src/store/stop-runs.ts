/**
 * Stopping unfinished runs (CancelRun, and the run timeout): their PENDING,
 * QUEUED and RUNNING steps → CANCELLED with the given error, the runs →
 * CANCELLED or TIMED_OUT. The caller holds the runs' locks; the steps are
 * locked here (a claim in flight finishes first, and its step is then seen
 * RUNNING and stopped like the others). The tasks that were RUNNING are
 * returned: their workers should get `cancel`, and their tokens are stale
 * from now on (the step is no longer RUNNING).
 */
import type { Transaction } from "kysely";
import type { Failure, StepStatus } from "../engine/model.js";
import { stepSourcesFor } from "../engine/transition.js";
import type { ChangeSet } from "./change-set.js";
import { anyUuid } from "./json-rows.js";
import type { LockedRun } from "./run-state.js";
import type { Database } from "./schema.js";
import { taskIdOf } from "./task-id.js";
import type { RunningTaskRef } from "./types.js";

/**
 * Records the stop of every run in `runs` (all unfinished, all locked by the caller).
 *
 * @example
 * ```ts
 * const running = await stopRuns(trx, changes, [run], "CANCELLED", { type: "CANCELLED", message: reason });
 * ```
 */
export async function stopRuns(
  trx: Transaction<Database>,
  changes: ChangeSet,
  runs: readonly LockedRun[],
  status: "CANCELLED" | "TIMED_OUT",
  error: Failure,
): Promise<RunningTaskRef[]> {
  if (runs.length === 0) return [];
  const steps = await trx
    .selectFrom("step_runs")
    .select(["run_id", "step_id", "status", "attempts", "worker_id", "lease_token"])
    .where("run_id", "=", anyUuid(runs.map((r) => r.id)))
    .where("status", "in", stepSourcesFor("CANCELLED") as StepStatus[])
    .orderBy("run_id")
    .orderBy("step_id")
    .forUpdate()
    .execute();

  const running: RunningTaskRef[] = [];
  for (const s of steps) {
    changes.moveStep(s.run_id, s.step_id, s.status, "CANCELLED", { error });
    const wasRunning = s.status === "RUNNING";
    changes.event({
      run_id: s.run_id,
      type: "STEP_STATUS",
      step_id: s.step_id,
      step_status: "CANCELLED",
      error,
      ...(wasRunning ? { attempt: s.attempts, ...(s.worker_id ? { worker_id: s.worker_id } : {}) } : {}),
    });
    if (wasRunning && s.lease_token !== null) {
      const ref: RunningTaskRef = { taskId: taskIdOf(s.run_id, s.step_id), leaseToken: BigInt(s.lease_token) };
      if (s.worker_id !== null) ref.workerId = s.worker_id;
      running.push(ref);
    }
  }
  for (const run of runs) {
    changes.moveRun(run.id, run.status, status, { error });
    changes.event({ run_id: run.id, type: "RUN_STATUS", run_status: status, error, message: error.message });
  }
  return running;
}
