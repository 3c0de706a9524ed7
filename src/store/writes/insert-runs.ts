/**
 * The trigger statement: new runs, their step rows, their first history
 * events and the NOTIFYs in ONE statement (CTEs reading their rows from one
 * jsonb parameter each, `jsonb_to_recordset`). Outside a transaction it is
 * its own transaction, so a lone trigger costs one round trip.
 *
 * The runs were planned against workflow versions the caller believed
 * current (`DefCache.latest`). The statement checks that belief under its
 * own snapshot: every run's workflow must exist, not be deleted, and have
 * the run's version as its latest (unless the caller pinned the version).
 * If any run fails the check, NOTHING is inserted and `stale` says how many
 * failed: the caller re-reads the versions and plans again.
 *
 * Idempotency: `ON CONFLICT (workflow_id, idempotency_key) … DO NOTHING`; a
 * skipped run's steps and events are skipped with it (they are inserted only
 * for the ids the run INSERT returned). A concurrent transaction inserting
 * the same key makes Postgres wait for it. Keyed rows come first, in key
 * order (the caller's `seq`), so two batches sharing keys cannot deadlock.
 */
import { sql, type Kysely } from "kysely";
import type { Failure, RunStatus, StepStatus } from "../../engine/model.js";
import type { EventRow } from "./change-set.js";
import { jsonRows, type Box } from "../db/json-rows.js";
import type { Database } from "../db/schema.js";
import type { RunTrigger } from "../records.js";
import { SIGNAL_CHANNEL } from "../signals/signal-codec.js";

/** One `runs` row as it travels in the statement's jsonb parameter. */
export interface NewRunRow {
  id: string;
  namespace: string;
  workflow_id: string;
  workflow_version: number;
  /** The trigger asked for this version: it need not be the latest. */
  pinned: boolean;
  status: RunStatus;
  input: Box;
  idempotency_key: string | null;
  trigger: RunTrigger;
  /** Workflow timeout: `deadline_at` = now() + this. */
  deadline_ms: number | null;
  /** The plan finished the run at once: `started_at` = `ended_at` = now(). */
  finished: boolean;
  output: Box | null;
  error: Failure | null;
  /** The trigger span's W3C trace context; present only when the server traces. */
  traceparent?: string;
}

/** A new step row: its initial status, and for a QUEUED one its rendered input. */
export interface NewStepRow {
  run_id: string;
  step_id: string;
  action: string;
  status: StepStatus;
  input?: Box;
  /** The input is stored without the run input (`stored-input.ts`). */
  merge_run_input?: boolean;
  error?: Failure;
  timeout_ms?: number;
  heartbeat_timeout_ms?: number;
}

/** The fragments naming `runs.traceparent`: in the recordset's columns, the INSERT's columns and its values. */
const TRACEPARENT = [sql`, traceparent text`, sql`, traceparent`, sql`, v.traceparent`] as const;
const NOTHING = sql``;

export interface InsertedRuns {
  /** Ids of the runs inserted (an idempotency conflict skips one). */
  created: Set<string>;
  /** Runs whose version was not current (or whose workflow is gone): when > 0, nothing was inserted. */
  stale: number;
}

/**
 * Inserts `runs` (in their order) with their steps and events, and sends
 * `payloads` if any run was inserted. QUEUED steps get `queued_at`,
 * SKIPPED and FAILED ones `ended_at`. `runs.traceparent` is named in the
 * statement only when a run carries one (a tracing server): without, the
 * text is the untraced statement's, and the column stays null.
 *
 * @example
 * ```ts
 * const { created, stale } = await insertRuns(db, { runs, steps, events, payloads: bus.payloads(signals) });
 * if (stale > 0) { ... re-read versions, plan again ... }
 * ```
 */
