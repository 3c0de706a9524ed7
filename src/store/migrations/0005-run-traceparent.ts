/**
 * Migration 0005: `runs.traceparent`, the W3C trace context of the trigger
 * span that started the run (set only by servers with tracing on). It lives
 * on the row, not in a replica's memory, so a step claimed by any replica,
 * before or after a restart, continues the run's trace. Nullable with no
 * default: adding it rewrites no rows, and a server with tracing off never
 * writes or reads it on the hot path.
 */
import { sql, type Kysely, type Migration } from "kysely";

/**
 * Adds the nullable `runs.traceparent` column.
 *
 * @example
 * ```ts
 * const MIGRATIONS = { ..., "0005_run_traceparent": migration0005 };
 * ```
 */
export const migration0005: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table runs add column traceparent text`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await sql`alter table runs drop column traceparent`.execute(db);
  },
};
