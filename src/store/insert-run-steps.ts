/**
 * The second half of the trigger hot path: every step row and history event
 * of a batch of new runs, plus the NOTIFYs, in ONE statement (three CTEs,
 * each reading its rows from one jsonb parameter with `jsonb_to_recordset`),
 * so a batch of any size costs one round trip here.
 */
import { sql, type Transaction } from "kysely";
import type { Failure, StepStatus } from "../engine/model.js";
import type { EventRow } from "./change-set.js";
import { jsonRows, type Box } from "./json-rows.js";
import type { Database } from "./schema.js";
import { SIGNAL_CHANNEL } from "./signal-codec.js";

/** A new step row: its initial status, and for a QUEUED one its rendered input. */
export interface NewStepRow {
  run_id: string;
  step_id: string;
  action: string;
  status: StepStatus;
  input?: Box;
  error?: Failure;
  timeout_ms?: number;
  heartbeat_timeout_ms?: number;
}

/**
 * Inserts the steps and events and sends the payloads, inside `trx`.
 * QUEUED rows get `queued_at`, SKIPPED and FAILED ones `ended_at`.
 *
 * @example
 * ```ts
 * await insertRunSteps(trx, steps, events, bus.payloads(signals));
 * ```
 */
export async function insertRunSteps(
  trx: Transaction<Database>,
  steps: readonly NewStepRow[],
  events: readonly EventRow[],
  payloads: readonly string[],
): Promise<void> {
  if (steps.length === 0 && events.length === 0 && payloads.length === 0) return;
  await sql`
    with steps as (
      insert into step_runs (run_id, step_id, action, status, input, error, timeout_ms, heartbeat_timeout_ms, queued_at, ended_at)
      select v.run_id, v.step_id, v.action, v.status, v.input -> 'v', v.error, v.timeout_ms, v.heartbeat_timeout_ms,
             case when v.status = 'QUEUED' then now() end,
             case when v.status in ('SKIPPED', 'FAILED') then now() end
      from jsonb_to_recordset(${jsonRows(steps)}) as v(
        run_id uuid, step_id text, action text, status text, input jsonb, error jsonb,
        timeout_ms bigint, heartbeat_timeout_ms integer)
      returning 1
    ), history as (
      insert into run_events (run_id, type, run_status, step_id, step_status, attempt, worker_id, error, message)
      select v.run_id, v.type, v.run_status, v.step_id, v.step_status, v.attempt, v.worker_id, v.error, v.message
      from jsonb_to_recordset(${jsonRows(events.map((e, seq) => ({ ...e, seq })))}) as v(
        seq integer, run_id uuid, type text, run_status text, step_id text, step_status text,
        attempt integer, worker_id text, error jsonb, message text)
      order by v.seq
      returning 1
    ), notes as (
      select pg_notify(${SIGNAL_CHANNEL}, p) from jsonb_array_elements_text(cast(${JSON.stringify(payloads)} as jsonb)) as t(p)
    )
    select (select count(*) from steps) as steps, (select count(*) from history) as events, (select count(*) from notes) as notes
  `.execute(trx);
}
