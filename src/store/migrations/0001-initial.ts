/**
 * Migration 0001: workflows and their versions, runs, step runs and run history.
 *
 * Index choices:
 * - `runs_idempotency_key`: the unique partial index that makes a repeated
 *   idempotency key return the first run (`ON CONFLICT ... DO NOTHING` waits
 *   for a concurrent inserter instead of failing).
 * - `runs_workflow_id_id` / `runs_status_id`: `ListRuns` filters, newest first
 *   (UUIDv7 ids are time-ordered, so `id desc` is creation order).
 * - `step_runs_claim`: the dispatcher's claim query reads only QUEUED rows by
 *   action and due time; the partial index stays small as runs finish.
 * - `run_events_run_id_id`: a run's history in order.
 * `run_events` has no foreign key so old history can be aged out (or the table
 * partitioned) without touching `runs`.
 */
import { sql, type Kysely, type Migration } from "kysely";

/**
 * The initial schema.
 *
 * @example
 * ```ts
 * const provider = { getMigrations: async () => ({ "0001_initial": migration0001 }) };
 * ```
 */
export const migration0001: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("workflows")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("latest_version", "integer", (c) => c.notNull())
      .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn("deleted_at", "timestamptz")
      .execute();

    await db.schema
      .createTable("workflow_versions")
      .addColumn("workflow_id", "text", (c) => c.notNull().references("workflows.id"))
      .addColumn("version", "integer", (c) => c.notNull())
      .addColumn("spec", "jsonb", (c) => c.notNull())
      .addColumn("def", "jsonb", (c) => c.notNull())
      .addColumn("spec_hash", "text", (c) => c.notNull())
      .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint("workflow_versions_pkey", ["workflow_id", "version"])
      .addUniqueConstraint("workflow_versions_spec_hash", ["workflow_id", "spec_hash"])
      .execute();

    await db.schema
      .createTable("runs")
      .addColumn("id", "uuid", (c) => c.primaryKey())
      .addColumn("workflow_id", "text", (c) => c.notNull())
      .addColumn("workflow_version", "integer", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("input", "jsonb", (c) => c.notNull())
      .addColumn("output", "jsonb")
      .addColumn("error", "jsonb")
      .addColumn("idempotency_key", "text")
      .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn("started_at", "timestamptz")
      .addColumn("ended_at", "timestamptz")
      .addColumn("deadline_at", "timestamptz")
      .execute();
    await db.schema
      .createIndex("runs_idempotency_key")
      .on("runs")
      .unique()
      .columns(["workflow_id", "idempotency_key"])
      .where(sql.ref("idempotency_key"), "is not", null)
      .execute();
    await db.schema.createIndex("runs_workflow_id_id").on("runs").columns(["workflow_id", "id desc"]).execute();
    await db.schema.createIndex("runs_status_id").on("runs").columns(["status", "id desc"]).execute();

    await db.schema
      .createTable("step_runs")
      .addColumn("run_id", "uuid", (c) => c.notNull().references("runs.id").onDelete("cascade"))
      .addColumn("step_id", "text", (c) => c.notNull())
      .addColumn("action", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("output", "jsonb")
      .addColumn("error", "jsonb")
      .addColumn("not_before", "timestamptz")
      .addColumn("lease_token", "bigint")
      .addColumn("worker_id", "text")
      .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn("queued_at", "timestamptz")
      .addColumn("started_at", "timestamptz")
      .addColumn("ended_at", "timestamptz")
      .addPrimaryKeyConstraint("step_runs_pkey", ["run_id", "step_id"])
      .execute();
    await db.schema
      .createIndex("step_runs_claim")
      .on("step_runs")
      .columns(["action", "not_before"])
      .where(sql.ref("status"), "=", "QUEUED")
      .execute();

    await db.schema
      .createTable("run_events")
      .addColumn("id", "bigserial", (c) => c.primaryKey())
      .addColumn("run_id", "uuid", (c) => c.notNull())
      .addColumn("time", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn("type", "text", (c) => c.notNull())
      .addColumn("run_status", "text")
      .addColumn("step_id", "text")
      .addColumn("step_status", "text")
      .addColumn("attempt", "integer")
      .addColumn("worker_id", "text")
      .addColumn("error", "jsonb")
      .addColumn("message", "text")
      .execute();
    await db.schema.createIndex("run_events_run_id_id").on("run_events").columns(["run_id", "id"]).execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ["run_events", "step_runs", "runs", "workflow_versions", "workflows"]) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};
