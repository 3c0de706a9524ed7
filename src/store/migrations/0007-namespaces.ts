/**
 * Migration 0007: namespaces.
 *
 * Every workflow, version, run and step row belongs to a namespace; what
 * existed before lands in `default`. The columns are added with a constant
 * default (no table rewrite), which is then dropped: from here on every
 * insert names its namespace, so a forgotten one fails instead of leaking
 * into `default`.
 *
 * - Workflow ids are unique per namespace: the keys of `workflows` and
 *   `workflow_versions` (and the versions' foreign key) gain the namespace.
 * - `runs`: the idempotency key is unique per namespace and workflow; the
 *   `ListRuns` indexes lead with the namespace, and `runs_namespace_id`
 *   serves the unfiltered list.
 * - `step_runs.namespace` is copied from the run so the claim index
 *   `(action, namespace, queued_at, run_id)` finds one namespace's queue
 *   without a join; built-ins claim one action across namespaces from the
 *   same index.
 * - `api_keys.namespaces`: the namespaces a key may use (`*`: all). Keys made
 *   before keep what they could reach: admin keys every namespace, others
 *   `default`.
 * - `audit_events.namespace`: the namespace a call named.
 * - The webhook outbox trigger joins a run's version by namespace too.
 */
import { sql, type Kysely, type Migration, type RawBuilder } from "kysely";

const TABLES = ["workflows", "workflow_versions", "runs", "step_runs"] as const;

/**
 * @example
 * ```ts
 * const MIGRATIONS = { ..., "0007_namespaces": migration0007 };
 * ```
 */
export const migration0007: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    for (const table of TABLES) {
      await sql`alter table ${sql.table(table)} add column namespace text not null default 'default'`.execute(db);
      await sql`alter table ${sql.table(table)} alter column namespace drop default`.execute(db);
    }
    await sql`alter table workflow_versions drop constraint workflow_versions_workflow_id_fkey`.execute(db);
    await sql`alter table workflows drop constraint workflows_pkey`.execute(db);
    await sql`alter table workflows add constraint workflows_pkey primary key (namespace, id)`.execute(db);
    await sql`alter table workflow_versions drop constraint workflow_versions_pkey`.execute(db);
    await sql`alter table workflow_versions add constraint workflow_versions_pkey primary key (namespace, workflow_id, version)`.execute(
      db,
    );
    await sql`alter table workflow_versions drop constraint workflow_versions_spec_hash`.execute(db);
    await sql`alter table workflow_versions add constraint workflow_versions_spec_hash unique (namespace, workflow_id, spec_hash)`.execute(
      db,
    );
    await sql`
      alter table workflow_versions add constraint workflow_versions_workflow_fkey
      foreign key (namespace, workflow_id) references workflows (namespace, id)`.execute(db);

    await sql`drop index runs_idempotency_key`.execute(db);
    await sql`
      create unique index runs_idempotency_key on runs (namespace, workflow_id, idempotency_key)
      where idempotency_key is not null`.execute(db);
    await sql`drop index runs_workflow_id_id`.execute(db);
    await sql`create index runs_workflow_id_id on runs (namespace, workflow_id, id desc)`.execute(db);
    await sql`drop index runs_status_id`.execute(db);
    await sql`create index runs_status_id on runs (namespace, status, id desc)`.execute(db);
    await sql`create index runs_namespace_id on runs (namespace, id desc)`.execute(db);

    await sql`drop index step_runs_claim`.execute(db);
    await sql`create index step_runs_claim on step_runs (action, namespace, queued_at, run_id) where status = 'QUEUED'`.execute(
      db,
    );

    await sql`alter table api_keys add column namespaces text[] not null default '{default}'`.execute(db);
    await sql`update api_keys set namespaces = '{*}' where role = 'admin'`.execute(db);
    await sql`alter table audit_events add column namespace text`.execute(db);

    await replaceWebhookFunction(db, sql`v.namespace = r.namespace and `);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await replaceWebhookFunction(db, sql``);
    await sql`alter table audit_events drop column namespace`.execute(db);
    await sql`alter table api_keys drop column namespaces`.execute(db);
    await sql`drop index step_runs_claim`.execute(db);
    await sql`create index step_runs_claim on step_runs (action, queued_at, run_id) where status = 'QUEUED'`.execute(
      db,
    );
    await sql`drop index runs_namespace_id`.execute(db);
    await sql`drop index runs_status_id`.execute(db);
    await sql`create index runs_status_id on runs (status, id desc)`.execute(db);
    await sql`drop index runs_workflow_id_id`.execute(db);
    await sql`create index runs_workflow_id_id on runs (workflow_id, id desc)`.execute(db);
    await sql`drop index runs_idempotency_key`.execute(db);
    await sql`
      create unique index runs_idempotency_key on runs (workflow_id, idempotency_key)
      where idempotency_key is not null`.execute(db);
    await sql`alter table workflow_versions drop constraint workflow_versions_workflow_fkey`.execute(db);
    await sql`alter table workflow_versions drop constraint workflow_versions_spec_hash`.execute(db);
    await sql`alter table workflow_versions add constraint workflow_versions_spec_hash unique (workflow_id, spec_hash)`.execute(
      db,
    );
    await sql`alter table workflow_versions drop constraint workflow_versions_pkey`.execute(db);
    await sql`alter table workflow_versions add constraint workflow_versions_pkey primary key (workflow_id, version)`.execute(
      db,
    );
    await sql`alter table workflows drop constraint workflows_pkey`.execute(db);
    await sql`alter table workflows add constraint workflows_pkey primary key (id)`.execute(db);
    await sql`
      alter table workflow_versions add constraint workflow_versions_workflow_id_fkey
      foreign key (workflow_id) references workflows (id)`.execute(db);
    for (const table of TABLES) await sql`alter table ${sql.table(table)} drop column namespace`.execute(db);
  },
};

/** The statement-level outbox function of 0004, with `namespaceJoin` in its version join. */
async function replaceWebhookFunction(db: Kysely<unknown>, namespaceJoin: RawBuilder<unknown>): Promise<void> {
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
      from added e
      join runs r on r.id = e.run_id
      join workflow_versions v on ${namespaceJoin}v.workflow_id = r.workflow_id and v.version = r.workflow_version
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
