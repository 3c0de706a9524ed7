/**
 * Claiming QUEUED steps for a worker: ONE statement (one round trip, no
 * BEGIN/COMMIT: a single statement is its own transaction) whatever the batch.
 *
 * Strategy (graphile-worker's `getJobs` shape):
 * 1. `picked`: the oldest QUEUED rows of the wanted actions in the worker's
 *    namespace whose `not_before` has passed, `FOR UPDATE SKIP LOCKED`, so
 *    concurrent claimers on other replicas take disjoint rows instead of
 *    queueing behind each other. Served by the partial index `step_runs_claim
 *    (action, namespace, queued_at, run_id) WHERE status = 'QUEUED'`; the
 *    built-ins (no namespace: every one) read the action's whole range of it; ties in `queued_at` (one trigger batch shares
 *    one `now()`) go by run id, i.e. trigger order (UUIDv7). The inner scan
 *    orders by exactly the index's columns: with `step_id` added, stale
 *    statistics (the planner expecting 1 row) made it sort the action's whole
 *    queue on every claim (docs/benchmarks.md#claim-query).
 *    One LATERAL index scan per action, each stopping after `limit` rows, then
 *    the oldest `limit` of those. The earlier `action in (select …)` form made
 *    the planner hash-join the whole queue and sort it (to disk) on every
 *    claim, a cost growing with the backlog; this form's cost does not grow
 *    with it (EXPLAIN ANALYZE in docs/benchmarks.md#claim-query). With
 *    several actions, rows of one action beyond the final `limit` stay locked
 *    until this statement commits; other claimers skip them meanwhile.
 * 2. `claimed`: those rows → RUNNING, attempts + 1, a fresh fencing token from
 *    the `lease_tokens` sequence, the worker, `started_at`, and the attempt
 *    deadline from the row's `timeout_ms`; `not_before` cleared.
 *    It also returns how long each step had been ready (since `queued_at`,
 *    or its `not_before` if later) by the database's own clock, for the
 *    schedule-to-start metric: no query more, no clock skew with this process.
 * 3. `started`: their runs PENDING → RUNNING (`id = any(array(…))`: an index
 *    lookup per run, where `id in (select … from claimed)` got a bitmap scan of
 *    every PENDING run). The run rows are taken with
 *    `SKIP LOCKED` too, so the claim never waits for a lock: a run locked by a
 *    completion or a cancel is either running already or being finished by
 *    that holder (and `completeTasks` moves a still-PENDING run to RUNNING when
 *    it accepts a result). Never waiting also means the claim (step locks, then
 *    run locks) cannot deadlock with completions and cancels (run locks, then
 *    step locks).
 * 4. `history`: STEP_STATUS RUNNING (attempt, worker) per task and RUN_STATUS
 *    RUNNING per started run, in one INSERT.
 * 5. `notes`: on Postgres, `pg_notify` with the changed run ids, ~190 ids per
 *    payload (under the 8,000-byte NOTIFY limit), sent at commit.
 * The final select joins each claimed step's run by primary key; a default
 * input stored without the run input (`merge_run_input`, `stored-input.ts`)
 * gets the run's input back there. A run that keeps its input deflated
 * (`runs.input_z`: only finished runs, so only a step of a run retried
 * after it finished) sends it along, and the merge is done here.
 */
import { sql, type Kysely } from "kysely";
import { mergeRunInput, unpackJson } from "../db/packed-json.js";
import type { Database } from "../db/schema.js";
import { SIGNAL_CHANNEL } from "../signals/signal-codec.js";
import { taskIdOf, workerIdColumns } from "../task-id.js";
import type { ClaimedTask, ClaimOptions } from "../types.js";

/** The run's trace context, selected only by a tracing server's claim. */
const TRACEPARENT_COLUMN = sql`, r.traceparent`;
const NOTHING = sql``;

/** Run ids per NOTIFY payload: 190 × 39 bytes stays under the 7,900-byte budget. */
const RUN_IDS_PER_PAYLOAD = 190;

interface ClaimRow {
  run_id: string;
  step_id: string;
  namespace: string;
  workflow_id: string;
  action: string;
  input: ClaimedTask["input"] | null;
  /** The run's deflated input, when the input above still needs it. */
  run_input_z: Uint8Array | null;
  attempts: number;
  lease_token: string | number;
  deadline_at: Date | null;
  heartbeat_timeout_ms: number | null;
  timer_at: Date | null;
  queued_ms: number | null;
  traceparent?: string | null;
}

/**
 * Claims up to `limit` due QUEUED steps of `actions` for `workerId`.
 * `origin` tags the NOTIFY payloads (undefined: no NOTIFY, e.g. PGlite).
 * With `traceparents` the final select also returns `runs.traceparent` from
 * the run row it already joins by primary key; without, the statement's text
 * is exactly the untraced one (same prepared statement, no extra column).
 *
 * @example
 * ```ts
 * const tasks = await claimTasks(db, { workerId, namespace: "default", actions: ["email.send"], limit: 100 }, bus.origin);
 * ```
 */