export async function insertRuns(
  db: Kysely<Database>,
  rows: {
    runs: readonly NewRunRow[];
    steps: readonly NewStepRow[];
    events: readonly EventRow[];
    payloads: readonly string[];
  },
): Promise<InsertedRuns> {
  if (rows.runs.length === 0) return { created: new Set(), stale: 0 };
  const traced = rows.runs.some((r) => r.traceparent !== undefined);
  const [tpType, tpColumn, tpValue] = traced ? TRACEPARENT : [NOTHING, NOTHING, NOTHING];
  const result = await sql<{ stale: number; created: string[] }>`
    with v as (
      select v.*, coalesce(w.id is not null and w.deleted_at is null
                           and (v.pinned or w.latest_version = v.workflow_version), false) as current
      from jsonb_to_recordset(${jsonRows(rows.runs.map((r, seq) => ({ ...r, seq })))}) as v(
        id uuid, namespace text, workflow_id text, workflow_version integer, pinned boolean, status text, input jsonb,
        idempotency_key text, trigger text, deadline_ms double precision, finished boolean, output jsonb, error jsonb, seq integer${tpType})
      left join workflows w on w.namespace = v.namespace and w.id = v.workflow_id
    ), stale as (
      select count(*) filter (where not v.current) as n from v
    ), runs_in as (
      insert into runs (id, namespace, workflow_id, workflow_version, status, input, idempotency_key, trigger, deadline_at, output, error, started_at, ended_at${tpColumn})
      select v.id, v.namespace, v.workflow_id, v.workflow_version, v.status, v.input -> 'v', v.idempotency_key, v.trigger,
             case when v.deadline_ms is not null then now() + v.deadline_ms * interval '1 millisecond' end,
             v.output -> 'v', v.error,
             case when v.finished then now() end, case when v.finished then now() end${tpValue}
      from v
      where (select n from stale) = 0
      order by v.seq
      on conflict (namespace, workflow_id, idempotency_key) where idempotency_key is not null do nothing
      returning id, namespace
    ), steps_in as (
      insert into step_runs (run_id, namespace, step_id, action, status, input, merge_run_input, error, timeout_ms, heartbeat_timeout_ms, queued_at, ended_at)
      select v.run_id, r.namespace, v.step_id, v.action, v.status, v.input -> 'v', v.merge_run_input, v.error, v.timeout_ms, v.heartbeat_timeout_ms,
             case when v.status = 'QUEUED' then now() end,
             case when v.status in ('SKIPPED', 'FAILED') then now() end
      from jsonb_to_recordset(${jsonRows(rows.steps)}) as v(
        run_id uuid, step_id text, action text, status text, input jsonb, merge_run_input boolean, error jsonb,
        timeout_ms bigint, heartbeat_timeout_ms integer)
      join runs_in r on r.id = v.run_id
      returning 1
    ), history as (
      insert into run_events (run_id, type_code, run_status_code, step_id, step_status_code, attempt, worker_id, worker_uuid, error, message)
      select v.run_id, weft_code(v.type), weft_code(v.run_status), v.step_id, weft_code(v.step_status), v.attempt,
             weft_not_uuid(v.worker_id), weft_uuid(v.worker_id), v.error, v.message
      from jsonb_to_recordset(${jsonRows(rows.events.map((e, seq) => ({ ...e, seq })))}) as v(
        seq integer, run_id uuid, type text, run_status text, step_id text, step_status text,
        attempt integer, worker_id text, error jsonb, message text)
      where v.run_id in (select id from runs_in)
      order by v.seq
      returning 1
    ), notes as (
      select pg_notify(${SIGNAL_CHANNEL}, p) from jsonb_array_elements_text(cast(${JSON.stringify(rows.payloads)} as jsonb)) as t(p)
      where exists (select 1 from runs_in)
    )
    select (select n from stale)::int as stale,
           coalesce((select json_agg(id) from runs_in), '[]'::json) as created,
           (select count(*) from steps_in) as steps, (select count(*) from history) as events, (select count(*) from notes) as notes
  `.execute(db);
  const row = result.rows[0];
  return { created: new Set(row?.created ?? []), stale: row?.stale ?? 0 };
}
