/**
 * Migration 0002: what executing steps needs.
 *
 * - `step_runs.input`: the rendered input of a queued step (written when the
 *   planner queues it, so a claim is one statement that never renders CEL).
 * - `step_runs.timeout_ms` (bigint: a timeout may exceed 24 days) /
 *   `heartbeat_timeout_ms`: copied from the definition when the step row is
 *   created, so the claim computes `deadline_at` in SQL and returns the
 *   heartbeat timeout without reading the definition.
 * - `step_runs.deadline_at`: when the current attempt times out.
 * - `lease_tokens`: the fencing-token sequence (never reused, never reset).
 *
 * Indexes (all partial, so they hold only the few live rows):
 * - `step_runs_claim` becomes `(action, queued_at, run_id) WHERE status =
 *   'QUEUED'`: the claim filters by action and takes the oldest first (ties
 *   by run id); `not_before` is a filter on the few retried rows.
 * - `step_runs_due (not_before) WHERE status = 'QUEUED' AND not_before IS NOT
 *   NULL`: the earliest due retry (`nextDueTime`). The claim clears
 *   `not_before`, so only waiting retries sit here.
 * - `step_runs_deadline (deadline_at) WHERE status = 'RUNNING'`: the timeout sweep.
 * - `step_runs_running (run_id, step_id) WHERE status = 'RUNNING'`: the lease
 *   safety-net scan, keyset-paged by task id.
 * - `runs_deadline (deadline_at) WHERE status IN ('PENDING', 'RUNNING') AND
 *   deadline_at IS NOT NULL`: the run timeout sweep.
 */
import { sql, type Kysely, type Migration } from "kysely";

/**
 * Columns, sequence and indexes for claiming and completing steps.
 *
 * @example
 * ```ts
 * const MIGRATIONS = { "0001_initial": migration0001, "0002_execution": migration0002 };
 * ```
 */
export const migration0002: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable("step_runs")
      .addColumn("input", "jsonb")
      .addColumn("timeout_ms", "bigint")
      .addColumn("heartbeat_timeout_ms", "integer")
      .addColumn("deadline_at", "timestamptz")
      .execute();
    await sql`create sequence lease_tokens`.execute(db);

    await db.schema.dropIndex("step_runs_claim").execute();
    await db.schema
      .createIndex("step_runs_claim")
      .on("step_runs")
      .columns(["action", "queued_at", "run_id"])
      .where(sql.ref("status"), "=", "QUEUED")
      .execute();
    await db.schema
      .createIndex("step_runs_due")
      .on("step_runs")
      .column("not_before")
      .where(sql<boolean>`status = 'QUEUED' and not_before is not null`)
      .execute();
    await db.schema
      .createIndex("step_runs_deadline")
      .on("step_runs")
      .column("deadline_at")
      .where(sql.ref("status"), "=", "RUNNING")
      .execute();
    await db.schema
      .createIndex("step_runs_running")
      .on("step_runs")
      .columns(["run_id", "step_id"])
      .where(sql.ref("status"), "=", "RUNNING")
      .execute();
    await db.schema
      .createIndex("runs_deadline")
      .on("runs")
      .column("deadline_at")
      .where(sql<boolean>`status in ('PENDING', 'RUNNING') and deadline_at is not null`)
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const index of [
      "runs_deadline",
      "step_runs_running",
      "step_runs_deadline",
      "step_runs_due",
      "step_runs_claim",
    ]) {
      await db.schema.dropIndex(index).ifExists().execute();
    }
    await db.schema
      .createIndex("step_runs_claim")
      .on("step_runs")
      .columns(["action", "not_before"])
      .where(sql.ref("status"), "=", "QUEUED")
      .execute();
    await sql`drop sequence if exists lease_tokens`.execute(db);
    await db.schema
      .alterTable("step_runs")
      .dropColumn("input")
      .dropColumn("timeout_ms")
      .dropColumn("heartbeat_timeout_ms")
      .dropColumn("deadline_at")
      .execute();
  },
};
