/**
 * What a trigger inserts, decided without I/O: each input's run planned
 * against its workflow version (`prepareRun`), then per run its `runs` row,
 * one row per step in the state the plan decided, and its first history
 * events (`newRows`), in the order and chunks the statement takes them.
 * The statement is `insert-runs.ts`; the path that drives it `trigger-runs.ts`.
 */
import { uuidv7 } from "uuidv7";
import { RunStatus, type StepStatus, type WorkflowDef } from "../../engine/model.js";
import { planInitial, type Plan } from "../../engine/planner.js";
import type { EventRow } from "./change-set.js";
import type { NewRunRow, NewStepRow } from "./insert-runs.js";
import { box } from "../db/json-rows.js";
import type { TriggerInput } from "../records.js";
import { settlePlan } from "../../engine/settle-plan.js";
import { storedInput } from "./stored-input.js";

/** Runs per statement at most (one jsonb parameter each: this bounds its size, not a parameter count). */
export const ROWS_PER_INSERT = 4000;

/** Largest value of an `integer` column (heartbeat timeouts are clamped to it). */
const MAX_INT = 2_147_483_647;

/** A run about to be inserted: its id (the existing run's, once a taken key resolves it), plan and row. */
export interface PlannedRun {
  runId: string;
  namespace: string;
  workflowId: string;
  key: string | undefined;
  def: WorkflowDef;
  plan: Plan;
  row: NewRunRow;
}

/**
 * A new run with its initial plan; a plan that finishes the run at once makes the row finished.
 *
 * @example
 * ```ts
 * const run = prepareRun({ workflowId: "billing", input: { n: 1 } }, 3, def);
 * run.row.status; // PENDING, or the final status when the plan settles the run at once
 * ```
 */
export function prepareRun(
  input: TriggerInput,
  version: number,
  def: WorkflowDef,
  maxPayloadBytes?: number,
): PlannedRun {
  const runId = uuidv7();
  const state = {
    runId,
    workflowId: input.workflowId,
    workflowVersion: version,
    status: RunStatus.PENDING,
    input: input.input,
  };
  const plan = settlePlan(def, { ...state, steps: {} }, planInitial(def, state), maxPayloadBytes);
  const finish = plan.finish;
  return {
    runId,
    namespace: input.namespace,
    workflowId: input.workflowId,
    key: input.idempotencyKey,
    def,
    plan,
    row: {
      id: runId,
      namespace: input.namespace,
      workflow_id: input.workflowId,
      workflow_version: version,
      pinned: Boolean(input.version),
      status: finish?.status ?? RunStatus.PENDING,
      input: box(input.input),
      idempotency_key: input.idempotencyKey ?? null,
      trigger: input.trigger ?? "api",
      deadline_ms: def.timeoutMs ? def.timeoutMs : null,
      finished: finish !== undefined,
      output: finish?.output === undefined ? null : box(finish.output),
      error: finish?.error ?? null,
      ...(input.traceparent === undefined ? {} : { traceparent: input.traceparent }),
    },
  };
}

/**
 * The run rows, one step row per step of each run (in the state its plan decided), and their first events.
 *
 * @example
 * ```ts
 * const { runs, steps, events } = newRows([prepareRun(input, 1, def)]);
 * ```
 */
export function newRows(runs: PlannedRun[]): { runs: NewRunRow[]; steps: NewStepRow[]; events: EventRow[] } {
  const steps: NewStepRow[] = [];
  const events: EventRow[] = [];
  for (const run of runs) {
    stepRows(run, firstEvents(run, events), steps);
  }
  return { runs: runs.map((r) => r.row), steps, events };
}

/** Appends the run's first history events; returns the status its plan gave each step it touched. */
function firstEvents(run: PlannedRun, events: EventRow[]): Map<string, StepStatus> {
  const { plan, runId } = run;
  const status = new Map<string, StepStatus>();
  events.push({ run_id: runId, type: "RUN_STATUS", run_status: RunStatus.PENDING });
  for (const q of plan.queue) {
    status.set(q.stepId, "QUEUED");
    events.push({ run_id: runId, type: "STEP_STATUS", step_id: q.stepId, step_status: "QUEUED" });
  }
  for (const s of plan.skip) {
    status.set(s.stepId, "SKIPPED");
    events.push({ run_id: runId, type: "STEP_STATUS", step_id: s.stepId, step_status: "SKIPPED", message: s.reason });
  }
  for (const f of plan.fail) {
    status.set(f.stepId, "FAILED");
    events.push({ run_id: runId, type: "STEP_STATUS", step_id: f.stepId, step_status: "FAILED", error: f.error });
  }
  if (plan.finish !== undefined) {
    const { status: runStatus, error } = plan.finish;
    events.push({ run_id: runId, type: "RUN_STATUS", run_status: runStatus, ...(error ? { error } : {}) });
  }
  return status;
}

/** Appends one row per step of the run's workflow: PENDING unless its plan decided otherwise. */
function stepRows(run: PlannedRun, status: Map<string, StepStatus>, steps: NewStepRow[]): void {
  const inputs = new Map(run.plan.queue.map((q) => [q.stepId, q.input]));
  const errors = new Map(run.plan.fail.map((f) => [f.stepId, f.error]));
  for (const step of run.def.steps) {
    const row: NewStepRow = {
      run_id: run.runId,
      step_id: step.id,
      action: step.action,
      status: status.get(step.id) ?? "PENDING",
    };
    if (inputs.has(step.id)) Object.assign(row, storedInput(inputs.get(step.id)!, run.row.input.v));
    const error = errors.get(step.id);
    if (error !== undefined) row.error = error;
    if (step.timeoutMs) row.timeout_ms = Math.ceil(step.timeoutMs);
    if (step.heartbeatTimeoutMs) row.heartbeat_timeout_ms = Math.min(MAX_INT, Math.ceil(step.heartbeatTimeoutMs));
    steps.push(row);
  }
}

/**
 * Keyed runs first, by (workflow id, key); unkeyed ones after, in any order.
 * Two batches sharing keys insert them in the same order, so they cannot deadlock.
 *
 * @example
 * ```ts
 * const ordered = [...plans].sort(byIdempotencyKey);
 * ```
 */
export function byIdempotencyKey(a: PlannedRun, b: PlannedRun): number {
  if (a.key === undefined || b.key === undefined) return Number(a.key === undefined) - Number(b.key === undefined);
  return compare(a.workflowId, b.workflowId) || compare(a.key, b.key);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The rows in slices of at most `ROWS_PER_INSERT`, one statement each.
 *
 * @example
 * ```ts
 * for (const chunk of chunks(ordered)) await insertRuns(db, { ...newRows(chunk), payloads });
 * ```
 */
export function* chunks<T>(rows: T[], size = ROWS_PER_INSERT): Generator<T[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}
