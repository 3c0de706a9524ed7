/**
 * Row → domain record mappers: the only place snake_case turns into the
 * records of `types.ts`. SQL NULL becomes an absent field.
 */
import { sql } from "kysely";
import { runInput } from "../db/packed-json.js";
import type { WorkflowVersionRow, RunRow, StepRunRow, RunEventRow } from "../db/schema.js";
import type { RunEventRecord, RunRecord, StepRunRecord, WorkflowRecord } from "../types.js";

/** Drops keys whose value is `undefined`, so records compare cleanly with `toEqual`. */
function compact<T extends object>(record: T): T {
  for (const key of Object.keys(record) as (keyof T)[]) {
    if (record[key] === undefined) delete record[key];
  }
  return record;
}

function opt<T>(value: T | null): T | undefined {
  return value === null ? undefined : value;
}

/**
 * A workflow version row (with the workflow's `deleted_at`) as a `WorkflowRecord`.
 *
 * @example
 * ```ts
 * const record = toWorkflowRecord({ ...versionRow, deleted_at: null });
 * ```
 */
export function toWorkflowRecord(row: WorkflowVersionRow & { deleted_at: Date | null }): WorkflowRecord {
  return compact({
    namespace: row.namespace,
    id: row.workflow_id,
    version: row.version,
    spec: row.spec,
    def: row.def,
    createdAt: row.created_at,
    deletedAt: opt(row.deleted_at),
  });
}

/**
 * A runs row as a `RunRecord`. `has_output` tells a JSON `null` output from no output
 * (the driver parses both to `null`); select it with `hasOutput()`.
 *
 * @example
 * ```ts
 * const run = toRunRecord(row, steps.map(toStepRunRecord));
 * ```
 */
export function toRunRecord(row: RunRow & { has_output: boolean }, steps: StepRunRecord[] = []): RunRecord {
  return compact({
    id: row.id,
    namespace: row.namespace,
    workflowId: row.workflow_id,
    workflowVersion: row.workflow_version,
    status: row.status,
    input: runInput(row),
    output: row.has_output ? row.output : undefined,
    error: opt(row.error),
    idempotencyKey: opt(row.idempotency_key),
    trigger: opt(row.trigger),
    createdAt: row.created_at,
    startedAt: opt(row.started_at),
    endedAt: opt(row.ended_at),
    deadlineAt: opt(row.deadline_at),
    steps,
  });
}

/**
 * A step_runs row as a `StepRunRecord` (see `toRunRecord` for `has_output`).
 *
 * @example
 * ```ts
 * const steps = rows.map(toStepRunRecord);
 * ```
 */
export function toStepRunRecord(
  row: Pick<
    StepRunRow,
    | "step_id"
    | "action"
    | "status"
    | "attempts"
    | "output"
    | "error"
    | "worker_id"
    | "created_at"
    | "queued_at"
    | "started_at"
    | "ended_at"
  > & {
    has_output: boolean;
  },
): StepRunRecord {
  return compact({
    stepId: row.step_id,
    action: row.action,
    status: row.status,
    attempts: row.attempts,
    output: row.has_output ? row.output : undefined,
    error: opt(row.error),
    workerId: opt(row.worker_id),
    createdAt: row.created_at,
    queuedAt: opt(row.queued_at),
    startedAt: opt(row.started_at),
    endedAt: opt(row.ended_at),
  });
}

/**
 * The `run_events` columns a history read selects, the event type and
 * statuses decoded whichever way the row keeps them (text before 0012, a
 * code since): rows of either kind read back the same.
 *
 * @example
 * ```ts
 * const rows = await db.selectFrom("run_events").select(historyColumns).where("run_id", "=", runId).execute();
 * ```
 */
export const historyColumns = [
  "id",
  "run_id",
  "time",
  sql<RunEventRow["type"]>`coalesce(type, weft_name(type_code))`.as("type"),
  sql<RunEventRow["run_status"]>`coalesce(run_status, weft_name(run_status_code))`.as("run_status"),
  "step_id",
  sql<RunEventRow["step_status"]>`coalesce(step_status, weft_name(step_status_code))`.as("step_status"),
  "attempt",
  "worker_id",
  "error",
  "message",
] as const;

/**
 * A run_events row as a `RunEventRecord`; the int8 id becomes a `bigint`
 * whichever form the driver returned it in.
 *
 * @example
 * ```ts
 * const history = rows.map(toRunEventRecord);
 * ```
 */
export function toRunEventRecord(row: RunEventRow): RunEventRecord {
  return compact({
    id: BigInt(row.id),
    runId: row.run_id,
    time: row.time,
    type: row.type,
    runStatus: opt(row.run_status),
    stepId: opt(row.step_id),
    stepStatus: opt(row.step_status),
    attempt: opt(row.attempt),
    workerId: opt(row.worker_id),
    error: opt(row.error),
    message: opt(row.message),
  });
}
