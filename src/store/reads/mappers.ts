/**
 * Row → domain record mappers: the only place snake_case turns into the
 * records of `types.ts`. SQL NULL becomes an absent field.
 */
import { eventName } from "../db/event-codes.js";
import { runInput } from "../db/packed-json.js";
import { workerIdOf } from "../task-id.js";
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
 * A run_events row as a `RunEventRecord`; the int8 id becomes a `bigint`
 * whichever form the driver returned it in. The type, statuses and worker
 * id are read whichever way the row keeps them (migration 0012).
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
    type: eventName(row.type, row.type_code)!,
    runStatus: opt(eventName(row.run_status, row.run_status_code)),
    stepId: opt(row.step_id),
    stepStatus: opt(eventName(row.step_status, row.step_status_code)),
    attempt: opt(row.attempt),
    workerId: opt(workerIdOf(row)),
    error: opt(row.error),
    message: opt(row.message),
  });
}
