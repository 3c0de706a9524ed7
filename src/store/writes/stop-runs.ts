/**
 * Stopping unfinished runs (CancelRun, and the run timeout), the store's
 * half: lock the open steps of the runs (a claim in flight finishes first,
 * and its step is then seen RUNNING and stopped like the others), and write
 * the engine's decision (`src/engine/stop.ts`) with the `cancel` signal for
 * the tasks that were RUNNING. The caller holds the runs' locks.
 */
import type { Transaction } from "kysely";
import type { LiveRun } from "../../engine/live-state.js";
import type { StepStatus } from "../../engine/model.js";
import { OPEN_STEP_STATUSES, type OpenStep, type StopDecision } from "../../engine/stop.js";
import { ChangeSet } from "./change-set.js";
import { anyUuid } from "../db/json-rows.js";
import type { Database } from "../db/schema.js";
import type { SignalBus } from "../signals/signal-bus.js";
import { taskIdOf } from "../task-id.js";
import type { RunningTaskRef, StoreSignal } from "../types.js";
import { writeChanges } from "./write-changes.js";

/**
 * Locks (`FOR UPDATE`) and returns the steps of `runs` a stop moves, in run and step order.
 *
 * @example
 * ```ts
 * const decision = planCancel(run, await lockOpenSteps(trx, [run]), reason);
 * ```
 */
export async function lockOpenSteps(trx: Transaction<Database>, runs: readonly LiveRun[]): Promise<OpenStep[]> {
  if (runs.length === 0) return [];
  const rows = await trx
    .selectFrom("step_runs")
    .select(["run_id", "step_id", "status", "attempts", "worker_id", "lease_token"])
    .where("run_id", "=", anyUuid(runs.map((r) => r.id)))
    .where("status", "in", OPEN_STEP_STATUSES as StepStatus[])
    .orderBy("run_id")
    .orderBy("step_id")
    .forUpdate()
    .execute();
  return rows.map((r) => {
    const step: OpenStep = { runId: r.run_id, stepId: r.step_id, status: r.status, attempts: r.attempts };
    if (r.lease_token !== null) step.leaseToken = BigInt(r.lease_token);
    if (r.worker_id !== null) step.workerId = r.worker_id;
    return step;
  });
}

/**
 * Writes a stop's decision in one statement, signalling `cancel` to the tasks that were RUNNING.
 *
 * @example
 * ```ts
 * const { running, signals, changes } = await writeStop(trx, planRunTimeouts(runs, steps), bus);
 * ```
 */
export async function writeStop(
  trx: Transaction<Database>,
  decision: StopDecision,
  bus: SignalBus,
): Promise<{ running: RunningTaskRef[]; signals: StoreSignal[]; changes: ChangeSet }> {
  const changes = new ChangeSet();
  changes.add(decision);
  const running = decision.cancel.map((t) => {
    const ref: RunningTaskRef = { taskId: taskIdOf(t.runId, t.stepId), leaseToken: t.leaseToken };
    if (t.workerId !== undefined) ref.workerId = t.workerId;
    return ref;
  });
  const signals = changes.signals();
  if (running.length > 0) signals.push({ kind: "cancel", tasks: running, reason: decision.reason });
  await writeChanges(trx, changes, bus.payloads(signals));
  return { running, signals, changes };
}
