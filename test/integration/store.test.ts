/**
 * The Store contract, run unchanged against a fresh Postgres database and an
 * embedded PGlite folder.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_RETRY, type JsonValue, type WorkflowDef } from "../../src/engine/model.js";
import type { KyselyStore } from "../../src/store/kysely-store.js";
import { createMigrator } from "../../src/store/migrations/index.js";
import { encodePageToken } from "../../src/store/reads/page-token.js";
import { createPgliteStore } from "../../src/store/db/pglite.js";
import { createPostgresStore } from "../../src/store/db/postgres.js";
import { InvalidPageTokenError, type RunRecord, type Store } from "../../src/store/types.js";
import { createTestDatabase, requirePostgres } from "../support/db.js";

const hasPostgres = await requirePostgres();

/** An empty database, and a way to open stores on it (again after closing, for persistence). */
interface Fresh {
  open(): Promise<KyselyStore>;
  dispose(): Promise<void>;
}

const backends: { name: string; skip: boolean; fresh(): Promise<Fresh> }[] = [
  {
    name: "postgres",
    skip: !hasPostgres,
    async fresh() {
      const db = await createTestDatabase();
      return { open: () => createPostgresStore({ url: db.url }), dispose: db.drop };
    },
  },
  {
    name: "pglite",
    skip: false,
    async fresh() {
      const dataDir = join(mkdtempSync(join(tmpdir(), "weft-store-")), "nested", "data");
      return {
        open: () => createPgliteStore({ dataDir }),
        dispose: async () => rmSync(join(dataDir, "..", ".."), { recursive: true, force: true }),
      };
    },
  },
];

let counter = 0;
/** A workflow id unique within the run, so tests sharing a store stay apart. */
function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
}

/** A definition whose steps are given as `[id, dependsOn]`. */
function defOf(id: string, steps: [string, string[]][], timeoutMs?: number): WorkflowDef {
  return {
    id,
    name: id,
    description: "",
    steps: steps.map(([stepId, dependsOn]) => ({
      id: stepId,
      action: `act.${stepId}`,
      dependsOn,
      triggerRule: "ALL_SUCCEEDED",
      retry: DEFAULT_RETRY,
    })),
    on: { events: [], schedules: [] },
    webhooks: { onComplete: [], onFailure: [], onStep: [] },
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  };
}

function createInput(id: string, steps: [string, string[]][] = [["a", []]], tag = "v1", timeoutMs?: number) {
  const spec = { id, steps: steps.map(([s, d]) => ({ id: s, action: `act.${s}`, dependsOn: d })), tag };
  const specHash = createHash("sha256").update(JSON.stringify(spec)).digest("hex");
  return { namespace: "default", id, spec, def: defOf(id, steps, timeoutMs), specHash };
}

async function allRuns(store: Store, workflowId: string): Promise<RunRecord[]> {
  const runs: RunRecord[] = [];
  let pageToken: string | undefined;
  do {
    const page = await store.listRuns({ namespace: "default", workflowId, pageSize: 1000, pageToken });
    runs.push(...page.items);
    pageToken = page.next;
  } while (pageToken);
  return runs;
}

