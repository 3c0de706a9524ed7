/**
 * Retention and `PurgeRuns` in the store, on Postgres and PGlite:
 *
 * - a retention pass deletes the finished runs older than their workflow's
 *   retention (else the server default) with every row that belongs to
 *   them — steps, history, webhook deliveries — and nothing else: younger
 *   runs, running runs and other workflows' runs keep every row;
 * - a purge by filter (workflow, statuses, finished before, limit, dry run),
 *   repeated, deletes nothing the second time;
 * - a purge racing retries of its runs: each run is either gone whole or
 *   retried whole;
 * - (Postgres) two replicas' passes at once delete each run once.
 */
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import type { WorkflowDef } from "../../src/engine/model.js";
import type { KyselyStore } from "../../src/store/kysely-store.js";
import type { CreateWorkflowInput, PurgeCounts } from "../../src/store/types.js";
import { requirePostgres } from "../support/db.js";
import type { Fresh } from "../support/execution.js";
import {
  backends,
  claimAll,
  completeAll,
  failed,
  ok,
  start,
  uniqueId,
  useMigratedStore,
  workflow,
} from "../support/execution.js";

const hasPostgres = await requirePostgres();

const TABLES = ["runs", "step_runs", "run_events", "webhook_deliveries"] as const;
type Rows = Record<(typeof TABLES)[number], number>;
const HOOKS: WorkflowDef["webhooks"] = { onComplete: ["http://127.0.0.1:1/done"], onFailure: [], onStep: [] };

/** Rows of every table that belong to each run. */
async function rowsOf(store: KyselyStore, runIds: string[]): Promise<Map<string, Rows>> {
  const out = new Map<string, Rows>(
    runIds.map((id) => [id, { runs: 0, step_runs: 0, run_events: 0, webhook_deliveries: 0 }]),
  );
  for (const table of TABLES) {
    const column = table === "runs" ? "id" : "run_id";
    const { rows } = await sql<{ id: string; n: number | string }>`
      select ${sql.ref(column)} as id, count(*) as n from ${sql.table(table)}
      where ${sql.ref(column)} in (${sql.join(runIds)}) group by 1`.execute(store.db);
    for (const r of rows) out.get(r.id)![table] = Number(r.n);
  }
  return out;
}

const sum = (rows: Rows[]) => ({
  runs: rows.reduce((n, r) => n + r.runs, 0),
  steps: rows.reduce((n, r) => n + r.step_runs, 0),
  events: rows.reduce((n, r) => n + r.run_events, 0),
  webhookDeliveries: rows.reduce((n, r) => n + r.webhook_deliveries, 0),
});

/** Starts `n` runs of `wf` and drives every step to success (or failure with `fail`). */
async function finishedRuns(store: KyselyStore, wf: CreateWorkflowInput, n: number, fail = false): Promise<string[]> {
  const ids = await start(
    store,
    wf,
    Array.from({ length: n }, (_, i) => ({ i })),
  );
  for (;;) {
    const tasks = await claimAll(
      store,
      wf.def.steps.map((s) => s.action),
    );
    if (tasks.length === 0) return ids;
    await completeAll(
      store,
      tasks.map((t) => (fail ? failed(t, "BAD", "no", false) : ok(t, { done: t.stepId }))),
    );
  }
}

const withoutBytes = ({ bytes: _bytes, ...counts }: PurgeCounts) => counts;

