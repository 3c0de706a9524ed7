/**
 * Migration 0008: autovacuum settings per table, so the queue-shaped tables
 * stay healthy under load (docs/operations.md).
 *
 * Postgres's defaults vacuum a table once a fifth of its rows are dead and
 * analyse it once a tenth changed. `step_runs` and `runs` rows are updated
 * several times each within seconds of being inserted, so by that point a
 * large table carries millions of dead rows that the claim and completion
 * index scans step over, and its statistics describe a table a tenth
 * smaller. Here:
 * - `step_runs`, `runs`, `webhook_deliveries` (updated on every move or
 *   attempt): vacuum after 2 % dead rows (+1,000), analyse after 2 % changed;
 * - `run_events`, `audit_events` (append-only, trimmed by deletes): vacuum
 *   after 5 % new rows (sets the visibility map and freezes them in small
 *   steps instead of one anti-wraparound pass), analyse after 5 %;
 * - the update-heavy tables' vacuums may do more work per pause
 *   (`autovacuum_vacuum_cost_limit` 1,000 instead of 200), so one vacuum of
 *   a large `step_runs` finishes before the next is due.
 * No `fillfactor`: every update of these tables changes an indexed column (a
 * status in a partial index's predicate, a due time), so none could be HOT
 * whatever room a page keeps.
 * Settings only: nothing is rewritten and no lock is held for long. PGlite
 * accepts and keeps them (it runs no autovacuum).
 */
import { sql, type Kysely, type Migration } from "kysely";

/** Per table, the storage parameters this migration sets. */
export const TABLE_HEALTH: Record<string, Record<string, number>> = {
  step_runs: {
    autovacuum_vacuum_scale_factor: 0.02,
    autovacuum_vacuum_threshold: 1000,
    autovacuum_analyze_scale_factor: 0.02,
    autovacuum_analyze_threshold: 1000,
    autovacuum_vacuum_insert_scale_factor: 0.05,
    autovacuum_vacuum_cost_limit: 1000,
  },
  runs: {
    autovacuum_vacuum_scale_factor: 0.02,
    autovacuum_vacuum_threshold: 1000,
    autovacuum_analyze_scale_factor: 0.02,
    autovacuum_analyze_threshold: 1000,
    autovacuum_vacuum_insert_scale_factor: 0.05,
    autovacuum_vacuum_cost_limit: 1000,
  },
  webhook_deliveries: {
    autovacuum_vacuum_scale_factor: 0.02,
    autovacuum_vacuum_threshold: 1000,
    autovacuum_analyze_scale_factor: 0.02,
    autovacuum_vacuum_insert_scale_factor: 0.05,
    autovacuum_vacuum_cost_limit: 1000,
  },
  run_events: {
    autovacuum_vacuum_insert_scale_factor: 0.05,
    autovacuum_analyze_scale_factor: 0.05,
  },
  audit_events: {
    autovacuum_vacuum_insert_scale_factor: 0.05,
    autovacuum_analyze_scale_factor: 0.05,
  },
};

/**
 * Sets (and on the way down resets) the autovacuum parameters of the hot tables.
 *
 * @example
 * ```ts
 * const MIGRATIONS = { ..., "0008_table_health": migration0008 };
 * ```
 */
export const migration0008: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    for (const [table, settings] of Object.entries(TABLE_HEALTH)) {
      const list = Object.entries(settings).map(([name, value]) => sql`${sql.raw(name)} = ${sql.lit(value)}`);
      await sql`alter table ${sql.table(table)} set (${sql.join(list)})`.execute(db);
    }
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const [table, settings] of Object.entries(TABLE_HEALTH)) {
      const names = Object.keys(settings).map((name) => sql.raw(name));
      await sql`alter table ${sql.table(table)} reset (${sql.join(names)})`.execute(db);
    }
  },
};
