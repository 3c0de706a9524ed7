/**
 * Migration 0011: what retention and `PurgeRuns` need to find their rows
 * without scanning a hot table.
 *
 * - `runs_finished (namespace, workflow_id, ended_at) where ended_at is not null`:
 *   a workflow's finished runs, oldest first. Only finished runs carry
 *   `ended_at`, so the index holds nothing of the queue, a run enters it
 *   once (when it finishes) and leaves it when it is retried or deleted.
 * - `webhook_deliveries_run_id (run_id)`: a run's deliveries, deleted with it.
 *
 * Deleting by run in batches was chosen over partitioning the history by
 * time: retention differs per workflow and `PurgeRuns` filters by workflow
 * and status, so no time partition could be dropped whole; and a history
 * partitioned by time would make every read of one run's history (by
 * `run_id`) visit every partition.
 *
 * Plain `create index` blocks writes to `runs` while it builds (2.5 s per
 * million runs here; docs/operations.md).
 */
import { sql, type Kysely, type Migration } from "kysely";

/**
 * @example
 * ```ts
 * const MIGRATIONS = { ..., "0011_retention": migration0011 };
 * ```
 */
export const migration0011: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`create index runs_finished on runs (namespace, workflow_id, ended_at) where ended_at is not null`.execute(
      db,
    );
    await sql`create index webhook_deliveries_run_id on webhook_deliveries (run_id)`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await sql`drop index webhook_deliveries_run_id`.execute(db);
    await sql`drop index runs_finished`.execute(db);
  },
};
