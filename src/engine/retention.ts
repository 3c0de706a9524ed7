/**
 * How long finished runs are kept, and which a purge may delete.
 *
 * A workflow's `retention` (its latest version's) wins over the server's
 * `--retention`; with neither, its runs are kept. A purge deletes only
 * finished runs: a status filter naming a run that can still move is
 * refused, and an empty one means every finished status.
 *
 * @example
 *   retentionOf(undefined, 30 * DAY_MS); // 30 days: the server's default
 *   purgeCutoff(Date.parse("2026-12-05T00:00:00Z"), 3_600_000); // 2026-12-04T23:00:00Z
 */
import { FINISHED_RUN_STATUSES, type RunStatus } from "./model.js";

/**
 * The retention that applies to a workflow's runs, in ms; `undefined` keeps them.
 *
 * @example
 *   retentionOf(60_000, undefined); // 60_000
 */
export function retentionOf(workflowMs: number | undefined, serverMs: number | undefined): number | undefined {
  if (workflowMs !== undefined && workflowMs > 0) return workflowMs;
  if (serverMs !== undefined && serverMs > 0) return serverMs;
  return undefined;
}

/**
 * Runs that finished before this instant are past a retention of `retentionMs` at `nowMs`.
 *
 * @example
 *   purgeCutoff(10_000, 4_000).getTime(); // 6_000
 */
export function purgeCutoff(nowMs: number, retentionMs: number): Date {
  return new Date(nowMs - retentionMs);
}

/**
 * The statuses a purge deletes: the requested ones, or every finished status
 * when none is named; an error text when one of them is not finished.
 *
 * @example
 *   purgeStatuses([]); // ["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"]
 *   purgeStatuses(["RUNNING"]); // { error: "RUNNING runs are not finished and cannot be purged" }
 */
export function purgeStatuses(requested: readonly RunStatus[]): RunStatus[] | { error: string } {
  const unfinished = requested.filter((s) => !FINISHED_RUN_STATUSES.includes(s));
  if (unfinished.length > 0) return { error: `${unfinished.join(", ")} runs are not finished and cannot be purged` };
  if (requested.length === 0) return [...FINISHED_RUN_STATUSES];
  return FINISHED_RUN_STATUSES.filter((s) => requested.includes(s));
}