describe.each(backends(hasPostgres))("retention and purge ($name)", ({ skip, fresh }) => {
  let store: KyselyStore;
  useMigratedStore({ skip, fresh }, (_db, s) => (store = s));

  it.skipIf(skip)("a pass deletes runs past their retention with every row, and nothing else", async () => {
    const short = workflow(uniqueId("short"), { a: {}, b: { deps: ["a"] } }, { retentionMs: 60_000, webhooks: HOOKS });
    const long = workflow(uniqueId("long"), { a: {} }, { retentionMs: 3_600_000, webhooks: HOOKS });
    const plain = workflow(uniqueId("plain"), { a: {}, b: { deps: ["a"] } });
    const oldShort = await finishedRuns(store, short, 4);
    const oldLong = await finishedRuns(store, long, 2);
    const oldPlain = await finishedRuns(store, plain, 3);
    // Still running: its first step claimed, never finished.
    const [running] = await start(store, short, [{ running: true }]);
    await claimAll(store, [short.def.steps[0]!.action]);
    const all = [...oldShort, ...oldLong, ...oldPlain, running!];
    const before = await rowsOf(store, all);
    expect(before.get(oldShort[0]!)).toEqual({
      runs: 1,
      step_runs: 2,
      run_events: expect.any(Number),
      webhook_deliveries: 1,
    });

    // Two minutes on: past `short`'s minute, within `long`'s hour; `plain` has none and no default applies.
    const now = Date.now() + 120_000;
    const first = await store.retentionPass({ now });
    expect(first.busy).toBe(false);
    expect(withoutBytes(first.counts)).toEqual(sum(oldShort.map((id) => before.get(id)!)));
    expect(first.counts.bytes).toBeGreaterThan(1000);
    const after = await rowsOf(store, all);
    for (const id of oldShort)
      expect(after.get(id), id).toEqual({ runs: 0, step_runs: 0, run_events: 0, webhook_deliveries: 0 });
    for (const id of [...oldLong, ...oldPlain, running!]) expect(after.get(id), id).toEqual(before.get(id));

    // A server default of a minute now reaches `plain`; `long` keeps its own hour.
    const second = await store.retentionPass({ now, defaultRetentionMs: 60_000 });
    expect(withoutBytes(second.counts)).toEqual(sum(oldPlain.map((id) => before.get(id)!)));
    const last = await rowsOf(store, all);
    for (const id of oldPlain) expect(last.get(id)!.runs + last.get(id)!.run_events + last.get(id)!.step_runs).toBe(0);
    for (const id of [...oldLong, running!]) expect(last.get(id), id).toEqual(before.get(id));
    expect((await store.getRun(running!))?.status).toBe("RUNNING");
    // Nothing left to do: a pass deletes nothing.
    expect((await store.retentionPass({ now, defaultRetentionMs: 60_000 })).counts.runs).toBe(0);
  });

  it.skipIf(skip)("purges by filter, repeated, with limits and a dry run", async () => {
    const good = workflow(uniqueId("good"), { a: {} });
    const bad = workflow(uniqueId("bad"), { a: {} });
    const succeeded = await finishedRuns(store, good, 5);
    const failedRuns = await finishedRuns(store, bad, 6, true);
    const ns = "default";
    const future = new Date(Date.now() + 60_000);

    // Finished before a time in the past: none of these.
    expect(
      (
        await store.purgeRuns({
          namespace: ns,
          statuses: ["SUCCEEDED"],
          finishedBefore: new Date(Date.now() - 3_600_000),
        })
      ).runs,
    ).toBe(0);
    // Dry run counts, deletes nothing.
    const dry = await store.purgeRuns({
      namespace: ns,
      workflowId: bad.id,
      statuses: ["FAILED"],
      finishedBefore: future,
      dryRun: true,
    });
    expect(dry).toEqual({ runs: 6, steps: 0, events: 0, webhookDeliveries: 0, bytes: 0 });
    // A status that matches nothing of this workflow.
    expect(
      (await store.purgeRuns({ namespace: ns, workflowId: bad.id, statuses: ["SUCCEEDED"], finishedBefore: future }))
        .runs,
    ).toBe(0);
    // A limit, in batches smaller than it.
    const some = await store.purgeRuns(
      { namespace: ns, workflowId: bad.id, statuses: ["FAILED"], finishedBefore: future, limit: 4 },
      { batchSize: 3 },
    );
    expect(some.runs).toBe(4);
    expect(some.steps).toBe(4);
    const rest = await store.purgeRuns({
      namespace: ns,
      workflowId: bad.id,
      statuses: ["FAILED", "CANCELLED"],
      finishedBefore: future,
    });
    expect(rest.runs).toBe(2);
    expect(
      (await store.purgeRuns({ namespace: ns, workflowId: bad.id, statuses: ["FAILED"], finishedBefore: future })).runs,
    ).toBe(0);
    for (const [id, rows] of await rowsOf(store, failedRuns))
      expect(rows.runs + rows.step_runs + rows.run_events, id).toBe(0);
    // Another namespace sees none of them.
    expect(
      (await store.purgeRuns({ namespace: "elsewhere", statuses: ["SUCCEEDED"], finishedBefore: future })).runs,
    ).toBe(0);
    for (const [id, rows] of await rowsOf(store, succeeded)) expect(rows.runs, id).toBe(1);
  });

  it.skipIf(skip)("a purge racing retries leaves each run gone whole or retried whole", async () => {
    const wf = workflow(uniqueId("race"), { a: {}, b: { deps: ["a"] } });
    const ids = await finishedRuns(store, wf, 24, true);
    const before = await rowsOf(store, ids);
    const purge = store.purgeRuns(
      { namespace: "default", workflowId: wf.id, statuses: ["FAILED"], finishedBefore: new Date(Date.now() + 60_000) },
      { batchSize: 4 },
    );
    const retries = await Promise.all(ids.map((id) => store.retryRun(id)));
    const purged = await purge;
    const after = await rowsOf(store, ids);
    let gone = 0;
    ids.forEach((id, i) => {
      const rows = after.get(id)!;
      const retry = retries[i]!;
      if ("run" in retry) {
        // Retried before the purge reached it: whole, running again, its history grown.
        expect(rows.runs, id).toBe(1);
        expect(rows.step_runs, id).toBe(2);
        expect(rows.run_events, id).toBeGreaterThan(before.get(id)!.run_events);
        expect(retry.run.status).toBe("RUNNING");
      } else {
        expect(retry.error, id).toBe("NOT_FOUND");
        expect(rows, id).toEqual({ runs: 0, step_runs: 0, run_events: 0, webhook_deliveries: 0 });
        gone++;
      }
    });
    expect(purged.runs).toBe(gone);
    expect(purged.steps).toBe(gone * 2);
  });
});

