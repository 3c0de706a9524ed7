/**
 * Migration 0009: a step's default input is stored without the run input it
 * repeats (docs/benchmarks.md#2026-12-05-the-byte-budget-issue-18-before).
 *
 * A step with no `input` gets `{"input": <run input>, "steps": {…}}`, and
 * the run input is already in `runs.input`: a 3-step chain with a 1 KiB
 * input kept it four times, and every update of a step row copied it again.
 * `step_runs.merge_run_input` (null when false, so it costs no byte): the
 * stored `input` is that object without `input`, and the claim adds the
 * run's input back (`src/store/writes/stored-input.ts`). Nullable, no
 * default: adding it rewrites no rows, and rows written before keep their
 * full input.
 */
import { sql, type Kysely, type Migration } from "kysely";

/**
 * Adds `step_runs.merge_run_input`.
 *
 * @example
 * ```ts
 * const MIGRATIONS = { ..., "0009_derived_inputs": migration0009 };
 * ```
 */
export const migration0009: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table step_runs add column merge_run_input boolean`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await sql`update step_runs set input = input || jsonb_build_object('input', r.input), merge_run_input = null
              from runs r where r.id = step_runs.run_id and step_runs.merge_run_input`.execute(db);
    await sql`alter table step_runs drop column merge_run_input`.execute(db);
  },
};
