/**
 * Stopping unfinished runs (CancelRun, and the run timeout), the store's
 * half: lock the open steps of the runs (a claim in flight finishes first,
 * and its step is then seen RUNNING and stopped like the others), and write
 * the engine's decision (`src/engine/stop.ts`) with the `cancel` signal for
 * the tasks that were RUNNING. The caller holds the runs' locks.
 */
import { sql, type Transaction } from "kysely";
import type { LiveRun } from "../../engine/live-state.js";
import { OPEN_STEP_STATUSES, type OpenStep, type StopDecision } from "../../engine/stop.js";
import { ChangeSet } from "./change-set.js";
import { jsonRows } from "../db/json-rows.js";
import type { Database, StepRunRow } from "../db/schema.js";
import { stepsOfRuns } from "./run-state.js";
import type { SignalBus } from "../signals/signal-bus.js";
import { taskIdOf, workerIdOf } from "../task-id.js";
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
  const open = new Set<string>(OPEN_STEP_STATUSES);
  const steps = await stepsOfRuns<Pick<StepRunRow, "run_id" | "step_id" | "status">>(
    trx,
    runs.map((r) => r.id),
    sql`run_id, step_id, status`,
  );
  const keys = steps.filter((s) => open.has(s.status)).map((s) => ({ r: s.run_id, s: s.step_id }));
  if (keys.length === 0) return [];
  // By primary key, re-checking the status once locked: only a claim moves a step
  // without its run's lock, and it moves it between open statuses.
  const { rows } = await sql<
    Pick<StepRunRow, "run_id" | "step_id" | "status" | "attempts" | "worker_id" | "worker_uuid" | "lease_token">
  >`
    select s.run_id, s.step_id, s.status, s.attempts, s.worker_id, s.worker_uuid, s.lease_token
    from jsonb_to_recordset(${jsonRows(keys)}) as k(r uuid, s text)
    join step_runs s on s.run_id = k.r and s.step_id = k.s
    where s.status in (${sql.join(OPEN_STEP_STATUSES.map((s) => sql.lit(s)))})
    order by s.run_id, s.step_id
    for update of s
  `.execute(trx);
  return rows.map((r) => {
    const step: OpenStep = { runId: r.run_id, stepId: r.step_id, status: r.status, attempts: r.attempts };
    if (r.lease_token !== null) step.leaseToken = BigInt(r.lease_token);
    const workerId = workerIdOf(r);
    if (workerId !== null) step.workerId = workerId;
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
