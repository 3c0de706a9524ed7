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
import type { LiveRun, LiveStep, LoadedRun } from "../../engine/live-state.js";
import { anyUuid } from "../db/json-rows.js";
import type { Database } from "../db/schema.js";

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
    .select(["id", "namespace", "workflow_id", "workflow_version", "status", "input"])
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
        input: r.input,
      },
    ]),
  );
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
  const rows = await trx
    .selectFrom("step_runs")
    .select(["run_id", "step_id", "status", "attempts", "output", "error", "lease_token", "worker_id"])
    .select(sql<boolean>`output is not null`.as("has_output"))
    .where("run_id", "=", anyUuid([...runs.keys()]))
    .execute();
  for (const r of rows) {
    const step: LiveStep = { stepId: r.step_id, status: r.status, attempts: r.attempts };
    if (r.has_output) step.output = r.output;
    if (r.error !== null) step.error = r.error;
    if (r.lease_token !== null) step.leaseToken = BigInt(r.lease_token);
    if (r.worker_id !== null) step.workerId = r.worker_id;
    byRun.get(r.run_id)?.steps.set(r.step_id, step);
  }
  return byRun;
}
