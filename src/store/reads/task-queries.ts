/**
 * Small reads for the dispatcher's safety nets and for WatchRun: each one
 * query on a partial index (see migration 0002). The status each one
 * filters on is a literal in the text, not a parameter: a generic plan (a
 * prepared statement after a few executions) can use a partial index only
 * when the text itself implies the index's predicate.
 */
import { sql, type Kysely } from "kysely";
import type { StepStatus } from "../../engine/model.js";
import { toRunEventRecord } from "./mappers.js";
import type { Database } from "../db/schema.js";
import { isUuid, parseTaskId, taskIdOf, workerIdOf } from "../task-id.js";
import type { RunEventRecord, RunningTaskRef } from "../types.js";

interface RunningRow {
  run_id: string;
  step_id: string;
  worker_id: string | null;
  worker_uuid: string | null;
  lease_token: string | number | null;
}

function toRef(row: RunningRow): RunningTaskRef {
  const ref: RunningTaskRef = { taskId: taskIdOf(row.run_id, row.step_id), leaseToken: BigInt(row.lease_token ?? 0) };
  const workerId = workerIdOf(row);
  if (workerId !== null) ref.workerId = workerId;
  return ref;
}

/**
 * RUNNING tasks whose attempt deadline is at or before `now`, earliest first
 * (index `step_runs_deadline`).
 *
 * @example
 * ```ts
 * for (const t of await timedOutTasks(db, new Date(), 500)) await lose(t, "TIMEOUT");
 * ```
 */
export async function timedOutTasks(db: Kysely<Database>, now: Date, limit: number): Promise<RunningTaskRef[]> {
  const rows = await db
    .selectFrom("step_runs")
    .select(["run_id", "step_id", "worker_id", "worker_uuid", "lease_token"])
    .where("status", "=", sql.lit<StepStatus>("RUNNING"))
    .where("deadline_at", "<=", now)
    .orderBy("deadline_at")
    .limit(Math.max(1, Math.floor(limit)))
    .execute();
  return rows.map(toRef);
}

/**
 * RUNNING tasks started before `startedBefore`, keyset-paged by task id
 * (run ids are UUIDv7, so this is roughly oldest first; index `step_runs_running`).
 *
 * @example
 * ```ts
 * let page = await runningTasks(db, { startedBefore, limit: 1000 });
 * page = await runningTasks(db, { startedBefore, limit: 1000, afterTaskId: page.at(-1)?.taskId });
 * ```
 */
export async function runningTasks(
  db: Kysely<Database>,
  opts: { startedBefore: Date; limit: number; afterTaskId?: string },
): Promise<RunningTaskRef[]> {
  let query = db
    .selectFrom("step_runs")
    .select(["run_id", "step_id", "worker_id", "worker_uuid", "lease_token"])
    .where("status", "=", sql.lit<StepStatus>("RUNNING"))
    .where("started_at", "<", opts.startedBefore);
  const after = opts.afterTaskId === undefined ? undefined : parseTaskId(opts.afterTaskId);
  if (after !== undefined) {
    query = query.where((eb) =>
      eb(eb.refTuple("run_id", "step_id"), ">", eb.tuple(sql<string>`cast(${after.runId} as uuid)`, after.stepId)),
    );
  }
  const rows = await query
    .orderBy("run_id")
    .orderBy("step_id")
    .limit(Math.max(1, Math.floor(opts.limit)))
    .execute();
  return rows.map(toRef);
}

/**
 * The earliest `not_before` still in the future among QUEUED steps (a
 * waiting retry), or undefined (index `step_runs_due`).
 *
 * @example
 * ```ts
 * const due = await nextDueTime(db);
 * if (due) setTimeout(wake, due.getTime() - Date.now());
 * ```
 */
export async function nextDueTime(db: Kysely<Database>): Promise<Date | undefined> {
  const row = await db
    .selectFrom("step_runs")
    .select("not_before")
    .where("status", "=", sql.lit<StepStatus>("QUEUED"))
    .where("not_before", ">", sql<Date>`now()`)
    .orderBy("not_before")
    .limit(1)
    .executeTakeFirst();
  return row?.not_before ?? undefined;
}

/**
 * Ready tasks (QUEUED and due) per action, for the queue-depth gauge: one
 * grouped scan of the partial index `step_runs_claim` and its rows (the due
 * time is not in the index). Callers cache it; it is not on any hot path.
 *
 * @example
 * ```ts
 * for (const { namespace, action, count } of await readyTaskCounts(db)) gauge.set({ namespace, action }, count);
 * ```
 */
export async function readyTaskCounts(
  db: Kysely<Database>,
): Promise<{ namespace: string; action: string; count: number }[]> {
  const rows = await db
    .selectFrom("step_runs")
    .select(["namespace", "action", sql<number>`count(*)::int`.as("count")])
    .where("status", "=", sql.lit<StepStatus>("QUEUED"))
    .where((eb) => eb.or([eb("not_before", "is", null), eb("not_before", "<=", sql<Date>`now()`)]))
    .groupBy(["namespace", "action"])
    .execute();
  return rows.map((r) => ({ namespace: r.namespace, action: r.action, count: Number(r.count) }));
}

/**
 * A run's history events with id greater than `afterId`, oldest first.
 *
 * @example
 * ```ts
 * const events = await runEventsAfter(db, runId, lastSeenId, 500);
 * ```
 */
export async function runEventsAfter(
  db: Kysely<Database>,
  runId: string,
  afterId: bigint,
  limit: number,
): Promise<RunEventRecord[]> {
  if (!isUuid(runId)) return [];
  const rows = await db
    .selectFrom("run_events")
    .selectAll()
    .where("run_id", "=", runId)
    .where("id", ">", String(afterId))
    .orderBy("id")
    .limit(Math.max(1, Math.floor(limit)))
    .execute();
  return rows.map(toRunEventRecord);
}
