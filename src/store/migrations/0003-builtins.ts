/**
 * Migration 0003: built-in steps, run webhooks and triggers.
 *
 * - `step_runs.timer_at`: a built-in's durable timer (the `delay` action's
 *   due time). Written with `not_before` when a built-in parks its step, so
 *   a restart never starts a delay again.
 * - `webhook_deliveries`: the outbox of run webhooks. Rows are inserted by
 *   the trigger `run_events_webhooks` in the same transaction as the history
 *   event that finished a run or a step, so every code path that finishes
 *   one (completions, cancels, timeouts, runs settled at trigger time) enqueues
 *   its webhooks atomically, and a crash never loses one. The trigger fires
 *   only for finished statuses (its WHEN clause), and only looks the
 *   workflow's webhooks up then: two primary-key reads per finished step,
 *   of `workflow_versions.hooks`, a small stored generated column (the
 *   definition's `webhooks`, or null when it has none), so the possibly
 *   large `def` is never detoasted on this path.
 *   `webhook_deliveries_due (next_at) WHERE delivered_at IS NULL AND
 *   failed_at IS NULL` serves the deliverer's claim.
 */
import { sql, type Kysely, type Migration } from "kysely";

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
    await sql`
      alter table workflow_versions add column hooks jsonb generated always as (
        case when coalesce(jsonb_array_length(def -> 'webhooks' -> 'onComplete'), 0)
                + coalesce(jsonb_array_length(def -> 'webhooks' -> 'onFailure'), 0)
                + coalesce(jsonb_array_length(def -> 'webhooks' -> 'onStep'), 0) > 0
             then def -> 'webhooks' end
      ) stored`.execute(db);
    await sql`
      create table webhook_deliveries (
        id bigserial primary key,
        run_id uuid not null,
        event_id bigint not null,
        kind text not null,
        url text not null,
        run_status text,
        step_id text,
        step_status text,
        step_attempt integer,
        error jsonb,
        attempts integer not null default 0,
        next_at timestamptz not null default now(),
        delivered_at timestamptz,
        failed_at timestamptz,
        last_error text,
        created_at timestamptz not null default now()
      )`.execute(db);
    await sql`create index webhook_deliveries_due on webhook_deliveries (next_at) where delivered_at is null and failed_at is null`.execute(
      db,
    );
    await createRowWebhookTrigger(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await sql`drop trigger if exists run_events_webhooks on run_events`.execute(db);
    await sql`drop function if exists weft_enqueue_webhooks()`.execute(db);
    await sql`drop table if exists webhook_deliveries`.execute(db);
    await sql`alter table workflow_versions drop column if exists hooks`.execute(db);
    await db.schema.alterTable("step_runs").dropColumn("timer_at").execute();
  },
};

/**
 * The per-row webhook trigger of 0003 (0004 replaces it with a per-statement
 * one, and puts this one back when it is rolled back).
 *
 * @example
 * ```ts
 * await createRowWebhookTrigger(db);
 * ```
 */
export async function createRowWebhookTrigger(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function weft_enqueue_webhooks() returns trigger language plpgsql as $$
    declare
      hooks jsonb;
    begin
      select v.hooks into hooks
      from runs r join workflow_versions v on v.workflow_id = r.workflow_id and v.version = r.workflow_version
      where r.id = new.run_id;
      if hooks is null then
        return null;
      end if;
      if new.type = 'RUN_STATUS' then
        insert into webhook_deliveries (run_id, event_id, kind, url, run_status, error)
        select new.run_id, new.id, 'run.finished', u, new.run_status, new.error
        from jsonb_array_elements_text(coalesce(hooks -> 'onComplete', '[]'::jsonb)) as u;
        if new.run_status in ('FAILED', 'TIMED_OUT') then
          insert into webhook_deliveries (run_id, event_id, kind, url, run_status, error)
          select new.run_id, new.id, 'run.failed', u, new.run_status, new.error
          from jsonb_array_elements_text(coalesce(hooks -> 'onFailure', '[]'::jsonb)) as u;
        end if;
      else
        insert into webhook_deliveries (run_id, event_id, kind, url, step_id, step_status, step_attempt, error)
        select new.run_id, new.id, 'step.finished', u, new.step_id, new.step_status, new.attempt, new.error
        from jsonb_array_elements_text(coalesce(hooks -> 'onStep', '[]'::jsonb)) as u;
      end if;
      return null;
    end
    $$`.execute(db);
  await sql`
    create trigger run_events_webhooks after insert on run_events for each row
    when ((new.type = 'RUN_STATUS' and new.run_status in ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'))
       or (new.type = 'STEP_STATUS' and new.step_status in ('SUCCEEDED', 'FAILED', 'SKIPPED', 'CANCELLED')))
    execute function weft_enqueue_webhooks()`.execute(db);
}
