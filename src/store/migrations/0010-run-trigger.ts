/**
 * Migration 0010: what started a run (`runs.trigger`: `api`, `event` or
 * `schedule`). Null for runs started before: nothing recorded it, and
 * guessing from idempotency keys would be wrong for events published
 * without one.
 */
import { sql, type Kysely, type Migration } from "kysely";

/**
 * @example
 * ```ts
 * const MIGRATIONS = { ..., "0010_run_trigger": migration0010 };
 * ```
 */
export const migration0010: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table runs add column trigger text`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await sql`alter table runs drop column trigger`.execute(db);
  },
};
