/**
 * Namespaces in the store, on Postgres and PGlite:
 *
 * - migration 0007 moves what existed into `default` (workflows, versions,
 *   runs, steps) and gives older keys what they could reach (admin: every
 *   namespace, others: `default`);
 * - one workflow id in two namespaces; triggers, idempotency keys, lists,
 *   event listeners and schedules each stay within a namespace;
 * - a claim in a namespace takes only its tasks, even for the same action;
 *   a claim without one (the built-ins) takes every namespace's.
 */
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import type { KyselyStore } from "../../src/store/kysely-store.js";
import { createMigrator } from "../../src/store/migrations/index.js";
import type { CreateWorkflowInput } from "../../src/store/types.js";
import { requirePostgres } from "../support/db.js";
import { backends, uniqueId, useMigratedStore, workflow } from "../support/execution.js";

const hasPostgres = await requirePostgres();

/** The same workflow in another namespace. */
const inNamespace = (namespace: string, wf: CreateWorkflowInput): CreateWorkflowInput => ({ ...wf, namespace });

describe.each(backends(hasPostgres))("namespaces ($name)", ({ skip, fresh }) => {
  it.skipIf(skip)("migration 0007 moves existing rows into default and scopes older keys", async () => {
    const db = await fresh();
    const store = await db.open();
    try {
      const { error } = await createMigrator(store.db as never).migrateTo("0006_access");
      expect(error).toBeUndefined();
      const before = [
        `insert into workflows (id, latest_version) values ('old-flow', 1)`,
        `insert into workflow_versions (workflow_id, version, spec, def, spec_hash)
          values ('old-flow', 1, '{}', '{"id":"old-flow","steps":[],"on":{"events":[],"schedules":[]},"webhooks":{}}', 'h1')`,
        `insert into runs (id, workflow_id, workflow_version, status, input, idempotency_key)
          values ('01900000-0000-7000-8000-000000000001', 'old-flow', 1, 'PENDING', '{}', 'k1')`,
        `insert into step_runs (run_id, step_id, action, status)
          values ('01900000-0000-7000-8000-000000000001', 's', 'old.action', 'QUEUED')`,
        `insert into api_keys (id, secret_sha256, name, role) values ('k-admin', '\\x00', 'a', 'admin'), ('k-dev', '\\x00', 'd', 'developer')`,
      ];
      for (const statement of before) await sql.raw(statement).execute(store.db);
      await store.migrate();

      expect((await store.getWorkflow("default", "old-flow"))?.namespace).toBe("default");
      expect(await store.getWorkflow("other", "old-flow")).toBeUndefined();
      expect((await store.getRun("01900000-0000-7000-8000-000000000001"))?.namespace).toBe("default");
      const steps = await store.db.selectFrom("step_runs").select(["namespace"]).execute();
      expect(steps).toEqual([{ namespace: "default" }]);
      const keys = await store.access.listKeys();
      expect(Object.fromEntries(keys.map((k) => [k.id, k.namespaces]))).toEqual({
        "k-admin": ["*"],
        "k-dev": ["default"],
      });
      // The old idempotency key still holds in `default`, and no longer blocks another namespace.
      await store.createWorkflow(inNamespace("ns2", workflow("old-flow", { s: {} })));
      const [again, elsewhere] = await store.triggerRuns([
        { namespace: "default", workflowId: "old-flow", input: {}, idempotencyKey: "k1" },
        { namespace: "ns2", workflowId: "old-flow", input: {}, idempotencyKey: "k1" },
      ]);
      expect(again).toEqual({ ok: true, runId: "01900000-0000-7000-8000-000000000001", created: false });
      expect(elsewhere).toMatchObject({ ok: true, created: true });
    } finally {
      await store.close();
      await db.dispose();
    }
  });

  describe("one store, two namespaces", () => {
    let store: KyselyStore;
    useMigratedStore({ skip, fresh }, (_db, s) => (store = s));

    it.skipIf(skip)("keeps one workflow id apart per namespace: triggers, claims, lists, idempotency", async () => {
      const id = uniqueId("twin");
      const wf = workflow(id, { s: {} }); // action `${id}.s` in both
      await store.createWorkflow(inNamespace("team-a", wf));
      await store.createWorkflow(inNamespace("team-b", { ...wf, specHash: "other" }));
      expect(await store.listWorkflowVersions("team-a", id)).toEqual([1]);
      expect(await store.getWorkflow("default", id)).toBeUndefined();

      const results = await store.triggerRuns([
        { namespace: "team-a", workflowId: id, input: { n: 1 }, idempotencyKey: "same" },
        { namespace: "team-b", workflowId: id, input: { n: 2 }, idempotencyKey: "same" },
        { namespace: "team-b", workflowId: id, input: { n: 3 } },
        { namespace: "default", workflowId: id, input: {} },
      ]);
      const [a, b1, b2, missing] = results;
      expect(missing).toMatchObject({ ok: false, reason: "WORKFLOW_NOT_FOUND" });
      const runId = (r: typeof a) => (r?.ok ? r.runId : "");
      expect(new Set([runId(a), runId(b1), runId(b2)]).size).toBe(3);

      const listed = await store.listRuns({ namespace: "team-b", workflowId: id, pageSize: 10 });
      expect(listed.items.map((r) => r.id).sort()).toEqual([runId(b1), runId(b2)].sort());

      const claimA = await store.claimTasks({ workerId: "wa", namespace: "team-a", actions: [`${id}.s`], limit: 10 });
      expect(claimA.map((t) => [t.runId, t.namespace])).toEqual([[runId(a), "team-a"]]);
      const claimAll = await store.claimTasks({
        workerId: "wx",
        namespace: undefined,
        actions: [`${id}.s`],
        limit: 10,
      });
      expect(claimAll.map((t) => t.runId).sort()).toEqual([runId(b1), runId(b2)].sort());
      expect(claimAll.every((t) => t.namespace === "team-b")).toBe(true);
    });

    it.skipIf(skip)("finds event listeners within the namespace, and schedules with theirs", async () => {
      const id = uniqueId("listener");
      const event = `${id}.happened`;
      const wf = workflow(id, { s: {} }, { on: { events: [event], schedules: ["0 0 1 1 *"] } });
      await store.createWorkflow(inNamespace("team-a", wf));
      const inA = await store.eventListeners("team-a", event);
      expect(inA.map((l) => [l.namespace, l.workflowId])).toEqual([["team-a", id]]);
      expect(await store.eventListeners("team-b", event)).toEqual([]);
      const scheduled = (await store.scheduledWorkflows()).filter((w) => w.workflowId === id);
      expect(scheduled.map((w) => w.namespace)).toEqual(["team-a"]);
    });
  });
});
