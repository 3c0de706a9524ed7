/**
 * Migration 0004: `weft_lock_and_read_runs(ids uuid[])`, the first round
 * trip of a completion: lock the runs, then read them and every step of
 * theirs, in one call.
 *
 * Why a function: the read must see every commit made under the lock (a
 * sibling step's completion that held the run lock a moment ago), and a
 * single SELECT would read with the snapshot it took before waiting for the
 * lock. In a VOLATILE plpgsql function each statement takes a new snapshot
 * (READ COMMITTED), so the RETURN below reads after the PERFORM has the
 * locks. Runs are locked in id order, so two callers locking overlapping
 * sets cannot deadlock. `lease_token` travels as text (an int8 in JSON
 * would lose digits past 2^53); `has_output` tells a JSON `null` output
 * from none.
 */
import { sql, type Kysely, type Migration } from "kysely";

/**
 * The lock-and-read function of completions.
 *
 * @example
 * ```ts
 * const MIGRATIONS = { ..., "0004_lock_and_read": migration0004 };
 * ```
 */
export const migration0004: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`
      create or replace function weft_lock_and_read_runs(ids uuid[]) returns json
      language plpgsql volatile as $$
      begin
        perform 1 from runs where id = any(ids) order by id for update;
        return json_build_object(
          'runs', (select coalesce(json_agg(json_build_object(
                      'id', r.id, 'workflow_id', r.workflow_id, 'workflow_version', r.workflow_version,
                      'status', r.status, 'input', r.input) order by r.id), '[]'::json)
                   from runs r where r.id = any(ids)),
          'steps', (select coalesce(json_agg(json_build_object(
                       'run_id', s.run_id, 'step_id', s.step_id, 'status', s.status, 'attempts', s.attempts,
                       'output', s.output, 'has_output', s.output is not null, 'error', s.error,
                       'lease_token', s.lease_token::text, 'worker_id', s.worker_id)), '[]'::json)
                    from step_runs s where s.run_id = any(ids)));
      end
      $$
    `.execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await sql`drop function if exists weft_lock_and_read_runs(uuid[])`.execute(db);
  },
};
