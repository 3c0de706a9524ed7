/**
 * Migration 0004: fewer writes per step (docs/benchmarks.md#writes-per-step).
 *
 * - `run_events`: the primary key becomes `(run_id, id)`, replacing both the
 *   `id` key and the `run_events_run_id_id (run_id, id)` index. Every read
 *   of the history goes by run (`where run_id = … order by id`), and `id`
 *   stays unique (a sequence), so one index serves where two were written:
 *   a single-step run appends six events, so six index entries fewer.
 * - `step_runs_deadline` holds only RUNNING steps that have a deadline
 *   (`deadline_at is not null`); the sweeper's `deadline_at <= $1` implies
 *   it, so the index still serves it, and steps without a timeout (the
 *   common case) no longer enter it when they start.
 * - The webhook trigger on `run_events` fires once per statement over its
 *   inserted rows (a transition table) instead of once per finished step or
 *   run: one set-based insert into `webhook_deliveries` per statement,
 *   instead of two plpgsql calls per finished run, each with its own
 *   lookup of the workflow's hooks. Same rows, same order (by event
 *   id, then run.finished before run.failed, then the URLs' order).
 */
import { sql, type Kysely, type Migration } from "kysely";
import { createRowWebhookTrigger } from "./0003-builtins.js";

/**
 * Leaner keys, a tighter partial index and a statement-level webhook trigger.
 *
 * @example
 * ```ts
 * const MIGRATIONS = { ..., "0004_lean_writes": migration0004 };
 * ```
 */
export const migration0004: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table run_events drop constraint run_events_pkey`.execute(db);
    await sql`alter table run_events add constraint run_events_pkey primary key (run_id, id)`.execute(db);
    await sql`drop index run_events_run_id_id`.execute(db);

    await sql`drop index step_runs_deadline`.execute(db);
    await sql`create index step_runs_deadline on step_runs (deadline_at) where status = 'RUNNING' and deadline_at is not null`.execute(
      db,
    );

    await sql`drop trigger run_events_webhooks on run_events`.execute(db);
    await sql`drop function weft_enqueue_webhooks()`.execute(db);
    await sql`
      create function weft_enqueue_webhooks() returns trigger language plpgsql as $$
      begin
        insert into webhook_deliveries (run_id, event_id, kind, url, run_status, step_id, step_status, step_attempt, error)
        select e.run_id, e.id, k.kind, u.url,
               case when e.type = 'RUN_STATUS' then e.run_status end,
               case when e.type = 'STEP_STATUS' then e.step_id end,
               case when e.type = 'STEP_STATUS' then e.step_status end,
               case when e.type = 'STEP_STATUS' then e.attempt end,
               e.error
        from added e
        join runs r on r.id = e.run_id
        join workflow_versions v on v.workflow_id = r.workflow_id and v.version = r.workflow_version
        cross join lateral (values
          (0, 'run.finished', 'onComplete', e.type = 'RUN_STATUS'),
          (1, 'run.failed', 'onFailure', e.type = 'RUN_STATUS' and e.run_status in ('FAILED', 'TIMED_OUT')),
          (2, 'step.finished', 'onStep', e.type = 'STEP_STATUS')
        ) as k(rank, kind, hook, applies)
        cross join lateral jsonb_array_elements_text(coalesce(v.hooks -> k.hook, '[]'::jsonb)) with ordinality as u(url, n)
        where v.hooks is not null
          and k.applies
          and ((e.type = 'RUN_STATUS' and e.run_status in ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'))
            or (e.type = 'STEP_STATUS' and e.step_status in ('SUCCEEDED', 'FAILED', 'SKIPPED', 'CANCELLED')))
        order by e.id, k.rank, u.n;
        return null;
      end
      $$`.execute(db);
    await sql`
      create trigger run_events_webhooks after insert on run_events
      referencing new table as added
      for each statement execute function weft_enqueue_webhooks()`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await sql`drop trigger if exists run_events_webhooks on run_events`.execute(db);
    await sql`drop function if exists weft_enqueue_webhooks()`.execute(db);
    await createRowWebhookTrigger(db);
    await sql`drop index step_runs_deadline`.execute(db);
    await sql`create index step_runs_deadline on step_runs (deadline_at) where status = 'RUNNING'`.execute(db);
    await sql`create index run_events_run_id_id on run_events (run_id, id)`.execute(db);
    await sql`alter table run_events drop constraint run_events_pkey`.execute(db);
    await sql`alter table run_events add constraint run_events_pkey primary key (id)`.execute(db);
  },
};
