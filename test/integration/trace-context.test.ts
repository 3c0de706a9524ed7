/**
 * The run's trace context in the store: a trigger that carries a
 * `traceparent` stores it on the run, a claim asked for `traceparents`
 * returns it with each task; without tracing the trigger and claim
 * statements are exactly the untraced ones (same text, so the same prepared
 * statements, and no traceparent column named), and the column stays null.
 */
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type CompiledQuery,
} from "kysely";
import { describe, expect, it } from "vitest";
import { claimTasks } from "../../src/store/writes/claim-tasks.js";
import { insertRuns, type NewRunRow } from "../../src/store/writes/insert-runs.js";
import { box } from "../../src/store/db/json-rows.js";
import type { KyselyStore } from "../../src/store/kysely-store.js";
import type { Database } from "../../src/store/db/schema.js";
import { requirePostgres } from "../support/db.js";
import { backends, uniqueId, useMigratedStore, workflow } from "../support/execution.js";

const hasPostgres = await requirePostgres();

const TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/** A Kysely that runs nothing and records every statement it was given. */
function recording(): { db: Kysely<Database>; queries: CompiledQuery[] } {
  const queries: CompiledQuery[] = [];
  const db = new Kysely<Database>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (k) => new PostgresIntrospector(k),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
    log: (event) => void queries.push(event.query),
  });
  return { db, queries };
}

function runRow(traceparent?: string): NewRunRow {
  return {
    id: "0193a000-0000-7000-8000-000000000001",
    namespace: "default",
    workflow_id: "wf",
    workflow_version: 1,
    pinned: false,
    status: "PENDING" as NewRunRow["status"],
    input: box({}),
    idempotency_key: null,
    trigger: "api",
    deadline_ms: null,
    finished: false,
    output: null,
    error: null,
    ...(traceparent ? { traceparent } : {}),
  };
}

describe("statements without tracing", () => {
  it("claims with the untraced statement, and names runs.traceparent only when asked", async () => {
    const { db, queries } = recording();
    const opts = { workerId: "w1", namespace: "default", actions: ["a"], limit: 10 };
    await claimTasks(db, opts, "origin");
    await claimTasks(db, { ...opts, traceparents: false }, "origin");
    await claimTasks(db, { ...opts, traceparents: true }, "origin");
    const [plain, off, on] = queries;
    expect(plain!.sql).not.toContain("traceparent");
    expect(off!.sql).toBe(plain!.sql);
    expect(on!.sql).toContain("r.traceparent");
    expect(on!.sql.replace(", r.traceparent", "")).toBe(plain!.sql);
    expect(on!.parameters).toEqual(plain!.parameters);
  });

  it("inserts runs with the untraced statement unless a run carries a traceparent", async () => {
    const { db, queries } = recording();
    const rows = { steps: [], events: [], payloads: [] };
    await insertRuns(db, { ...rows, runs: [runRow()] });
    await insertRuns(db, { ...rows, runs: [runRow(TRACEPARENT)] });
    const [off, on] = queries;
    expect(off!.sql).not.toContain("traceparent");
    expect(JSON.stringify(off!.parameters)).not.toContain("traceparent");
    expect(on!.sql).toContain("traceparent");
    expect(JSON.stringify(on!.parameters)).toContain(TRACEPARENT);
  });
});

describe.each(backends(hasPostgres))("the run's trace context on $name", ({ skip, fresh }) => {
  let store: KyselyStore;
  useMigratedStore({ skip, fresh }, (_db, s) => (store = s));

  it.skipIf(skip)("is stored by the trigger and returned by a claim that asks for it", async () => {
    const wf = workflow(uniqueId("traced"), { a: {} });
    await store.createWorkflow(wf);
    const action = wf.def.steps[0]!.action;
    const [traced, untraced] = await store.triggerRuns([
      { namespace: "default", workflowId: wf.id, input: {}, traceparent: TRACEPARENT },
      { namespace: "default", workflowId: wf.id, input: {} },
    ]);
    if (!traced?.ok || !untraced?.ok) throw new Error("trigger failed");
    const rows = await store.db
      .selectFrom("runs")
      .select(["id", "traceparent"])
      .where("workflow_id", "=", wf.id)
      .execute();
    expect(Object.fromEntries(rows.map((r) => [r.id, r.traceparent]))).toEqual({
      [traced.runId]: TRACEPARENT,
      [untraced.runId]: null,
    });

    const tasks = await store.claimTasks({
      workerId: "w1",
      namespace: "default",
      actions: [action],
      limit: 10,
      traceparents: true,
    });
    const byRun = Object.fromEntries(tasks.map((t) => [t.runId, t.runTraceparent]));
    expect(byRun).toEqual({ [traced.runId]: TRACEPARENT, [untraced.runId]: undefined });
  });

  it.skipIf(skip)("is not read by a claim that does not ask", async () => {
    const wf = workflow(uniqueId("untraced-claim"), { a: {} });
    await store.createWorkflow(wf);
    await store.triggerRuns([{ namespace: "default", workflowId: wf.id, input: {}, traceparent: TRACEPARENT }]);
    const tasks = await store.claimTasks({
      workerId: "w1",
      namespace: "default",
      actions: [wf.def.steps[0]!.action],
      limit: 10,
    });
    expect(tasks).toHaveLength(1);
    expect(tasks[0]!.runTraceparent).toBeUndefined();
  });
});
