/**
 * The reads of retention and `PurgeRuns`: the workflows with their
 * retention, in key order, and how many runs a purge would delete.
 */
import { sql, type Kysely } from "kysely";
import type { RunStatus } from "../../engine/model.js";
import type { Database } from "../db/schema.js";

/** Finished runs of one workflow to delete (or count). */
export interface PurgeTarget {
  namespace: string;
  workflowId: string;
  /** Finished statuses only (the engine's `purgeStatuses`). */
  statuses: readonly RunStatus[];
  finishedBefore: Date;
}

/** Workflows read per statement when listing them (in key order, from the last one read). */
const WORKFLOWS_PER_READ = 500;

/**
 * How many runs of `target` a purge would delete now, at most `limit`.
 *
 * @example
 *   const n = await countPurgeable(db, target, 10_000);
 */
export async function countPurgeable(db: Kysely<Database>, target: PurgeTarget, limit?: number): Promise<number> {
  const { rows } = await sql<{ n: number | string }>`
    select count(*) as n from (
      select 1 from runs
      where namespace = ${target.namespace} and workflow_id = ${target.workflowId}
        and ended_at is not null and ended_at < ${target.finishedBefore}
        and status in (${statusList(target.statuses)})
      ${limit !== undefined ? sql`limit ${limit}` : sql``}
    ) x
  `.execute(db);
  return Number(rows[0]?.n ?? 0);
}

/**
 * Each workflow of a namespace (or every namespace), with its latest
 * version's retention; deleted workflows included (their runs stay until purged).
 *
 * @example
 *   for (const w of await purgeWorkflows(db)) console.log(w.namespace, w.id, w.retentionMs);
 */
export async function purgeWorkflows(
  db: Kysely<Database>,
  namespace?: string,
): Promise<{ namespace: string; id: string; retentionMs: number | undefined }[]> {
  const out: { namespace: string; id: string; retentionMs: number | undefined }[] = [];
  let after = { namespace: "", id: "" };
  for (;;) {
    const { rows } = await sql<{ namespace: string; id: string; retention_ms: number | string | null }>`
      select w.namespace, w.id, v.retention_ms
      from workflows w
      cross join lateral (
        select def ->> 'retentionMs' as retention_ms from workflow_versions
        where namespace = w.namespace and workflow_id = w.id and version = w.latest_version
        limit 1
      ) v
      where (w.namespace, w.id) > (${after.namespace}, ${after.id})
        ${namespace !== undefined ? sql`and w.namespace = ${namespace}` : sql``}
      order by w.namespace, w.id
      limit ${sql.lit(WORKFLOWS_PER_READ)}
    `.execute(db);
    for (const r of rows) {
      out.push({
        namespace: r.namespace,
        id: r.id,
        retentionMs: r.retention_ms === null ? undefined : Number(r.retention_ms),
      });
    }
    if (rows.length < WORKFLOWS_PER_READ) return out;
    after = rows[rows.length - 1]!;
  }
}

/** The statuses as SQL literals (a partial index or a generic plan sees them). */
export function statusList(statuses: readonly RunStatus[]) {
  if (statuses.length === 0) throw new Error("a purge needs at least one status");
  return sql.join(statuses.map((s) => sql.lit(s)));
}
