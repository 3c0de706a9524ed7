/**
 * Migration 0013: the history's index holds each run once.
 *
 * `run_events` was keyed `(run_id, id)` (0004): a unique index, so one
 * entry of both keys and a header for every event, the largest index a
 * run has (docs/benchmarks.md). Every read of
 * the history goes by run and reads a run's few events whole (its history,
 * or those after an id, sorted in memory), and `id` stays unique by its
 * sequence, so an index on `run_id` alone serves them; being non-unique, its
 * B-tree deduplicates: each run's key once, then 6 bytes an event.
 *
 * Reading a run's events after an id now sorts them; without statistics
 * Postgres guesses a run has hundreds of them and, on a large table, would
 * plan that as a parallel scan: `parallel_workers = 0` rules that out (no
 * read of the history ever needs more than one run's rows).
 *
 * Plain `create index` blocks writes to `run_events` (every run's progress)
 * while it builds over the existing history; dropping the key is instant.
 */
import { sql, type Kysely, type Migration } from "kysely";

/**
 * @example
 * ```ts
 * const MIGRATIONS = { ..., "0013_history_index": migration0013 };
 * ```
 */
export const migration0013: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`create index run_events_run_id on run_events (run_id)`.execute(db);
    await sql`alter table run_events drop constraint run_events_pkey`.execute(db);
    await sql`alter table run_events set (parallel_workers = 0)`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await sql`alter table run_events reset (parallel_workers)`.execute(db);
    await sql`alter table run_events add constraint run_events_pkey primary key (run_id, id)`.execute(db);
    await sql`drop index run_events_run_id`.execute(db);
  },
};