export async function claimTasks(
  db: Kysely<Database>,
  opts: ClaimOptions,
  origin: string | undefined,
): Promise<ClaimedTask[]> {
  const limit = Math.floor(opts.limit);
  if (opts.actions.length === 0 || !(limit > 0)) return [];
  // The server's worker ids are UUIDs, kept in 16 bytes (`worker_uuid`, migration 0012); any other id as text.
  const [workerText, workerUuid] = workerIdColumns(opts.workerId);
  const result = await sql<ClaimRow>`
    with picked as (
      select c.run_id, c.step_id, c.queued_at, c.not_before
      from jsonb_array_elements_text(cast(${JSON.stringify(opts.actions)} as jsonb)) as a(action)
      cross join lateral (
        select run_id, step_id, queued_at, not_before from step_runs
        where status = 'QUEUED'
          and action = a.action${inNamespace(opts.namespace)}
          and (not_before is null or not_before <= now())
        order by queued_at, run_id
        limit ${limit}
        for update skip locked
      ) c
      order by c.queued_at, c.run_id, c.step_id
      limit ${limit}
    ), claimed as (
      update step_runs s set
        status = 'RUNNING',
        attempts = s.attempts + 1,
        lease_token = nextval('lease_tokens'),
        worker_id = ${workerText},
        worker_uuid = cast(${workerUuid} as uuid),
        started_at = now(),
        ended_at = null,
        not_before = null,
        deadline_at = case when s.timeout_ms is not null then now() + s.timeout_ms * interval '1 millisecond' end
      from picked p
      where s.run_id = p.run_id and s.step_id = p.step_id
        and s.run_id = any(array(select run_id from picked))
      returning s.run_id, s.step_id, s.action, s.input, s.merge_run_input, s.attempts, s.lease_token, s.deadline_at, s.heartbeat_timeout_ms, s.timer_at,
        s.worker_id, s.worker_uuid,
        greatest(p.queued_at, p.not_before) as ready_at
    ), started as (
      update runs r set status = 'RUNNING', started_at = coalesce(r.started_at, now())
      where r.id in (
        select id from runs
        where id = any(array(select run_id from claimed)) and status = 'PENDING'
        for update skip locked
      )
      returning r.id
    ), history as (
      insert into run_events (run_id, type_code, run_status_code, step_id, step_status_code, attempt, worker_id, worker_uuid)
      select run_id, weft_code(type), weft_code(run_status), step_id, weft_code(step_status), attempt, worker_id, worker_uuid from (
        select id as run_id, 'RUN_STATUS' as type, 'RUNNING' as run_status, null as step_id,
               null as step_status, null::integer as attempt, null as worker_id, null::uuid as worker_uuid, 0 as rank
        from started
        union all
        select run_id, 'STEP_STATUS', null, step_id, 'RUNNING', attempts, worker_id, worker_uuid, 1
        from claimed
      ) e
      order by e.run_id, e.rank, e.step_id
      returning 1
    ), notes as (
      select pg_notify(${SIGNAL_CHANNEL}, json_build_object('o', cast(${origin ?? null} as text), 'k', 'run', 'r', json_agg(run_id))::text)
      from (
        select run_id, (row_number() over (order by run_id) - 1) / ${RUN_IDS_PER_PAYLOAD} as chunk
        from (select distinct run_id from claimed) d
      ) c
      where cast(${origin ?? null} as text) is not null
      group by chunk
    )
    select c.run_id, c.step_id, r.namespace, r.workflow_id, c.action,
           case when c.merge_run_input and r.input_z is null then c.input || jsonb_build_object('input', r.input) else c.input end as input,
           case when c.merge_run_input then r.input_z end as run_input_z, c.attempts, c.lease_token, c.deadline_at,
           c.heartbeat_timeout_ms, c.timer_at,
           greatest(0, extract(epoch from now() - c.ready_at) * 1000)::float8 as queued_ms,
           (select count(*) from history) as events, (select count(*) from notes) as notes${opts.traceparents ? TRACEPARENT_COLUMN : NOTHING}
    from claimed c join runs r on r.id = c.run_id
    order by c.lease_token
  `.execute(db);
  return result.rows.map(toClaimedTask);
}

/** The claim's namespace condition; none for a claimant of every namespace (the built-ins). */
function inNamespace(namespace: string | undefined) {
  return namespace === undefined ? NOTHING : sql` and namespace = ${namespace}`;
}

function toClaimedTask(row: ClaimRow): ClaimedTask {
  const task: ClaimedTask = {
    taskId: taskIdOf(row.run_id, row.step_id),
    runId: row.run_id,
    stepId: row.step_id,
    namespace: row.namespace,
    workflowId: row.workflow_id,
    action: row.action,
    input: row.run_input_z === null ? row.input : mergeRunInput(row.input, unpackJson(row.run_input_z)),
    attempt: row.attempts,
    leaseToken: BigInt(row.lease_token),
  };
  if (row.deadline_at !== null) task.deadlineAt = row.deadline_at;
  if (row.heartbeat_timeout_ms !== null) task.heartbeatTimeoutMs = row.heartbeat_timeout_ms;
  if (row.timer_at !== null) task.timerAt = new Date(row.timer_at);
  if (row.queued_ms !== null) task.queuedMs = Number(row.queued_ms);
  if (row.traceparent) task.runTraceparent = row.traceparent;
  return task;
}