describe.skipIf(!hasPostgres)("retention across replicas", () => {
  const postgres = backends(hasPostgres)[0]!;
  let store: KyselyStore;
  let db: Fresh;
  useMigratedStore(postgres, (d, s) => {
    db = d;
    store = s;
  });

  it("two replicas' passes delete each run once, without waiting on each other", async () => {
    const other = await db.open();
    try {
      const wf = workflow(uniqueId("replicas"), { a: {} }, { retentionMs: 1_000 });
      const ids = await finishedRuns(store, wf, 150);
      const now = Date.now() + 10_000;
      const passes = await Promise.all(
        [store, other, store, other].map((s) => s.retentionPass({ now, batchSize: 10 })),
      );
      const total = passes.reduce((n, p) => n + p.counts.runs, 0);
      expect(total).toBe(150);
      expect(passes.filter((p) => p.busy).length).toBeGreaterThan(0);
      for (const [id, rows] of await rowsOf(store, ids))
        expect(rows.runs + rows.step_runs + rows.run_events, id).toBe(0);
      // A purge by request beside a pass: still each run once.
      const more = await finishedRuns(store, wf, 60);
      const [pass, purge] = await Promise.all([
        other.retentionPass({ now, batchSize: 7 }),
        store.purgeRuns(
          { namespace: "default", workflowId: wf.id, statuses: ["SUCCEEDED"], finishedBefore: new Date(now) },
          { batchSize: 5 },
        ),
      ]);
      expect(pass.counts.runs + purge.runs).toBe(60);
      for (const [id, rows] of await rowsOf(store, more)) expect(rows.runs, id).toBe(0);
    } finally {
      await other.close();
    }
  });
});
