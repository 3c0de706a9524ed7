/**
 * Deleting finished runs with every row that belongs to them: their steps,
 * their history and their webhook deliveries. Retention and `PurgeRuns`
 * both go through `purgeBatch`.
 *
 * A batch is one transaction over at most `size` runs of one workflow,
 * oldest finished first, found through `runs_finished` (0011) and locked
 * `for update skip locked`: a run another purge or a `RetryRun` holds is
 * left for later, so two purgers never take the same run and never wait
 * on each other, and a retry either finds its run whole or not at all. A
 * retried run leaves `runs_finished` (its `ended_at` is cleared) before
 * any purge can see it again. Each run's rows are found with a LATERAL
 * lookup that stops after `ROWS_PER_RUN` rows (repeated for a run that had
 * more) and deleted by their row address or key, so no statement depends
 * on statistics to stay an index lookup.
 */
import { sql, type Kysely, type Transaction } from "kysely";
import { FINISHED_RUN_STATUSES } from "../../engine/model.js";
import { purgeCutoff, retentionOf } from "../../engine/retention.js";
import { anyUuid } from "../db/json-rows.js";
import type { Database } from "../db/schema.js";
import type { PurgeReason, StoreObserver } from "../observer.js";
import { countPurgeable, purgeWorkflows, statusList, type PurgeTarget } from "../reads/purge-queries.js";
import type { PurgeCounts, PurgeFilter, PurgeProgress, RetentionPassOptions, RetentionPassResult } from "../records.js";

/** Rows of one run deleted per statement; a run with more is gone over again. */
const ROWS_PER_RUN = 100;

/** Runs deleted per transaction unless told otherwise. */
const BATCH_SIZE = 500;

/** The advisory lock that lets one retention batch run at a time across replicas. */
const RETENTION_LOCK = sql.lit(2_003_199_618);

export const NO_PURGE: PurgeCounts = Object.freeze({ runs: 0, steps: 0, events: 0, webhookDeliveries: 0, bytes: 0 });

/**
 * Adds two counts.
 *
 * @example
 *   total = addCounts(total, batch);
 */
export function addCounts(a: PurgeCounts, b: PurgeCounts): PurgeCounts {
  return {
    runs: a.runs + b.runs,
    steps: a.steps + b.steps,
    events: a.events + b.events,
    webhookDeliveries: a.webhookDeliveries + b.webhookDeliveries,
    bytes: a.bytes + b.bytes,
  };
}

/**
 * Deletes up to `size` runs of `target` with their rows, in one transaction.
 * `exclusive`: only while holding the retention lock; `"busy"` when another
 * replica holds it (nothing deleted).
 *
 * @example
 * ```ts
 * const done = await purgeBatch(db, { namespace: "default", workflowId: "w", statuses: ["SUCCEEDED"], finishedBefore }, 500);
 * ```
 */
export async function purgeBatch(
  db: Kysely<Database>,
  target: PurgeTarget,
  size: number,
  exclusive = false,
): Promise<PurgeCounts | "busy"> {
  return db.transaction().execute(async (trx) => {
    if (exclusive) {
      const { rows } = await sql<{ got: boolean }>`select pg_try_advisory_xact_lock(${RETENTION_LOCK}) as got`.execute(
        trx,
      );
      if (rows[0]?.got !== true) return "busy" as const;
    }
    const { rows } = await sql<{ id: string }>`
      select id from runs
      where namespace = ${target.namespace} and workflow_id = ${target.workflowId}
        and ended_at is not null and ended_at < ${target.finishedBefore}
        and status in (${statusList(target.statuses)})
      order by ended_at
      limit ${sql.lit(Math.max(1, Math.floor(size)))}
      for update skip locked
    `.execute(trx);
    if (rows.length === 0) return NO_PURGE;
    const ids = rows.map((r) => r.id);
    const events = await deleteRowsOfRuns(trx, ids, "run_events", "ctid");
    const hooks = await deleteRowsOfRuns(trx, ids, "webhook_deliveries", "id");
    const steps = await deleteRowsOfRuns(trx, ids, "step_runs", "ctid");
    const { rows: runs } = await sql<{ n: number | string; bytes: number | string | null }>`
      with gone as (delete from runs where id = ${anyUuid(ids)} returning pg_column_size(runs.*) as b)
      select count(*) as n, sum(b) as bytes from gone
    `.execute(trx);
    const runBytes = Number(runs[0]?.bytes ?? 0);
    return {
      runs: Number(runs[0]?.n ?? 0),
      steps: steps.rows,
      events: events.rows,
      webhookDeliveries: hooks.rows,
      bytes: runBytes + steps.bytes + events.bytes + hooks.bytes,
    };
  });
}

/**
 * Deletes the runs `filter` matches, batch after batch, workflow after
 * workflow, until none is left, the limit is reached or `signal` aborts.
 *
 * @example
 *   const total = await purgeRuns(db, { namespace: "default", statuses: ["FAILED"], finishedBefore }, { batchSize: 500 });
 */
