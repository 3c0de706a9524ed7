/**
 * Migration 0012: smaller rows for finished runs (issue 18; figures in
 * docs/benchmarks.md). Nothing is rewritten: columns are added nullable
 * without a default and NOT NULLs dropped, changes of the catalogue only
 * whatever the table's size. Rows written before read back the same.
 *
 * - `runs.input_z`: a finished run's input, deflated (`packed-json.ts`),
 *   `input` then null. Runs finished before keep their jsonb input.
 * - `run_events.type_code`, `run_status_code`, `step_status_code`: the event
 *   type and statuses as one-byte `"char"` codes instead of text
 *   (`'STEP_STATUS'` takes 12 bytes, `'SUCCEEDED'` 10); new rows leave the
 *   text columns null, older rows keep their text and no code. Writers call
 *   `weft_code` (made here from `event-codes.ts`), the reads decode in
 *   TypeScript (`eventName`), the webhook trigger with `weft_name`.
 * - `step_runs.worker_uuid`, `run_events.worker_uuid`: a worker id that is a
 *   UUID in its canonical text (the server's own ids: `uuidv7()`) takes 16
 *   bytes instead of 37 of text, `worker_id` then null; other ids
 *   (`builtin-…`, the tests' `w1`) stay text. Reads take
 *   `worker_id ?? worker_uuid`: the id as it was given.
 */
import { sql, type Kysely, type Migration } from "kysely";
import { EVENT_CODES } from "../db/event-codes.js";
import { unpackJson } from "../db/packed-json.js";
import { CANONICAL_UUID } from "../task-id.js";

export const migration0012: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const toCode = sql.join(
      EVENT_CODES.map(([name, code]) => sql`when ${sql.lit(name)} then ${sql.lit(code)}`),
      sql` `,
    );
    const toName = sql.join(
      EVENT_CODES.map(([name, code]) => sql`when ${sql.lit(code)} then ${sql.lit(name)}`),
      sql` `,
    );
    await sql`create function weft_code(n text) returns "char" language sql immutable parallel safe
              as $$ select (case n ${toCode} end)::"char" $$`.execute(db);
    await sql`create function weft_name(c "char") returns text language sql immutable parallel safe
              as $$ select case c::text ${toName} end $$`.execute(db);
    await sql`alter table run_events alter column type drop not null,
              add column type_code "char", add column run_status_code "char", add column step_status_code "char"`.execute(
      db,
    );
    await sql`alter table runs alter column input drop not null, add column input_z bytea`.execute(db);
    await sql`create function weft_uuid(w text) returns uuid language sql immutable parallel safe
              as $$ select case when w ~ ${sql.lit(CANONICAL_UUID)} then w::uuid end $$`.execute(db);
    await sql`create function weft_not_uuid(w text) returns text language sql immutable parallel safe
              as $$ select case when w !~ ${sql.lit(CANONICAL_UUID)} then w end $$`.execute(db);
    await sql`alter table step_runs add column worker_uuid uuid`.execute(db);
    await sql`alter table run_events add column worker_uuid uuid`.execute(db);
    await replaceWebhookFunction(
      db,
      sql`(select a.run_id, a.id, a.step_id, a.attempt, a.error,
                  coalesce(a.type, weft_name(a.type_code)) as type,
                  coalesce(a.run_status, weft_name(a.run_status_code)) as run_status,
                  coalesce(a.step_status, weft_name(a.step_status_code)) as step_status
           from added a)`,
    );
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await replaceWebhookFunction(db, sql`added`);
    const packed = await sql<{
      id: string;
      input_z: Uint8Array;
    }>`select id, input_z from runs where input_z is not null`.execute(db);
    for (const row of packed.rows) {
      await sql`update runs set input = cast(${JSON.stringify(unpackJson(row.input_z))} as jsonb), input_z = null
                where id = ${row.id}`.execute(db);
    }
    await sql`alter table runs drop column input_z, alter column input set not null`.execute(db);
    for (const table of ["step_runs", "run_events"]) {
      await sql`update ${sql.table(table)} set worker_id = worker_uuid::text, worker_uuid = null where worker_uuid is not null`.execute(
        db,
      );
      await sql`alter table ${sql.table(table)} drop column worker_uuid`.execute(db);
    }
    await sql`drop function weft_not_uuid(text)`.execute(db);
    await sql`drop function weft_uuid(text)`.execute(db);
    await sql`update run_events set type = coalesce(type, weft_name(type_code)),
              run_status = coalesce(run_status, weft_name(run_status_code)),
              step_status = coalesce(step_status, weft_name(step_status_code))
              where type is null`.execute(db);
    await sql`alter table run_events drop column type_code, drop column run_status_code, drop column step_status_code,
              alter column type set not null`.execute(db);
    await sql`drop function weft_name("char")`.execute(db);
    await sql`drop function weft_code(text)`.execute(db);
  },
};

/** The outbox trigger of 0004/0007, reading its events from `events` (the transition table, or a decoding of it). */
async function replaceWebhookFunction(db: Kysely<unknown>, events: ReturnType<typeof sql>): Promise<void> {
  await sql`
    create or replace function weft_enqueue_webhooks() returns trigger language plpgsql as $$
    begin
      insert into webhook_deliveries (run_id, event_id, kind, url, run_status, step_id, step_status, step_attempt, error)
      select e.run_id, e.id, k.kind, u.url,
             case when e.type = 'RUN_STATUS' then e.run_status end,
             case when e.type = 'STEP_STATUS' then e.step_id end,
             case when e.type = 'STEP_STATUS' then e.step_status end,
             case when e.type = 'STEP_STATUS' then e.attempt end,
             e.error
      from ${events} e
      join runs r on r.id = e.run_id
      join workflow_versions v on v.namespace = r.namespace and v.workflow_id = r.workflow_id and v.version = r.workflow_version
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
}
