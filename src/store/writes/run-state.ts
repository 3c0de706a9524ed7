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
 *
 * Why the steps are read per run (`stepsOfRuns`): Postgres without
 * statistics on `step_runs` (never analysed, as with autovacuum off)
 * guesses that `run_id = x` matches 0.5 % of the table, so `run_id =
 * any(…)` over a large table was planned as a parallel scan with JIT,
 * 100–150 ms for rows that an index reads in 1 ms. A LATERAL lookup per run
 * that stops after a fixed number of rows is an index scan whatever the
 * statistics say, and its estimated cost stays far below the JIT threshold.
 */
import { sql, type RawBuilder, type Transaction } from "kysely";
import type { LiveRun, LiveStep, LoadedRun } from "../../engine/live-state.js";
import { anyUuid, jsonRows } from "../db/json-rows.js";
import { runInput } from "../db/packed-json.js";
import { workerIdOf } from "../task-id.js";
import type { Database, StepRunRow } from "../db/schema.js";

/**
 * Step rows read per run in one statement; a run with more is read on from
 * its last step id by another statement (literal, not a parameter, so a
 * generic plan knows it too).
 */
const STEPS_PER_READ = 100;

/**
 * Locks the runs (`FOR UPDATE`, in id order so two transactions locking
 * overlapping sets cannot deadlock) and returns them by id; unknown ids are absent.
 *
 * @example
 * ```ts
 * const runs = await lockRuns(trx, [...new Set(parsed.map((p) => p.runId))]);
 * ```
 */
export async function lockRuns(trx: Transaction<Database>, ids: readonly string[]): Promise<Map<string, LiveRun>> {
  if (ids.length === 0) return new Map();
  const rows = await trx
    .selectFrom("runs")
    .select(["id", "namespace", "workflow_id", "workflow_version", "status", "input", "input_z"])
    .where("id", "=", anyUuid(ids))
    .orderBy("id")
    .forUpdate()
    .execute();
  return new Map(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        namespace: r.namespace,
        workflowId: r.workflow_id,
        workflowVersion: r.workflow_version,
        status: r.status,
        input: runInput(r),
      },
    ]),
  );
}

/** Whether the run is in `namespace` (undefined: any namespace). */
export function runInNamespace(run: LiveRun, namespace: string | undefined): boolean {
  return namespace === undefined || run.namespace === namespace;
}

/**
 * The locked runs (call after `lockRuns`) with every step of each, by step id.
 *
 * @example
 * ```ts
 * const loaded = await loadRuns(trx, await lockRuns(trx, ids));
 * ```
 */
export async function loadRuns(
  trx: Transaction<Database>,
  runs: ReadonlyMap<string, LiveRun>,
): Promise<Map<string, LoadedRun>> {
  const byRun = new Map<string, LoadedRun>();
  if (runs.size === 0) return byRun;
  for (const [id, run] of runs) byRun.set(id, { run, steps: new Map() });
  const rows = await stepsOfRuns<LoadedStepRow>(
    trx,
    [...runs.keys()],
    sql`run_id, step_id, status, attempts, output, error, lease_token, worker_id, worker_uuid, output is not null as has_output`,
  );
  for (const r of rows) {
    const step: LiveStep = { stepId: r.step_id, status: r.status, attempts: r.attempts };
    if (r.has_output) step.output = r.output;
    if (r.error !== null) step.error = r.error;
    if (r.lease_token !== null) step.leaseToken = BigInt(r.lease_token);
    const workerId = workerIdOf(r);
    if (workerId !== null) step.workerId = workerId;
    byRun.get(r.run_id)?.steps.set(r.step_id, step);
  }
  return byRun;
}

type LoadedStepRow = Pick<
  StepRunRow,
  "run_id" | "step_id" | "status" | "attempts" | "output" | "error" | "lease_token" | "worker_id" | "worker_uuid"
> & { has_output: boolean };

/**
 * The `columns` of the step rows of `runIds`, in run id order and each
 * run's in step id order: one LATERAL primary-key lookup per run, reading
 * at most `STEPS_PER_READ` rows of each (a run that filled them is read on
 * from its last step by another statement). No status filter and no lock
 * here: a filter makes the planner expect fewer rows than the limit, so the
 * limit no longer bounds its estimate (a lock goes by primary key after).
 *
 * @example
 * ```ts
 * const rows = await stepsOfRuns<{ run_id: string; step_id: string }>(trx, ids, sql`run_id, step_id`);
 * ```
 */
export async function stepsOfRuns<R extends { run_id: string; step_id: string }>(
  trx: Transaction<Database>,
  runIds: readonly string[],
  columns: RawBuilder<unknown>,
): Promise<R[]> {
  const byRun = new Map<string, R[]>();
  for (const id of [...new Set(runIds.map((r) => r.toLowerCase()))].sort()) byRun.set(id, []);
  let keys = [...byRun.keys()].map((r) => ({ r, a: "" }));
  while (keys.length > 0) {
    const { rows } = await sql<R>`
      select s.* from jsonb_to_recordset(${jsonRows(keys)}) as k(r uuid, a text)
      cross join lateral (
        select ${columns} from step_runs
        where run_id = k.r and step_id > k.a
        order by step_id
        limit ${sql.lit(STEPS_PER_READ)}
      ) s
    `.execute(trx);
    const round = new Map<string, R[]>();
    for (const row of rows) {
      byRun.get(row.run_id)?.push(row);
      const got = round.get(row.run_id);
      if (got === undefined) round.set(row.run_id, [row]);
      else got.push(row);
    }
    keys = [...round].flatMap(([r, got]) => (got.length === STEPS_PER_READ ? [{ r, a: got.at(-1)!.step_id }] : []));
  }
  return [...byRun.values()].flat();
}
