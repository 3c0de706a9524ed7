/**
 * Writes a `ChangeSet` in ONE statement: the step UPDATE, the run UPDATE,
 * the history INSERT and the NOTIFYs are four CTEs of a single query, each
 * reading its rows from one jsonb parameter (`jsonb_to_recordset`). So a
 * completion batch of any size costs one round trip for all its writes.
 *
 * Guards: a step row changes only if its status is still the patch's source
 * status (and, for results, its lease token is the result's); a run only if
 * its status is the source. The callers hold the runs' row locks, so a guard
 * that misses means a bug: the counts are checked and a mismatch throws,
 * rolling the transaction back instead of writing half a decision.
 *
 * Derived columns (so callers cannot forget them): entering QUEUED stamps
 * `queued_at`; entering a finished status stamps `ended_at`, any other status
 * clears it; QUEUED and PENDING clear the lease token; every patch clears
 * `deadline_at` (only a claim makes a step RUNNING). A built-in's timer
 * (`timer_at`, a `sleep` outcome) becomes `not_before`; `give_back` (sleep
 * and requeue outcomes) hands the attempt back: the next claim is the same
 * attempt, not a retry.
 */
import { sql, type Transaction } from "kysely";
import { FINISHED_RUN_STATUSES, FINISHED_STEP_STATUSES } from "../../engine/model.js";
import type { ChangeSet } from "./change-set.js";
import { anyUuid, jsonRows } from "../db/json-rows.js";
import type { Database } from "../db/schema.js";
import { SIGNAL_CHANNEL } from "../signals/signal-codec.js";

const literals = (values: readonly string[]) => sql.join(values.map((v) => sql.lit(v)));

/**
 * Writes every change and sends the NOTIFY payloads, inside `trx`.
 *
 * @throws Error when a guard did not match (the transaction must roll back).
 * @example
 * ```ts
 * await writeChanges(trx, changes, bus.payloads(signals));
 * ```
 */
export async function writeChanges(
  trx: Transaction<Database>,
  changes: ChangeSet,
  payloads: readonly string[],
): Promise<void> {
  const steps = [...changes.steps.values()];
  const runs = [...changes.runs.values()];
  const events = changes.events.map((e, seq) => ({ ...e, seq }));
  if (steps.length === 0 && runs.length === 0 && events.length === 0 && payloads.length === 0) return;
  const finishedSteps = literals(FINISHED_STEP_STATUSES);
  const finishedRuns = literals(FINISHED_RUN_STATUSES);
  const result = await sql<{ steps: number; runs: number }>`
    with step_patch as (
      update step_runs s set
        status = v."to",
        attempts = case when v.reset then 0 when v.give_back then greatest(s.attempts - 1, 0) else s.attempts end,
        output = case when v.output is not null then v.output -> 'v' when v.output_clear then null else s.output end,
        error = case when v.error is not null then v.error when v.error_clear then null else s.error end,
        input = case when v.input is not null then v.input -> 'v' when v.input_clear then null else s.input end,
        merge_run_input = case when v.input is not null then v.merge_run_input when v.input_clear then null else s.merge_run_input end,
        not_before = case when v.timer_at is not null then v.timer_at
                          when v.delay_ms is not null then now() + v.delay_ms * interval '1 millisecond' end,
        timer_at = case when v.timer_at is not null then v.timer_at when v.reset then null else s.timer_at end,
        queued_at = case when v."to" = 'QUEUED' then now() when v.reset then null else s.queued_at end,
        started_at = case when v.reset then null else s.started_at end,
        ended_at = case when v."to" in (${finishedSteps}) then now() end,
        lease_token = case when v."to" in ('QUEUED', 'PENDING') then null else s.lease_token end,
        worker_id = case when v.reset then null else s.worker_id end,
        worker_uuid = case when v.reset then null else s.worker_uuid end,
        deadline_at = null
      from jsonb_to_recordset(${jsonRows(steps)}) as v(
        run_id uuid, step_id text, "from" text, "to" text, token bigint,
        output jsonb, output_clear boolean, error jsonb, error_clear boolean,
        input jsonb, merge_run_input boolean, input_clear boolean, delay_ms double precision, reset boolean, timer_at timestamptz, give_back boolean)
      where s.run_id = v.run_id and s.step_id = v.step_id and s.status = v."from"
        and (v.token is null or s.lease_token = v.token)
        and s.run_id = ${anyUuid([...new Set(steps.map((s) => s.run_id))])}
      returning 1
    ), run_patch as (
      update runs r set
        status = v."to",
        started_at = case when v."to" = 'PENDING' then r.started_at else coalesce(r.started_at, now()) end,
        ended_at = case when v."to" in (${finishedRuns}) then now() end,
        output = v.output -> 'v',
        error = v.error,
        input = case when v.input_z is not null then null else r.input end,
        input_z = case when v.input_z is not null then decode(v.input_z, 'base64') else r.input_z end,
        deadline_at = case when v.deadline_ms is not null then now() + v.deadline_ms * interval '1 millisecond' else r.deadline_at end
      from jsonb_to_recordset(${jsonRows(runs)}) as v(id uuid, "from" text, "to" text, output jsonb, error jsonb, deadline_ms double precision, input_z text)
      where r.id = v.id and r.status = v."from"
        and r.id = ${anyUuid(runs.map((r) => r.id))}
      returning 1
    ), history as (
      insert into run_events (run_id, type_code, run_status_code, step_id, step_status_code, attempt, worker_id, worker_uuid, error, message)
      select v.run_id, weft_code(v.type), weft_code(v.run_status), v.step_id, weft_code(v.step_status), v.attempt,
             weft_not_uuid(v.worker_id), weft_uuid(v.worker_id), v.error, v.message
      from jsonb_to_recordset(${jsonRows(events)}) as v(
        seq integer, run_id uuid, type text, run_status text, step_id text, step_status text,
        attempt integer, worker_id text, error jsonb, message text)
      order by v.seq
      returning 1
    ), notes as (
      select pg_notify(${SIGNAL_CHANNEL}, p) from jsonb_array_elements_text(cast(${JSON.stringify(payloads)} as jsonb)) as t(p)
    )
    select
      (select count(*) from step_patch)::int as steps,
      (select count(*) from run_patch)::int as runs,
      (select count(*) from history)::int as events,
      (select count(*) from notes)::int as notes
  `.execute(trx);
  const counts = result.rows[0];
  if (counts?.steps !== steps.length || counts.runs !== runs.length) {
    throw new Error(
      `state changed under a held lock: ${counts?.steps ?? 0}/${steps.length} step and ${counts?.runs ?? 0}/${runs.length} run updates matched`,
    );
  }
}