describe.each(backends)("store on $name", ({ name, skip, fresh }) => {
  let db: Fresh;
  let store: KyselyStore;
  let readyBeforeMigrate: boolean;

  beforeAll(async () => {
    if (skip) return;
    db = await fresh();
    store = await db.open();
    readyBeforeMigrate = await store.ready();
    await store.migrate();
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    await db?.dispose();
  }, 60_000);

  it.skipIf(skip)("migrates; migrating again is a no-op", async () => {
    expect(readyBeforeMigrate).toBe(false);
    expect(await store.ready()).toBe(true);
    await store.migrate();
    const again = await createMigrator(store.db as never).migrateToLatest();
    expect(again.error).toBeUndefined();
    expect(again.results).toEqual([]);
    expect(await store.ready()).toBe(true);
  });

  it.skipIf(skip)("migrates a fresh database from two stores at once", { timeout: 120_000 }, async () => {
    const other = await fresh();
    try {
      // PGlite is one process per folder: there, two concurrent migrate() calls on one store.
      const first = await other.open();
      const second = name === "pglite" ? first : await other.open();
      await Promise.all([first.migrate(), second.migrate()]);
      expect(await first.ready()).toBe(true);
      expect(await second.ready()).toBe(true);
      await Promise.all([first.close(), second.close()]);
    } finally {
      await other.dispose();
    }
  });

  it.skipIf(skip)("versions workflows by spec hash", async () => {
    const id = uniqueId("wf");
    const v1 = await store.createWorkflow(createInput(id));
    expect(v1.created).toBe(true);
    expect(v1.workflow).toMatchObject({ id, version: 1, spec: createInput(id).spec, def: createInput(id).def });
    expect(v1.workflow.createdAt).toBeInstanceOf(Date);
    expect(v1.workflow.deletedAt).toBeUndefined();

    const same = await store.createWorkflow(createInput(id));
    expect(same).toMatchObject({ created: false, workflow: { version: 1 } });

    const v2 = await store.createWorkflow(
      createInput(
        id,
        [
          ["a", []],
          ["b", ["a"]],
        ],
        "v2",
      ),
    );
    expect(v2).toMatchObject({ created: true, workflow: { version: 2 } });

    expect((await store.getWorkflow("default", id))?.version).toBe(2);
    expect((await store.getWorkflow("default", id, 0))?.version).toBe(2);
    expect((await store.getWorkflow("default", id, 1))?.def.steps.map((s) => s.id)).toEqual(["a"]);
    expect(await store.getWorkflow("default", id, 3)).toBeUndefined();
    expect(await store.getWorkflow("default", uniqueId("missing"))).toBeUndefined();
    expect(await store.listWorkflowVersions("default", id)).toEqual([1, 2]);
    expect(await store.listWorkflowVersions("default", uniqueId("missing"))).toEqual([]);
  });

  it.skipIf(skip)("gives concurrent identical creates one version", async () => {
    const id = uniqueId("race");
    const results = await Promise.all(Array.from({ length: 10 }, () => store.createWorkflow(createInput(id))));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.workflow.version))).toEqual(new Set([1]));
    expect(await store.listWorkflowVersions("default", id)).toEqual([1]);
  });

  it.skipIf(skip)("hides a deleted workflow and revives it on re-create", async () => {
    const id = uniqueId("del");
    await store.createWorkflow(createInput(id));
    expect(await store.deleteWorkflow("default", id)).toBe(true);
    expect(await store.deleteWorkflow("default", id)).toBe(false);
    expect(await store.deleteWorkflow("default", uniqueId("missing"))).toBe(false);
    expect(await store.getWorkflow("default", id)).toBeUndefined();
    expect(await store.getWorkflow("default", id, 1)).toBeUndefined();
    expect(await store.listWorkflowVersions("default", id)).toEqual([]);
    const listed = await store.listWorkflows({ namespace: "default", pageSize: 1000 });
    expect(listed.items.map((w) => w.id)).not.toContain(id);
    const [trigger] = await store.triggerRuns([{ namespace: "default", workflowId: id, input: null }]);
    expect(trigger).toMatchObject({ ok: false, reason: "WORKFLOW_NOT_FOUND" });

    // Same spec: the old version, live again.
    expect(await store.createWorkflow(createInput(id))).toMatchObject({ created: false, workflow: { version: 1 } });
    expect((await store.getWorkflow("default", id))?.version).toBe(1);
    // Deleted again, re-created with a new spec: a new version.
    await store.deleteWorkflow("default", id);
    expect(await store.createWorkflow(createInput(id, [["z", []]], "v2"))).toMatchObject({
      created: true,
      workflow: { version: 2 },
    });
    expect((await store.getWorkflow("default", id))?.version).toBe(2);
  });

  it.skipIf(skip)("starts a trigger on the version current when it commits, not the one it last saw", async () => {
    // The trigger plans with the latest version it last read (no query) and
    // the statement checks it: here a new version and then a delete make
    // what this store saw stale (as another replica's writes would).
    const id = uniqueId("stale");
    await store.createWorkflow(createInput(id));
    const [first] = await store.triggerRuns([{ namespace: "default", workflowId: id, input: null }]);
    if (!first?.ok) throw new Error("expected a run");
    expect((await store.getRun(first.runId))?.workflowVersion).toBe(1);

    await store.createWorkflow(
      createInput(
        id,
        [
          ["a", []],
          ["b", ["a"]],
        ],
        "v2",
      ),
    );
    const [second] = await store.triggerRuns([{ namespace: "default", workflowId: id, input: null }]);
    if (!second?.ok) throw new Error("expected a run");
    expect(await store.getRun(second.runId)).toMatchObject({
      workflowVersion: 2,
      steps: [{ stepId: "a" }, { stepId: "b" }],
    });
    const [pinned] = await store.triggerRuns([{ namespace: "default", workflowId: id, version: 1, input: null }]);
    if (!pinned?.ok) throw new Error("expected a run");
    expect((await store.getRun(pinned.runId))?.workflowVersion).toBe(1);

    await store.deleteWorkflow("default", id);
    const gone = await store.triggerRuns([
      { namespace: "default", workflowId: id, input: null },
      { namespace: "default", workflowId: id, version: 1, input: null },
    ]);
    expect(gone).toMatchObject([
      { ok: false, reason: "WORKFLOW_NOT_FOUND" },
      { ok: false, reason: "WORKFLOW_NOT_FOUND" },
    ]);
    // Nothing was inserted by the tries that found their version stale.
    expect((await allRuns(store, id)).map((r) => r.workflowVersion).sort()).toEqual([1, 1, 2]);
  });

  it.skipIf(skip)("lists workflows in pages without duplicates or gaps", async () => {
    const prefix = uniqueId("page");
    const ids = Array.from({ length: 250 }, (_, i) => `${prefix}-${String(i).padStart(3, "0")}`);
    for (let i = 0; i < ids.length; i += 25) {
      await Promise.all(ids.slice(i, i + 25).map((id) => store.createWorkflow(createInput(id))));
    }
    await store.createWorkflow(createInput(ids[7]!, [["b", []]], "v2"));

    const seen: string[] = [];
    const sizes: number[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const page = await store.listWorkflows({ namespace: "default", pageSize: 100, pageToken });
      sizes.push(page.items.length);
      seen.push(...page.items.map((w) => w.id));
      for (const w of page.items) if (w.id === ids[7]) expect(w.version).toBe(2);
      pageToken = page.next;
      expect(++pages).toBeLessThan(100);
    } while (pageToken);

    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual(seen);
    expect(seen.filter((id) => id.startsWith(prefix))).toEqual(ids);
    expect(sizes.slice(0, -1).every((n) => n === 100)).toBe(true);
    expect(sizes.at(-1)).toBeLessThanOrEqual(100);
  });

  it.skipIf(skip)("refuses malformed page tokens", async () => {
    const bad = ["!!!", "YQ==", "a", encodePageToken("1-starts-with-digit"), encodePageToken("x".repeat(200))];
    for (const pageToken of bad) {
      await expect(store.listWorkflows({ namespace: "default", pageSize: 10, pageToken })).rejects.toBeInstanceOf(
        InvalidPageTokenError,
      );
      await expect(store.listRuns({ namespace: "default", pageSize: 10, pageToken })).rejects.toBeInstanceOf(
        InvalidPageTokenError,
      );
    }
    await expect(
      store.listRuns({ namespace: "default", pageSize: 10, pageToken: encodePageToken("wf-1") }),
    ).rejects.toBeInstanceOf(InvalidPageTokenError);
  });

  it.skipIf(skip)("triggers a batch across workflows, results in input order", async () => {
    const a = uniqueId("a");
    const b = uniqueId("b");
    await store.createWorkflow(createInput(a));
    await store.createWorkflow(
      createInput(b, [
        ["x", []],
        ["y", ["x"]],
      ]),
    );
    const missing = uniqueId("missing");
    const results = await store.triggerRuns([
      { namespace: "default", workflowId: a, input: 1 },
      { namespace: "default", workflowId: missing, input: 2 },
      { namespace: "default", workflowId: b, input: 3 },
      { namespace: "default", workflowId: a, version: 9, input: 4 },
    ]);
    expect(results).toMatchObject([
      { ok: true, created: true },
      { ok: false, reason: "WORKFLOW_NOT_FOUND" },
      { ok: true, created: true },
      { ok: false, reason: "VERSION_NOT_FOUND" },
    ]);
    const [ra, , rb] = results;
    if (!ra?.ok || !rb?.ok) throw new Error("expected runs");
    expect(ra.runId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    expect((await store.getRun(ra.runId))?.input).toBe(1);
    expect(await store.getRun(rb.runId)).toMatchObject({
      workflowId: b,
      workflowVersion: 1,
      status: "PENDING",
      input: 3,
    });
  });

  it.skipIf(skip)("pins versions and queues only root steps", async () => {
    const id = uniqueId("dag");
    await store.createWorkflow(createInput(id, [["only", []]], "v1"));
    await store.createWorkflow(
      createInput(
        id,
        [
          ["load", ["t1", "t2"]],
          ["t1", ["extract"]],
          ["extract", []],
          ["t2", []],
        ],
        "v2",
        60_000,
      ),
    );
    const [pinned, latest] = await store.triggerRuns([
      { namespace: "default", workflowId: id, version: 1, input: null },
      { namespace: "default", workflowId: id, input: { n: 1 } },
    ]);
    if (!pinned?.ok || !latest?.ok) throw new Error("expected runs");

    const v1 = await store.getRun(pinned.runId);
    expect(v1).toMatchObject({ workflowVersion: 1, steps: [{ stepId: "only", status: "QUEUED", attempts: 0 }] });
    expect(v1?.deadlineAt).toBeUndefined();

    const run = await store.getRun(latest.runId);
    if (!run) throw new Error("run not found");
    expect(run.workflowVersion).toBe(2);
    expect(run.idempotencyKey).toBeUndefined();
    expect(run.output).toBeUndefined();
    expect(run.deadlineAt!.getTime() - run.createdAt.getTime()).toBe(60_000);
    // In definition order, not by id.
    expect(run.steps.map((s) => [s.stepId, s.status, s.action])).toEqual([
      ["load", "PENDING", "act.load"],
      ["t1", "PENDING", "act.t1"],
      ["extract", "QUEUED", "act.extract"],
      ["t2", "QUEUED", "act.t2"],
    ]);
    expect(run.steps.find((s) => s.stepId === "extract")?.queuedAt).toBeInstanceOf(Date);
    expect(run.steps.find((s) => s.stepId === "load")?.queuedAt).toBeUndefined();

    const history = await store.getRunHistory(run.id);
    expect(history.map((e) => [e.type, e.runStatus ?? e.stepStatus, e.stepId])).toEqual([
      ["RUN_STATUS", "PENDING", undefined],
      ["STEP_STATUS", "QUEUED", "extract"],
      ["STEP_STATUS", "QUEUED", "t2"],
    ]);
    expect(typeof history[0]!.id).toBe("bigint");
    expect(history[1]!.id > history[0]!.id).toBe(true);
    expect(history.every((e) => e.runId === run.id && e.time instanceof Date)).toBe(true);
  });

  it.skipIf(skip)("returns one run per idempotency key, in a batch and across calls", async () => {
    const id = uniqueId("idem");
    const other = uniqueId("idem-other");
    await store.createWorkflow(
      createInput(id, [
        ["a", []],
        ["b", ["a"]],
      ]),
    );
    await store.createWorkflow(createInput(other));
    const first = await store.triggerRuns([
      { namespace: "default", workflowId: id, input: 1, idempotencyKey: "k" },
      { namespace: "default", workflowId: id, input: 2, idempotencyKey: "k" },
      { namespace: "default", workflowId: other, input: 3, idempotencyKey: "k" },
      { namespace: "default", workflowId: id, input: 4 },
    ]);
    expect(first.map((r) => r.ok && r.created)).toEqual([true, false, true, true]);
    const [k1, k2, kOther] = first;
    if (!k1?.ok || !k2?.ok || !kOther?.ok) throw new Error("expected runs");
    expect(k2.runId).toBe(k1.runId);
    expect(kOther.runId).not.toBe(k1.runId);

    const again = await store.triggerRuns([
      { namespace: "default", workflowId: id, input: 5, idempotencyKey: "k" },
      { namespace: "default", workflowId: id, input: 6, idempotencyKey: "new" },
    ]);
    expect(again).toMatchObject([
      { ok: true, runId: k1.runId, created: false },
      { ok: true, created: true },
    ]);
    expect((await store.getRun(k1.runId))?.input).toBe(1);
    expect(await allRuns(store, id)).toHaveLength(3);
    // The repeated trigger added no steps or events to the first run.
    expect((await store.getRun(k1.runId))?.steps).toHaveLength(2);
    expect(await store.getRunHistory(k1.runId)).toHaveLength(2);
  });

  it.skipIf(skip)("gives 20 concurrent triggers with one key exactly one run", async () => {
    const id = uniqueId("idem-race");
    await store.createWorkflow(createInput(id));
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.triggerRuns([{ namespace: "default", workflowId: id, input: i, idempotencyKey: "once" }]),
      ),
    );
    const flat = results.flat();
    expect(flat.every((r) => r.ok)).toBe(true);
    expect(new Set(flat.map((r) => r.ok && r.runId)).size).toBe(1);
    expect(flat.filter((r) => r.ok && r.created)).toHaveLength(1);
    const runs = await allRuns(store, id);
    expect(runs).toHaveLength(1);
    expect(await store.getRunHistory(runs[0]!.id)).toHaveLength(2);
  });

  it.skipIf(skip)("lists runs newest first, filtered and paged", async () => {
    const id = uniqueId("list");
    const other = uniqueId("list-other");
    await store.createWorkflow(createInput(id));
    await store.createWorkflow(createInput(other));
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const [r] = await store.triggerRuns([
        { namespace: "default", workflowId: id, input: i },
        { namespace: "default", workflowId: other, input: i },
      ]);
      if (r?.ok) ids.push(r.runId);
    }
    const seen: RunRecord[] = [];
    let pageToken: string | undefined;
    do {
      const page = await store.listRuns({ namespace: "default", workflowId: id, pageSize: 3, pageToken });
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items);
      pageToken = page.next;
    } while (pageToken);
    expect(seen.map((r) => r.id)).toEqual([...ids].reverse());
    expect(seen.map((r) => r.input)).toEqual([6, 5, 4, 3, 2, 1, 0]);
    expect(seen.every((r) => r.steps.length === 0 && r.workflowId === id)).toBe(true);

    expect(
      (await store.listRuns({ namespace: "default", workflowId: id, status: "PENDING", pageSize: 100 })).items,
    ).toHaveLength(7);
    expect(
      (await store.listRuns({ namespace: "default", workflowId: id, status: "RUNNING", pageSize: 100 })).items,
    ).toHaveLength(0);
    const newest = await store.listRuns({ namespace: "default", status: "PENDING", pageSize: 2 });
    expect(newest.items.map((r) => r.workflowId)).toEqual([other, id]);
    expect(newest.next).toBeDefined();
  });

  it.skipIf(skip)("round-trips JSON inputs", async () => {
    const id = uniqueId("json");
    await store.createWorkflow(createInput(id));
    const inputs: JsonValue[] = [
      "hello",
      "",
      '{"not":"an object"}',
      42,
      -1.5e-7,
      true,
      null,
      [1, "two", null, [3]],
      { nested: { list: [{ a: null }], s: "x" }, empty: {}, arr: [] },
      { unicode: "héllo wörld ✓ 日本語 🎉", quote: 'a"b\\c', newline: "l1\nl2" },
    ];
    const results = await store.triggerRuns(inputs.map((input) => ({ namespace: "default", workflowId: id, input })));
    for (const [i, r] of results.entries()) {
      if (!r.ok) throw new Error(r.message);
      expect((await store.getRun(r.runId))?.input).toEqual(inputs[i]);
    }
    const listed = await allRuns(store, id);
    expect(listed.map((r) => r.input).reverse()).toEqual(inputs);
  });

  it.skipIf(skip)("treats unknown and malformed run ids as unknown", async () => {
    expect(await store.getRun("0190b5a4-0000-7000-8000-000000000000")).toBeUndefined();
    expect(await store.getRun("not-a-uuid")).toBeUndefined();
    expect(await store.getRunHistory("not-a-uuid")).toEqual([]);
  });

  it.skipIf(skip)("inserts a batch larger than one INSERT holds", { timeout: 120_000 }, async () => {
    const id = uniqueId("big");
    await store.createWorkflow(createInput(id));
    const results = await store.triggerRuns(
      Array.from({ length: 4500 }, (_, i) => ({ namespace: "default", workflowId: id, input: i })),
    );
    expect(results.every((r) => r.ok && r.created)).toBe(true);
    expect(await allRuns(store, id)).toHaveLength(4500);
    const last = results.at(-1);
    if (!last?.ok) throw new Error("expected a run");
    expect(await store.getRun(last.runId)).toMatchObject({ input: 4499, steps: [{ status: "QUEUED" }] });
    expect(await store.getRunHistory(last.runId)).toHaveLength(2);
  });

  it.skipIf(skip)("keeps its data after close and reopen", { timeout: 120_000 }, async () => {
    const id = uniqueId("persist");
    await store.createWorkflow(createInput(id));
    const [r] = await store.triggerRuns([
      { namespace: "default", workflowId: id, input: { kept: true }, idempotencyKey: "p" },
    ]);
    if (!r?.ok) throw new Error("expected a run");
    await store.close();
    await store.close(); // idempotent
    store = await db.open();
    expect(await store.ready()).toBe(true);
    expect((await store.getWorkflow("default", id))?.version).toBe(1);
    expect(await store.getRun(r.runId)).toMatchObject({ input: { kept: true }, idempotencyKey: "p" });
    const [again] = await store.triggerRuns([
      { namespace: "default", workflowId: id, input: null, idempotencyKey: "p" },
    ]);
    expect(again).toMatchObject({ ok: true, runId: r.runId, created: false });
  });
});