export async function purgeRuns(
  db: Kysely<Database>,
  filter: PurgeFilter,
  progress: PurgeProgress,
): Promise<PurgeCounts> {
  const workflowIds =
    filter.workflowId !== undefined
      ? [filter.workflowId]
      : (await purgeWorkflows(db, filter.namespace)).map((w) => w.id);
  let total = NO_PURGE;
  for (const workflowId of workflowIds) {
    const left = filter.limit === undefined ? Infinity : filter.limit - total.runs;
    if (left <= 0 || progress.signal?.aborted === true) break;
    const target = { ...filter, workflowId };
    const done =
      filter.dryRun === true
        ? { ...NO_PURGE, runs: await countPurgeable(db, target, Number.isFinite(left) ? left : undefined) }
        : await drain(db, target, progress, left, false);
    if (done !== "busy") total = addCounts(total, done);
  }
  return total;
}

/**
 * One retention pass: for every workflow with a retention (its own, or
 * `defaultRetentionMs`), deletes its finished runs older than it. Stops
 * early (`busy`) when another replica's pass holds the retention lock.
 *
 * @example
 *   const { counts, busy } = await retentionPass(db, { now: Date.now(), defaultRetentionMs: 30 * 86_400_000, batchSize: 500 });
 */
export async function retentionPass(db: Kysely<Database>, opts: RetentionPassOptions): Promise<RetentionPassResult> {
  let total = NO_PURGE;
  for (const w of await purgeWorkflows(db)) {
    if (opts.signal?.aborted === true) break;
    const retentionMs = retentionOf(w.retentionMs, opts.defaultRetentionMs);
    if (retentionMs === undefined) continue;
    const target = {
      namespace: w.namespace,
      workflowId: w.id,
      statuses: FINISHED_RUN_STATUSES,
      finishedBefore: purgeCutoff(opts.now, retentionMs),
    };
    const done = await drain(db, target, opts, Infinity, true);
    if (done === "busy") return { counts: total, busy: true };
    total = addCounts(total, done);
  }
  return { counts: total, busy: false };
}

/**
 * Batches of `target` until a batch comes back short, `budget` runs are
 * deleted or the signal aborts; `"busy"` when an exclusive batch found the
 * retention lock taken before it deleted anything.
 */
async function drain(
  db: Kysely<Database>,
  target: PurgeTarget,
  progress: PurgeProgress,
  budget: number,
  exclusive: boolean,
): Promise<PurgeCounts | "busy"> {
  let total = NO_PURGE;
  for (;;) {
    const size = Math.min(progress.batchSize ?? BATCH_SIZE, budget - total.runs);
    if (size <= 0 || progress.signal?.aborted === true) return total;
    const done = await purgeBatch(db, target, size, exclusive);
    if (done === "busy") return total.runs > 0 ? total : "busy";
    total = addCounts(total, done);
    if (done.runs > 0) progress.onBatch?.(done);
    if (done.runs < size) return total;
  }
}

/**
 * The progress options with `onBatch` also telling the observer of each committed batch.
 *
 * @example
 *   await purgeRuns(db, filter, observed(observer, "request", { signal }));
 */
export function observed<P extends PurgeProgress>(observer: StoreObserver, reason: PurgeReason, progress: P): P {
  return {
    ...progress,
    onBatch: (done: PurgeCounts) => {
      observer.purged(reason, done);
      progress.onBatch?.(done);
    },
  };
}

/**
 * Deletes every row of `table` whose `run_id` is one of `ids`: per run, a
 * LATERAL lookup of at most `ROWS_PER_RUN` row addresses (`ctid`, for rows
 * nobody updates once their run is finished and locked) or keys (`id`, for
 * webhook deliveries, which the deliverer may still update), deleted by
 * them; again for the runs that had that many.
 */
async function deleteRowsOfRuns(
  trx: Transaction<Database>,
  ids: readonly string[],
  table: "run_events" | "step_runs" | "webhook_deliveries",
  key: "ctid" | "id",
): Promise<{ rows: number; bytes: number }> {
  let pending: string[] = [...ids];
  let rows = 0;
  let bytes = 0;
  while (pending.length > 0) {
    const { rows: perRun } = await sql<{ run_id: string; n: number | string; bytes: number | string }>`
      with gone as (
        delete from ${sql.table(table)} where ${sql.ref(key)} = any(array(
          select x.${sql.ref(key)} from jsonb_array_elements_text(cast(${JSON.stringify(pending)} as jsonb)) as k(r)
          cross join lateral (
            select ${sql.ref(key)} from ${sql.table(table)} where run_id = cast(k.r as uuid) limit ${sql.lit(ROWS_PER_RUN)}
          ) x
        ))
        returning run_id, pg_column_size(${sql.table(table)}.*) as b
      )
      select run_id, count(*) as n, sum(b) as bytes from gone group by run_id
    `.execute(trx);
    pending = [];
    for (const r of perRun) {
      const n = Number(r.n);
      rows += n;
      bytes += Number(r.bytes);
      if (n >= ROWS_PER_RUN) pending.push(r.run_id);
    }
  }
  return { rows, bytes };
}
