/**
 * Task ids: `${runId}/${stepId}`. A run id is a UUID and a step id never
 * holds a `/`, so the first `/` splits them.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STEP_ID = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;

/**
 * @example
 * ```ts
 * taskIdOf(runId, "charge"); // "0190…/charge"
 * ```
 */
export function taskIdOf(runId: string, stepId: string): string {
  return `${runId}/${stepId}`;
}

/**
 * The run and step of a task id; undefined when it is not one (wrong shape,
 * not a UUID, not a step id), so a bad id can never reach a `uuid` cast.
 *
 * @example
 * ```ts
 * const parsed = parseTaskId(outcome.taskId);
 * if (!parsed) return { taskId, accepted: false, reason: "unknown task" };
 * ```
 */
export function parseTaskId(taskId: string): { runId: string; stepId: string } | undefined {
  const slash = taskId.indexOf("/");
  if (slash < 0) return undefined;
  const runId = taskId.slice(0, slash).toLowerCase();
  const stepId = taskId.slice(slash + 1);
  return UUID.test(runId) && STEP_ID.test(stepId) ? { runId, stepId } : undefined;
}

/**
 * Whether a string is a UUID (what a `uuid` column accepts from us).
 *
 * @example
 * ```ts
 * if (!isUuid(runId)) return undefined;
 * ```
 */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}

/**
 * The pattern of a UUID in the text form Postgres gives a `uuid` back in
 * (lower case): a worker id like this is kept as a `uuid` and reads back
 * unchanged (`worker_uuid`, migration 0012); any other stays text.
 */
export const CANONICAL_UUID = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
const CANONICAL = new RegExp(CANONICAL_UUID);

/**
 * A worker id as the two columns keep it: `[text, uuid]`, one of them null.
 *
 * @example
 * ```ts
 * workerIdColumns("w1"); // ["w1", null]
 * ```
 */
export function workerIdColumns(workerId: string): [string | null, string | null] {
  return CANONICAL.test(workerId) ? [null, workerId] : [workerId, null];
}

/**
 * The worker id a row keeps in either column (`workerIdColumns`' inverse), or null.
 *
 * @example
 * ```ts
 * workerIdOf({ worker_id: null, worker_uuid: "0193…" }); // "0193…"
 * ```
 */
export function workerIdOf(row: { worker_id: string | null; worker_uuid: string | null }): string | null {
  return row.worker_id ?? row.worker_uuid;
}
