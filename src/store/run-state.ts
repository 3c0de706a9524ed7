/**
 * Reading runs for a state change: lock the run rows, then read their steps.
 *
 * Why two statements: the lock must come first and the read after it. A
 * statement's snapshot is taken when it starts, so a single statement that
 * waited for a run lock held by a sibling step's completion would still read
 * the steps as they were before that completion committed — and both
 * completions would each see the other branch unfinished, missing a fan-in.
 * A new statement after the lock (READ COMMITTED) sees every commit made
 * under that lock.
 */
import { sql, type Transaction } from "kysely";
import type { Failure, JsonValue, RunStatus, StepStatus } from "../engine/model.js";
import type { RunState, StepState } from "../engine/planner.js";
import { anyUuid } from "./json-rows.js";
import type { Database } from "./schema.js";

export interface LockedRun {
  id: string;
  workflowId: string;
  workflowVersion: number;
  status: RunStatus;
  input: JsonValue;
}

/** A step row as the execution paths need it (no `input`: it may be large and is not planned on). */
export interface StepRowState {
  stepId: string;
  status: StepStatus;
  attempts: number;
  output?: JsonValue;
  error?: Failure;
  leaseToken?: bigint;
  workerId?: string;
}

/**
 * Locks the runs (`FOR UPDATE`, in id order so two transactions locking
 * overlapping sets cannot deadlock) and returns them by id; unknown ids are absent.
 *
 * @example
 * ```ts
 * const runs = await lockRuns(trx, [...new Set(parsed.map((p) => p.runId))]);
 * ```
 */
export async function lockRuns(trx: Transaction<Database>, ids: readonly string[]): Promise<Map<string, LockedRun>> {
  if (ids.length === 0) return new Map();
  const rows = await trx
    .selectFrom("runs")
    .select(["id", "workflow_id", "workflow_version", "status", "input"])
    .where("id", "=", anyUuid(ids))
    .orderBy("id")
    .forUpdate()
    .execute();
  return new Map(
    rows.map((r) => [
      r.id,
      { id: r.id, workflowId: r.workflow_id, workflowVersion: r.workflow_version, status: r.status, input: r.input },
    ]),
  );
}

/**
 * Every step of the runs (call after `lockRuns`), by run id then step id.
 *
 * @example
 * ```ts
 * const steps = await loadSteps(trx, [...runs.keys()]);
 * ```
 */
export async function loadSteps(
  trx: Transaction<Database>,
  runIds: readonly string[],
): Promise<Map<string, Map<string, StepRowState>>> {
  const byRun = new Map<string, Map<string, StepRowState>>();
  if (runIds.length === 0) return byRun;
  const rows = await trx
    .selectFrom("step_runs")
    .select(["run_id", "step_id", "status", "attempts", "output", "error", "lease_token", "worker_id"])
    .select(sql<boolean>`output is not null`.as("has_output"))
    .where("run_id", "=", anyUuid(runIds))
    .execute();
  for (const r of rows) {
    let steps = byRun.get(r.run_id);
    if (steps === undefined) byRun.set(r.run_id, (steps = new Map()));
    const step: StepRowState = { stepId: r.step_id, status: r.status, attempts: r.attempts };
    if (r.has_output) step.output = r.output;
    if (r.error !== null) step.error = r.error;
    if (r.lease_token !== null) step.leaseToken = BigInt(r.lease_token);
    if (r.worker_id !== null) step.workerId = r.worker_id;
    steps.set(r.step_id, step);
  }
  return byRun;
}

/**
 * The planner's view of a run (`status` as given: the run's status after this
 * transaction's own moves).
 *
 * @example
 * ```ts
 * const plan = planRun(def, runState(run, "RUNNING", steps), changed);
 * ```
 */
export function runState(run: LockedRun, status: RunStatus, steps: ReadonlyMap<string, StepRowState>): RunState {
  const states: Record<string, StepState> = {};
  for (const [id, s] of steps) {
    const state: StepState = { status: s.status, attempts: s.attempts };
    if (s.output !== undefined) state.output = s.output;
    if (s.error !== undefined) state.error = s.error;
    states[id] = state;
  }
  return {
    runId: run.id,
    workflowId: run.workflowId,
    workflowVersion: run.workflowVersion,
    status,
    input: run.input,
    steps: states,
  };
}
