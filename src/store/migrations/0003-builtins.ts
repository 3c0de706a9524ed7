/**
 * Migration 0003: built-in steps, run webhooks and triggers.
 *
 * - `step_runs.timer_at`: a built-in's durable timer (the `delay` action's
 *   due time). Written with `not_before` when a built-in parks its step, so
 *   a restart never starts a delay again.
 */
import type { Kysely, Migration } from "kysely";

/**
 * Columns and tables for built-ins, webhooks and triggers.
 *
 * @example
 * ```ts
 * const MIGRATIONS = { ..., "0003_builtins": migration0003 };
 * ```
 */
export const migration0003: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("step_runs").addColumn("timer_at", "timestamptz").execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("step_runs").dropColumn("timer_at").execute();
  },
};
