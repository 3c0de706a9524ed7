/**
 * The hot statements stay index lookups on large tables that were never
 * analysed (autovacuum off, or not caught up yet): a throwaway database gets
 * a few hundred thousand runs and step rows with no statistics, the store
 * triggers, claims, completes, fails, cancels, retries, times out and
 * delivers webhooks and purges on it, and every statement it sent is EXPLAINed as a
 * custom plan (its parameters) and as a generic plan (a prepared statement).
 * None may scan a large table sequentially, go parallel, or cost enough to
 * be JIT-compiled. `HOT_STATEMENTS` names every statement these paths send:
 * a new one fails the test until it is named here, and checked. Reads off
 * these paths that read a whole queue or history (`readyTaskCounts`,
 * `getRunHistory`) are not among them.
 */
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/store/db/schema.js";
import { KyselyStore } from "../../src/store/kysely-store.js";
import type { ClaimedTask } from "../../src/store/types.js";
import { createTestDatabase, requirePostgres, type TestDatabase } from "../support/db.js";
import { completeAll, failed, ok, workflow } from "../support/execution.js";
import {
  eagerParallel,
  explainCustom,
  explainGeneric,
  planProblems,
  type CapturedStatement,
} from "../support/plan-shape.js";

/** Every statement of the claim, completion, trigger, stop, retry, sweeper, webhook and purge paths, by a piece of its text. */
const HOT_STATEMENTS: Record<string, RegExp> = {
  "trigger: versions of the workflows": /from "workflows" as "w" inner join "workflow_versions"/,
  "trigger: definitions not cached": /select "namespace", "workflow_id", "version", "def" from "workflow_versions"/,
  "trigger: runs, steps, history": /insert into runs \(id, namespace, workflow_id/,
  claim: /with picked as \(\s+select c\.run_id/,
  "lock runs": /from "runs" where "id" = any\(array\(.*for update$/s,
  "steps of runs": /cross join lateral \(\s+select .* from step_runs\s+where run_id = k\.r and step_id > k\.a/s,
  "lock open steps": /join step_runs s on s\.run_id = k\.r and s\.step_id = k\.s/,
  "write changes": /with step_patch as \(\s+update step_runs/,
  "get run": /select "runs"\.\*, runs\.output is not null as "has_output", jsonb_path_query_array/,
  "history after": /from "run_events" where "run_id" = \$1 and "id" > \$2/,
  "timed-out tasks": /where "status" = 'RUNNING' and "deadline_at" <= \$1/,
  "running tasks": /where "status" = 'RUNNING' and "started_at" < \$1/,
  "next due time": /select "not_before" from "step_runs" where "status" = 'QUEUED'/,
  "timed-out runs": /select "id" from "runs" where "status" in \('PENDING', 'RUNNING'\)/,
  "webhook claim": /with picked as \(\s+select id from webhook_deliveries/,
  "webhook attempt": /with upd as \(\s+update webhook_deliveries/,
  "purge: workflows and their retention": /select w\.namespace, w\.id, v\.retention_ms\s+from workflows w/,
  "purge: the retention lock": /select pg_try_advisory_xact_lock/,
  "purge: lock a batch of runs":
    /select id from runs\s+where namespace = \$1 and workflow_id = \$2.*for update skip locked/s,
  "purge: the runs' rows": /with gone as \(\s+delete from "(run_events|step_runs|webhook_deliveries)" where/,
  "purge: the runs": /with gone as \(delete from runs where id = any/,
};

/**
 * Statements that read only the small `workflows` and `workflow_versions`
 * tables, once per retention pass: a parallel plan of them (which the eager
 * settings invite even for two rows) is no problem; a large table's scan or
 * a JIT-sized cost still is.
 */
const SMALL_TABLE_READS = new Set(["purge: workflows and their retention"]);

/** Tables that grow with every run. */
const LARGE = ["runs", "step_runs", "run_events", "webhook_deliveries"];

const hasPostgres = await requirePostgres();

describe.skipIf(!hasPostgres)("hot statements on never-analysed large tables", () => {
  let testDb: TestDatabase;
  let store: KyselyStore;
  let client: pg.Client;
  let capturing = false;
  const captured: CapturedStatement[] = [];

  beforeAll(async () => {
    testDb = await createTestDatabase();
    const pool = new pg.Pool({ connectionString: testDb.url, max: 2 });
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool }),
      log: (event) => {
        const { query } = event;
        if (capturing && event.level === "query" && !/^(begin|commit|rollback)\b/i.test(query.sql))
          captured.push(query);
      },
    });
    store = new KyselyStore(db);
    await store.migrate();
    await store.createWorkflow(CHAIN);
    await store.createWorkflow(SINGLE);
    client = new pg.Client({ connectionString: testDb.url });
    await client.connect();
    await seed(client);
  }, 240_000);

  afterAll(async () => {
    await client?.end();
    await store?.close();
    await testDb?.drop();
  }, 60_000);

  it("plans every statement as index lookups, custom and generic", async () => {
    capturing = true;
    await exercise(store);
    capturing = false;

    const texts = new Map<string, CapturedStatement>();
    for (const s of captured) if (!texts.has(s.sql)) texts.set(s.sql, s);
    const names = [...texts.keys()].map((text) => {
      const matching = Object.entries(HOT_STATEMENTS).filter(([, re]) => re.test(text));
      expect(matching.length, `statement named by exactly one entry of HOT_STATEMENTS:\n${text}`).toBe(1);
      return matching[0]![0];
    });
    expect(new Set(names)).toEqual(new Set(Object.keys(HOT_STATEMENTS)));

    await eagerParallel(client);
    const jitAbove = Number((await client.query("show jit_above_cost")).rows[0].jit_above_cost);
    const problems: string[] = [];
    for (const [i, statement] of [...texts.values()].entries()) {
      for (const [mode, explain] of [
        ["custom", explainCustom],
        ["generic", explainGeneric],
      ] as const) {
        const found = planProblems(await explain(client, statement), LARGE, jitAbove).filter(
          (p) => !(SMALL_TABLE_READS.has(names[i]!) && p.startsWith("parallel ")),
        );
        if (found.length > 0) problems.push(`${names[i]} (${mode} plan): ${found.join(", ")}`);
      }
    }
    expect(problems).toEqual([]);
  }, 120_000);
});

const CHAIN = workflow(
  "plans-chain",
  { a: { timeoutMs: 60_000 }, b: { deps: ["a"] }, c: { deps: ["b"] } },
  { webhooks: { onComplete: ["http://127.0.0.1:1/done"], onFailure: [], onStep: [] } },
);
const SINGLE = workflow("plans-single", { s: { retry: { maxAttempts: 1 } } });

/**
 * 100,000 finished 3-step runs (300,000 step rows), 1,000 queued steps of
 * another action, 200,000 history events and 100,000 delivered webhooks,
 * with autovacuum off for those tables so nothing analyses them meanwhile.
 */
async function seed(client: pg.Client): Promise<void> {
  for (const table of LARGE) await client.query(`alter table ${table} set (autovacuum_enabled = false)`);
  await client.query(`
    create temp table seeded as select g, gen_random_uuid() as id from generate_series(1, 100000) g;
    insert into runs (id, namespace, workflow_id, workflow_version, status, input, output, started_at, ended_at)
    select id, 'default', 'plans-chain', 1, 'SUCCEEDED', jsonb_build_object('n', g), '{"ok": 1}', now(), now() from seeded;
    insert into step_runs (run_id, namespace, step_id, action, status, attempts, output, queued_at, started_at, ended_at, lease_token)
    select id, 'default', s, case when s = 'a' and g % 100 = 0 then 'backlog' else 'plans-chain.' || s end,
           case when s = 'a' and g % 100 = 0 then 'QUEUED' else 'SUCCEEDED' end, 1, '{"ok": 1}', now(), now(), now(), g
    from seeded cross join unnest(array['a', 'b', 'c']) s;
    insert into run_events (run_id, type, run_status) select id, t, 'SUCCEEDED' from seeded, unnest(array['RUN_STATUS', 'RUN_STATUS']) t;
    insert into webhook_deliveries (run_id, event_id, kind, url, run_status, attempts, delivered_at)
    select id, g, 'run.finished', 'http://127.0.0.1:1/done', 'SUCCEEDED', 1, now() from seeded;
  `);
}

/** Every path once: trigger, claim, complete (success, retry, failure), cancel, retry-run, sweeps, webhooks, reads. */
async function exercise(store: KyselyStore): Promise<void> {
  const trigger = async (wf: typeof CHAIN, n: number) =>
    (
      await store.triggerRuns(
        Array.from({ length: n }, (_, i) => ({ namespace: "default", workflowId: wf.id, input: { i } })),
      )
    ).map((r) => {
      if (!r.ok) throw new Error(r.message);
      return r.runId;
    });
  const chains = await trigger(CHAIN, 40);
  const singles = await trigger(SINGLE, 10);
  const claim = (actions: string[]): Promise<ClaimedTask[]> =>
    store.claimTasks({ workerId: "w1", namespace: "default", actions, limit: 100 });

  const roots = await claim(["plans-chain.a", "plans-single.s"]);
  const [failing, ...rest] = roots.filter((t) => t.action === "plans-single.s");
  const firsts = roots.filter((t) => t.action === "plans-chain.a");
  const [retried, ...others] = firsts;
  await completeAll(store, [
    failed(failing!, "BOOM", "no", false),
    failed(retried!, "FLAKY", "again", true),
    ...rest.map((t) => ok(t, { ok: 1 })),
    ...others.map((t) => ok(t, { ok: 1 })),
  ]);
  const seconds = await claim(["plans-chain.b"]);
  await completeAll(
    store,
    seconds.map((t) => ok(t, { ok: 1 })),
  );
  const thirds = await claim(["plans-chain.c"]);
  await completeAll(
    store,
    thirds.slice(1).map((t) => ok(t, { ok: 1 })),
  );

  await store.cancelRun(thirds[0]!.runId, "plan check");
  await store.retryRun(failing!.runId);
  await store.timeOutRuns(new Date(), 10);
  await store.timedOutTasks(new Date(), 10);
  await store.runningTasks({ startedBefore: new Date(), limit: 10 });
  await store.nextDueTime();
  const deliveries = await store.claimWebhookDeliveries(10, 60_000);
  await store.finishWebhookDelivery({ id: deliveries[0]!.id, outcome: "delivered", message: "ok" });
  await store.getRun(chains[1]!);
  await store.runEventsAfter(singles[1]!, 0n, 100);
  // One retention batch of 20 of the seeded runs (with their rows), and a purge by request of 20 more.
  const once = new AbortController();
  await store.retentionPass({
    now: Date.now() + 1000,
    defaultRetentionMs: 1,
    batchSize: 20,
    signal: once.signal,
    onBatch: () => once.abort(),
  });
  const finishedBefore = new Date(Date.now() + 1000);
  await store.purgeRuns({
    namespace: "default",
    workflowId: CHAIN.id,
    statuses: ["SUCCEEDED"],
    finishedBefore,
    limit: 20,
  });
}
