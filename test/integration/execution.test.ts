/**
 * The ExecutionStore contract (claim, complete, retry, cancel, signals), run
 * unchanged against a fresh Postgres database and an embedded PGlite folder.
 */
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { KyselyStore } from "../../src/store/kysely-store.js";
import type { Database } from "../../src/store/db/schema.js";
import type { ClaimedTask, RunRecord, StoreSignal } from "../../src/store/types.js";
import { requirePostgres } from "../support/db.js";
import {
  backends,
  claimAll,
  completeAll,
  eventually,
  failed,
  ok,
  start,
  uniqueId,
  useMigratedStore,
  workflow,
  type Fresh,
} from "../support/execution.js";

const hasPostgres = await requirePostgres();

function stepOf(run: RunRecord | undefined, stepId: string) {
  const step = run?.steps.find((s) => s.stepId === stepId);
  if (step === undefined) throw new Error(`no step ${stepId}`);
  return step;
}

describe.each(backends(hasPostgres))("execution on $name", ({ name, skip, fresh }) => {
  let db: Fresh;
  let store: KyselyStore;
  useMigratedStore({ skip, fresh }, (d, s) => {
    db = d;
    store = s;
  });

  it.skipIf(skip)("claims queued roots with their inputs and increasing tokens, and starts the run", async () => {
    const wf = workflow(uniqueId("claim"), {
      a: {},
      b: { input: { n: "${ input.n + 1 }", fixed: "x" }, heartbeatTimeoutMs: 2_000, timeoutMs: 60_000 },
      c: { deps: ["a", "b"] },
    });
    const [runId] = await start(store, wf, [{ n: 1 }]);
    const before = await store.getRun(runId!);
    expect(before?.status).toBe("PENDING");
    expect(before?.steps.map((s) => s.status)).toEqual(["QUEUED", "QUEUED", "PENDING"]);

    const tasks = await store.claimTasks({
      workerId: "w1",
      namespace: "default",
      actions: [`${wf.id}.a`, `${wf.id}.b`, `${wf.id}.c`],
      limit: 10,
    });
    expect(tasks).toHaveLength(2);
    const byStep = new Map(tasks.map((t) => [t.stepId, t]));
    expect(byStep.get("a")).toMatchObject({
      taskId: `${runId}/a`,
      runId,
      workflowId: wf.id,
      action: `${wf.id}.a`,
      attempt: 1,
      input: { input: { n: 1 }, steps: {} },
    });
    expect(byStep.get("a")?.deadlineAt).toBeUndefined();
    expect(byStep.get("b")).toMatchObject({ input: { n: 2, fixed: "x" }, heartbeatTimeoutMs: 2_000 });
    expect(byStep.get("b")!.deadlineAt!.getTime()).toBeGreaterThan(Date.now() + 50_000);
    expect(typeof tasks[0]!.leaseToken).toBe("bigint");
    expect(tasks[1]!.leaseToken > tasks[0]!.leaseToken).toBe(true);

    const run = await store.getRun(runId!);
    expect(run?.status).toBe("RUNNING");
    expect(run?.startedAt).toBeInstanceOf(Date);
    expect(stepOf(run, "a")).toMatchObject({ status: "RUNNING", attempts: 1, workerId: "w1" });
    const history = await store.getRunHistory(runId!);
    expect(history.filter((e) => e.type === "RUN_STATUS").map((e) => e.runStatus)).toEqual(["PENDING", "RUNNING"]);
    expect(history.filter((e) => e.stepStatus === "RUNNING").map((e) => [e.stepId, e.attempt, e.workerId])).toEqual([
      ["a", 1, "w1"],
      ["b", 1, "w1"],
    ]);
    expect(
      await store.claimTasks({
        workerId: "w1",
        namespace: "default",
        actions: [`${wf.id}.a`, `${wf.id}.b`],
        limit: 10,
      }),
    ).toEqual([]);

    // Later claims get larger tokens.
    const [next] = await start(store, wf, [{ n: 5 }]);
    const more = await store.claimTasks({ workerId: "w2", namespace: "default", actions: [`${wf.id}.a`], limit: 10 });
    expect(more.map((t) => t.runId)).toEqual([next]);
    expect(more[0]!.leaseToken > tasks[1]!.leaseToken).toBe(true);
  });

  it.skipIf(skip)("respects the claim limit and the action filter, oldest first", async () => {
    const a = workflow(uniqueId("lim-a"), { s: {} });
    const b = workflow(uniqueId("lim-b"), { s: {} });
    const runsA = await start(store, a, [1, 2, 3, 4, 5]);
    await start(store, b, [1, 2, 3]);
    expect(await store.claimTasks({ workerId: "w", namespace: "default", actions: [], limit: 10 })).toEqual([]);
    expect(await store.claimTasks({ workerId: "w", namespace: "default", actions: [`${a.id}.s`], limit: 0 })).toEqual(
      [],
    );
    const first = await store.claimTasks({ workerId: "w", namespace: "default", actions: [`${a.id}.s`], limit: 2 });
    expect(first.map((t) => t.runId).sort()).toEqual(runsA.slice(0, 2).sort());
    const rest = await store.claimTasks({
      workerId: "w",
      namespace: "default",
      actions: [`${a.id}.s`, "no.such.action"],
      limit: 10,
    });
    expect(rest.map((t) => t.runId).sort()).toEqual(runsA.slice(2).sort());
    const fromB = await store.claimTasks({ workerId: "w", namespace: "default", actions: [`${b.id}.s`], limit: 10 });
    expect(fromB.every((t) => t.action === `${b.id}.s`)).toBe(true);
    expect(fromB).toHaveLength(3);
  });

  it.skipIf(skip)("never hands one task to two concurrent claimers", { timeout: 60_000 }, async () => {
    const wf = workflow(uniqueId("race"), { s: {} });
    await start(
      store,
      wf,
      Array.from({ length: 200 }, (_, i) => i),
    );
    const claimer = async (workerId: string) => {
      const got: ClaimedTask[] = [];
      for (;;) {
        const batch = await store.claimTasks({ workerId, namespace: "default", actions: [`${wf.id}.s`], limit: 7 });
        if (batch.length === 0) return got;
        got.push(...batch);
      }
    };
    const results = await Promise.all(["c1", "c2", "c3", "c4"].map(claimer));
    const ids = results.flat().map((t) => t.taskId);
    expect(ids).toHaveLength(200);
    expect(new Set(ids).size).toBe(200);
    const tokens = results.flat().map((t) => t.leaseToken);
    expect(new Set(tokens).size).toBe(200);
    if (name === "postgres") expect(results.filter((r) => r.length > 0).length).toBeGreaterThan(1);
  });

  it.skipIf(skip)("queues dependents with the rendered default input and finishes the run", async () => {
    const wf = workflow(uniqueId("chain"), {
      a: {},
      b: { deps: ["a"] },
      c: { deps: ["b"], input: { total: "${ steps.b.sum * 2 }" } },
    });
    const [runId] = await start(store, wf, [{ k: "v" }]);
    const [a] = await store.claimTasks({ workerId: "w1", namespace: "default", actions: [`${wf.id}.a`], limit: 1 });
    expect(await completeAll(store, [ok(a!, { x: 1 })])).toEqual([{ taskId: a!.taskId, accepted: true }]);

    let run = await store.getRun(runId!);
    expect(stepOf(run, "a")).toMatchObject({ status: "SUCCEEDED", output: { x: 1 }, attempts: 1 });
    expect(stepOf(run, "a").endedAt).toBeInstanceOf(Date);
    expect(stepOf(run, "b")).toMatchObject({ status: "QUEUED" });
    const [b] = await store.claimTasks({ workerId: "w1", namespace: "default", actions: [`${wf.id}.b`], limit: 1 });
    expect(b?.input).toEqual({ input: { k: "v" }, steps: { a: { x: 1 } } });
    await completeAll(store, [ok(b!, { sum: 21 })]);
    const [c] = await store.claimTasks({ workerId: "w1", namespace: "default", actions: [`${wf.id}.c`], limit: 1 });
    expect(c?.input).toEqual({ total: 42 });
    await completeAll(store, [ok(c!, null)]);

    run = await store.getRun(runId!);
    expect(run).toMatchObject({ status: "SUCCEEDED", output: { c: null } });
    expect(run?.endedAt).toBeInstanceOf(Date);
    expect(stepOf(run, "c")).toMatchObject({ status: "SUCCEEDED", output: null });
    const history = await store.getRunHistory(runId!);
    expect(history.at(-1)).toMatchObject({ type: "RUN_STATUS", runStatus: "SUCCEEDED" });
  });

  it.skipIf(skip)(
    "queues a fan-in exactly once when both branches complete concurrently",
    { timeout: 60_000 },
    async () => {
      const wf = workflow(uniqueId("diamond"), {
        a: {},
        b: { deps: ["a"] },
        c: { deps: ["a"] },
        d: { deps: ["b", "c"] },
      });
      const runIds = await start(
        store,
        wf,
        Array.from({ length: 30 }, (_, i) => i),
      );
      const as = await claimAll(store, [`${wf.id}.a`]);
      await completeAll(
        store,
        as.map((t) => ok(t, "a")),
      );
      const bs = await claimAll(store, [`${wf.id}.b`]);
      const cs = await claimAll(store, [`${wf.id}.c`]);
      expect(bs).toHaveLength(30);
      expect(cs).toHaveLength(30);
      // Each run's b and c complete in different transactions at the same time (interleaved, several batches each).
      const batches = [];
      for (let i = 0; i < 30; i += 5) {
        batches.push(
          completeAll(
            store,
            bs.slice(i, i + 5).map((t) => ok(t, "b")),
          ),
        );
        batches.push(
          completeAll(
            store,
            cs.slice(i, i + 5).map((t) => ok(t, "c")),
          ),
        );
      }
      await Promise.all(batches);

      const ds = await claimAll(store, [`${wf.id}.d`]);
      expect(ds.map((t) => t.runId).sort()).toEqual([...runIds].sort());
      for (const d of ds) expect(d.input).toMatchObject({ steps: { b: "b", c: "c" } });
      for (const runId of runIds) {
        const queued = (await store.getRunHistory(runId)).filter((e) => e.stepId === "d" && e.stepStatus === "QUEUED");
        expect(queued).toHaveLength(1);
      }
    },
  );

  it.skipIf(skip)("refuses a stale token without changing the step", async () => {
    const wf = workflow(uniqueId("stale"), { a: {}, b: { deps: ["a"] } });
    const [runId] = await start(store, wf, [null]);
    const [task] = await store.claimTasks({ workerId: "w1", namespace: "default", actions: [`${wf.id}.a`], limit: 1 });
    const wrong = { ...ok(task!, "nope", "w-old"), leaseToken: task!.leaseToken + 1000n };
    const [result] = await store.completeTasks([wrong]);
    expect(result).toMatchObject({ taskId: task!.taskId, accepted: false });
    expect(result?.reason).toMatch(/stale/);
    expect(stepOf(await store.getRun(runId!), "a")).toMatchObject({ status: "RUNNING", attempts: 1 });
    const stale = (await store.getRunHistory(runId!)).filter((e) => e.type === "STALE_RESULT");
    expect(stale).toHaveLength(1);
    expect(stale[0]).toMatchObject({ stepId: "a", attempt: 1, workerId: "w-old" });
    expect(stale[0]?.message).toMatch(/lease token/);

    // The same result twice in one batch: the first counts, the second is stale.
    const twice = await store.completeTasks([ok(task!, 1), ok(task!, 2)]);
    expect(twice.map((r) => r.accepted)).toEqual([true, false]);
    expect(stepOf(await store.getRun(runId!), "a").output).toBe(1);
    // And again later.
    expect((await store.completeTasks([ok(task!, 3)]))[0]?.accepted).toBe(false);
    // Malformed and unknown task ids are refused, not errors.
    const odd = await store.completeTasks([
      { taskId: "not-a-task", leaseToken: 1n, outcome: { kind: "output", output: 1 } },
      { taskId: "0190b5a4-0000-7000-8000-000000000000/a", leaseToken: 1n, outcome: { kind: "output", output: 1 } },
      { taskId: `${runId}/zzz`, leaseToken: 1n, outcome: { kind: "output", output: 1 } },
    ]);
    expect(odd.map((r) => r.accepted)).toEqual([false, false, false]);
  });

  it.skipIf(skip)("retries with a durable backoff, then fails the step and the run", { timeout: 30_000 }, async () => {
    const wf = workflow(uniqueId("retry"), {
      // Long enough that a loaded machine still reads the step before the retry is due.
      a: { retry: { maxAttempts: 3, initialIntervalMs: 1_500, backoffCoefficient: 1, maxIntervalMs: 2_000 } },
      b: { deps: ["a"] },
    });
    const [runId] = await start(store, wf, [null]);
    const action = `${wf.id}.a`;
    let [task] = await store.claimTasks({ workerId: "w1", namespace: "default", actions: [action], limit: 1 });
    for (let attempt = 1; attempt <= 2; attempt++) {
      expect(task?.attempt).toBe(attempt);
      const failedAt = Date.now();
      expect((await store.completeTasks([failed(task!, "HTTP_503", `try ${attempt}`)]))[0]?.accepted).toBe(true);
      const step = stepOf(await store.getRun(runId!), "a");
      expect(step).toMatchObject({
        status: "QUEUED",
        attempts: attempt,
        error: { type: "HTTP_503", message: `try ${attempt}` },
      });
      const row = await store.db
        .selectFrom("step_runs")
        .select(["not_before", "lease_token"])
        .where("run_id", "=", runId!)
        .where("step_id", "=", "a")
        .executeTakeFirstOrThrow();
      expect(row.lease_token).toBeNull();
      expect(row.not_before!.getTime()).toBeGreaterThanOrEqual(failedAt + 1_500 - 50);
      const due = await store.nextDueTime();
      expect(due).toBeInstanceOf(Date);
      // Not claimable before it is due.
      expect(await store.claimTasks({ workerId: "w1", namespace: "default", actions: [action], limit: 1 })).toEqual([]);
      [task] = await eventually(
        async () => {
          const got = await store.claimTasks({ workerId: "w1", namespace: "default", actions: [action], limit: 1 });
          return got.length > 0 ? got : undefined;
        },
        5_000,
        "the retry to become due",
      );
      expect(Date.now()).toBeGreaterThanOrEqual(row.not_before!.getTime() - 50);
    }
    expect(task?.attempt).toBe(3);
    await store.completeTasks([failed(task!, "HTTP_503", "last")]);
    const run = await store.getRun(runId!);
    expect(stepOf(run, "a")).toMatchObject({
      status: "FAILED",
      attempts: 3,
      error: { type: "HTTP_503", message: "last" },
    });
    expect(stepOf(run, "b").status).toBe("SKIPPED");
    expect(run).toMatchObject({ status: "FAILED", error: { type: "HTTP_503" } });
    const history = await store.getRunHistory(runId!);
    expect(history.filter((e) => e.stepId === "a" && e.stepStatus === "QUEUED").map((e) => e.error?.message)).toEqual([
      undefined,
      "try 1",
      "try 2",
    ]);
  });

  it.skipIf(skip)("fails at once for non-retryable errors", async () => {
    const wf = workflow(uniqueId("fatal"), {
      a: { retry: { maxAttempts: 5, initialIntervalMs: 10, nonRetryableErrors: ["FATAL"] } },
      b: { retry: { maxAttempts: 5, initialIntervalMs: 10 } },
    });
    const [runId] = await start(store, wf, [null]);
    const tasks = await claimAll(store, [`${wf.id}.a`, `${wf.id}.b`]);
    const a = tasks.find((t) => t.stepId === "a")!;
    const b = tasks.find((t) => t.stepId === "b")!;
    await completeAll(store, [failed(a, "FATAL"), failed(b, "OTHER", "no", false)]);
    const run = await store.getRun(runId!);
    expect(stepOf(run, "a")).toMatchObject({ status: "FAILED", attempts: 1 });
    expect(stepOf(run, "b")).toMatchObject({ status: "FAILED", attempts: 1, error: { retryable: false } });
    expect(run?.status).toBe("FAILED");
  });

  it.skipIf(skip)("fails a step whose output holds NUL instead of failing the write", async () => {
    const wf = workflow(uniqueId("nul"), { a: {}, b: {}, after: { deps: ["a"] } });
    const [runId] = await start(store, wf, [null]);
    const tasks = await claimAll(store, [`${wf.id}.a`, `${wf.id}.b`]);
    const a = tasks.find((t) => t.stepId === "a")!;
    const b = tasks.find((t) => t.stepId === "b")!;
    const results = await store.completeTasks([ok(a, { list: ["fine", "bad\u0000"] }), ok(b, { fine: true })]);
    expect(results.map((r) => r.accepted)).toEqual([true, true]);
    const run = await store.getRun(runId!);
    expect(stepOf(run, "a")).toMatchObject({ status: "FAILED", error: { type: "INVALID_OUTPUT" } });
    expect(stepOf(run, "a").error?.message).toContain("output.list[1]");
    expect(stepOf(run, "b")).toMatchObject({ status: "SUCCEEDED", output: { fine: true } });
    expect(stepOf(run, "after").status).toBe("SKIPPED");
    expect(run?.status).toBe("FAILED");

    // An error message with NUL, and a NUL in a rendered input.
    const wf2 = workflow(uniqueId("nul2"), {
      a: { retry: { maxAttempts: 3 } },
      b: { deps: ["a"], input: { s: "${ 'x\\u0000y' }" } },
    });
    const [run2] = await start(store, wf2, [null]);
    const [t2] = await store.claimTasks({ workerId: "w1", namespace: "default", actions: [`${wf2.id}.a`], limit: 1 });
    await completeAll(store, [failed(t2!, "E", "bad\u0000message")]);
    expect(stepOf(await store.getRun(run2!), "a")).toMatchObject({
      status: "FAILED",
      error: { type: "INVALID_OUTPUT" },
    });
    const [run3] = await store
      .triggerRuns([{ namespace: "default", workflowId: wf2.id, input: null }])
      .then((r) => r.map((x) => (x.ok ? x.runId : "")));
    const [t3] = await store.claimTasks({ workerId: "w1", namespace: "default", actions: [`${wf2.id}.a`], limit: 1 });
    await completeAll(store, [ok(t3!, 1)]);
    const finished = await store.getRun(run3!);
    expect(stepOf(finished, "b")).toMatchObject({ status: "FAILED", error: { type: "INVALID_INPUT" } });
    expect(finished?.status).toBe("FAILED");
  });

  it.skipIf(skip)("settles runs at trigger time when the plan decides everything", async () => {
    const skipAll = workflow(uniqueId("skip"), { a: { when: "input.go" }, b: { deps: ["a"] } });
    const [skipped, going] = await start(store, skipAll, [{ go: false }, { go: true }]);
    const run = await store.getRun(skipped!);
    expect(run).toMatchObject({ status: "SUCCEEDED", output: {} });
    expect(run?.endedAt).toBeInstanceOf(Date);
    expect(run?.steps.map((s) => s.status)).toEqual(["SKIPPED", "SKIPPED"]);
    expect((await store.getRunHistory(skipped!)).map((e) => e.runStatus ?? e.stepStatus)).toEqual([
      "PENDING",
      "SKIPPED",
      "SKIPPED",
      "SUCCEEDED",
    ]);
    expect((await store.getRun(going!))?.status).toBe("PENDING");

    const broken = workflow(uniqueId("broken"), { a: { input: { x: "${ input.missing.deeper }" } } });
    const [brokenRun] = await start(store, broken, [{}]);
    const failedRun = await store.getRun(brokenRun!);
    expect(failedRun?.status).toBe("FAILED");
    expect(stepOf(failedRun, "a")).toMatchObject({ status: "FAILED", error: { type: "EXPRESSION_ERROR" } });
  });

  it.skipIf(skip)("cancels a run: running tasks returned, their late results stale", async () => {
    const wf = workflow(uniqueId("cancel"), { a: {}, b: {}, c: { deps: ["a"] } });
    const [runId] = await start(store, wf, [null]);
    const [a] = await store.claimTasks({ workerId: "w9", namespace: "default", actions: [`${wf.id}.a`], limit: 1 });
    const seen: StoreSignal[] = [];
    const off = await store.onSignal((s) => seen.push(s));
    const result = await store.cancelRun(runId!, "stop\u0000it");
    off();
    expect(result?.running).toEqual([{ taskId: a!.taskId, workerId: "w9", leaseToken: a!.leaseToken }]);
    expect(result?.run).toMatchObject({ status: "CANCELLED", error: { type: "CANCELLED", message: "stop\uFFFDit" } });
    expect(result?.run.steps.map((s) => s.status)).toEqual(["CANCELLED", "CANCELLED", "CANCELLED"]);
    expect(seen).toContainEqual({ kind: "cancel", tasks: result!.running, reason: "stop\uFFFDit" });
    expect(seen).toContainEqual({ kind: "run", runIds: [runId] });
    // b was QUEUED: it is gone from the queue.
    expect(await store.claimTasks({ workerId: "w1", namespace: "default", actions: [`${wf.id}.b`], limit: 5 })).toEqual(
      [],
    );
    const [late] = await store.completeTasks([ok(a!, "too late")]);
    expect(late?.accepted).toBe(false);
    expect(stepOf(await store.getRun(runId!), "a")).toMatchObject({ status: "CANCELLED" });
    // Cancelling again changes nothing.
    const again = await store.cancelRun(runId!, "again");
    expect(again?.running).toEqual([]);
    expect(again?.run.error?.message).toBe("stop\uFFFDit");
    expect(await store.cancelRun("0190b5a4-0000-7000-8000-000000000000", "x")).toBeUndefined();
    expect(await store.cancelRun("nope", "x")).toBeUndefined();
  });

  it.skipIf(skip)("retries a failed run keeping the succeeded steps", async () => {
    const wf = workflow(uniqueId("rerun"), { a: {}, b: { deps: ["a"] }, c: { deps: ["b"] } });
    const [runId] = await start(store, wf, [{ v: 1 }]);
    const [a] = await store.claimTasks({ workerId: "w1", namespace: "default", actions: [`${wf.id}.a`], limit: 1 });
    await completeAll(store, [ok(a!, { a: true })]);
    const [b] = await store.claimTasks({ workerId: "w1", namespace: "default", actions: [`${wf.id}.b`], limit: 1 });
    expect(await store.retryRun(runId!)).toEqual({ error: "NOT_FINISHED" });
    await completeAll(store, [failed(b!, "BAD")]);
    let run = await store.getRun(runId!);
    expect(run?.status).toBe("FAILED");
    expect(run?.steps.map((s) => s.status)).toEqual(["SUCCEEDED", "FAILED", "SKIPPED"]);

    const retried = await store.retryRun(runId!);
    if ("error" in retried) throw new Error(retried.error);
    expect(retried.run).toMatchObject({ status: "RUNNING" });
    expect(retried.run.endedAt).toBeUndefined();
    expect(retried.run.error).toBeUndefined();
    expect(retried.run.steps.map((s) => [s.status, s.attempts])).toEqual([
      ["SUCCEEDED", 1],
      ["QUEUED", 0],
      ["PENDING", 0],
    ]);
    expect(stepOf(retried.run, "a").output).toEqual({ a: true });
    expect(stepOf(retried.run, "b").error).toBeUndefined();
    const [b2] = await store.claimTasks({ workerId: "w1", namespace: "default", actions: [`${wf.id}.b`], limit: 1 });
    expect(b2).toMatchObject({ attempt: 1, input: { input: { v: 1 }, steps: { a: { a: true } } } });
    // The old attempt's token is stale.
    expect((await store.completeTasks([ok(b!, "old")]))[0]?.accepted).toBe(false);
    await completeAll(store, [ok(b2!, "b")]);
    const [c] = await store.claimTasks({ workerId: "w1", namespace: "default", actions: [`${wf.id}.c`], limit: 1 });
    await completeAll(store, [ok(c!, "c")]);
    run = await store.getRun(runId!);
    expect(run).toMatchObject({ status: "SUCCEEDED", output: { c: "c" } });
    expect(await store.retryRun(runId!)).toEqual({ error: "SUCCEEDED" });
    expect(await store.retryRun("0190b5a4-0000-7000-8000-000000000000")).toEqual({ error: "NOT_FOUND" });
    expect(await store.retryRun("nope")).toEqual({ error: "NOT_FOUND" });

    // A cancelled run is retried from its cancelled steps.
    const [other] = await start(store, wf, [{ v: 2 }]);
    await store.cancelRun(other!, "stop");
    const again = await store.retryRun(other!);
    if ("error" in again) throw new Error(again.error);
    expect(again.run.steps.map((s) => s.status)).toEqual(["QUEUED", "PENDING", "PENDING"]);
  });

  it.skipIf(skip)("times out runs past their workflow timeout, and retries them with a fresh deadline", async () => {
    const wf = workflow(uniqueId("run-timeout"), { a: {}, b: {}, c: { deps: ["a", "b"] } }, { timeoutMs: 80 });
    const [runId, untouched] = await start(store, wf, [1, 2]);
    const [a] = await store.claimTasks({ workerId: "w5", namespace: "default", actions: [`${wf.id}.a`], limit: 1 });
    expect(a?.runId).toBe(runId);
    expect((await store.timeOutRuns(new Date(Date.now() - 60_000), 100)).runIds).not.toContain(runId);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const cancelledUntouched = await store.cancelRun(untouched!, "not this one");
    expect(cancelledUntouched?.run.status).toBe("CANCELLED");

    const { runIds, running } = await store.timeOutRuns(new Date(), 100);
    expect(runIds).toContain(runId);
    expect(runIds).not.toContain(untouched);
    expect(running).toContainEqual({ taskId: a!.taskId, workerId: "w5", leaseToken: a!.leaseToken });
    const run = await store.getRun(runId!);
    expect(run).toMatchObject({ status: "TIMED_OUT", error: { type: "TIMED_OUT" } });
    expect(run?.steps.map((s) => s.status)).toEqual(["CANCELLED", "CANCELLED", "CANCELLED"]);
    expect((await store.completeTasks([ok(a!, 1)]))[0]?.accepted).toBe(false);
    expect((await store.timeOutRuns(new Date(), 100)).runIds).not.toContain(runId);

    const retried = await store.retryRun(runId!);
    if ("error" in retried) throw new Error(retried.error);
    expect(retried.run.status).toBe("RUNNING");
    expect(retried.run.deadlineAt!.getTime()).toBeGreaterThan(run!.deadlineAt!.getTime());
  });

  it.skipIf(skip)("pages a run's events after an id", async () => {
    const wf = workflow(uniqueId("events"), { a: {}, b: {}, c: {} });
    const [runId] = await start(store, wf, [null]);
    await claimAll(store, [`${wf.id}.a`, `${wf.id}.b`, `${wf.id}.c`]);
    const all = await store.getRunHistory(runId!);
    expect(all.length).toBe(8);
    const paged = [];
    let after = 0n;
    for (;;) {
      const page = await store.runEventsAfter(runId!, after, 3);
      if (page.length === 0) break;
      expect(page.length).toBeLessThanOrEqual(3);
      paged.push(...page);
      after = page.at(-1)!.id;
    }
    expect(paged).toEqual(all);
    expect(await store.runEventsAfter(runId!, all.at(-1)!.id, 10)).toEqual([]);
    expect(await store.runEventsAfter("nope", 0n, 10)).toEqual([]);
  });

  it.skipIf(skip)("lists timed-out and running tasks", async () => {
    const wf = workflow(uniqueId("timeout"), { quick: { timeoutMs: 50 }, slow: { timeoutMs: 600_000 }, none: {} });
    await start(store, wf, [null]);
    const tasks = await claimAll(store, [`${wf.id}.quick`, `${wf.id}.slow`, `${wf.id}.none`], "wt");
    const quick = tasks.find((t) => t.stepId === "quick")!;
    await new Promise((resolve) => setTimeout(resolve, 120));
    const late = await store.timedOutTasks(new Date(), 1000);
    expect(late).toContainEqual({ taskId: quick.taskId, workerId: "wt", leaseToken: quick.leaseToken });
    expect(late.map((t) => t.taskId)).not.toContain(tasks.find((t) => t.stepId === "slow")!.taskId);

    const ours = new Set(tasks.map((t) => t.taskId));
    const seen: string[] = [];
    let afterTaskId: string | undefined;
    for (;;) {
      const page = await store.runningTasks({ startedBefore: new Date(Date.now() + 1000), limit: 2, afterTaskId });
      if (page.length === 0) break;
      seen.push(...page.map((t) => t.taskId));
      afterTaskId = page.at(-1)!.taskId;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => ours.has(id)).sort()).toEqual([...ours].sort());
    expect(await store.runningTasks({ startedBefore: new Date(0), limit: 10 })).toEqual([]);
    // Timing out goes through the retry policy like any error.
    await completeAll(store, [failed(quick, "TIMEOUT", "the step's timeout passed")]);
    expect((await store.timedOutTasks(new Date(), 1000)).map((t) => t.taskId)).not.toContain(quick.taskId);
  });

  it.skipIf(skip)("signals its own listeners after each mutation", async () => {
    const seen: StoreSignal[] = [];
    const off = await store.onSignal((s) => seen.push(s));
    const wf = workflow(uniqueId("sig"), { a: {}, b: { deps: ["a"] } });
    const [runId] = await start(store, wf, [null]);
    // `queued` names the actions of the steps it queued: dispatchers of other actions stay asleep.
    expect(seen).toEqual([
      { kind: "queued", actions: [`${wf.id}.a`] },
      { kind: "run", runIds: [runId] },
    ]);
    seen.length = 0;
    const [a] = await store.claimTasks({ workerId: "w1", namespace: "default", actions: [`${wf.id}.a`], limit: 1 });
    expect(seen).toEqual([{ kind: "run", runIds: [runId] }]);
    seen.length = 0;
    await completeAll(store, [ok(a!, 1)]);
    expect(seen).toEqual([
      { kind: "queued", actions: [`${wf.id}.b`] },
      { kind: "run", runIds: [runId] },
    ]);
    seen.length = 0;
    await store.signal({ kind: "cancel", tasks: [{ taskId: "t", leaseToken: 12345678901234567890n }], reason: "r" });
    expect(seen).toEqual([
      { kind: "cancel", tasks: [{ taskId: "t", leaseToken: 12345678901234567890n }], reason: "r" },
    ]);
    off();
    await store.signal({ kind: "queued" });
    expect(seen).toHaveLength(1);
  });

  // Replicas share a Postgres server; PGlite is single-process, so this runs on Postgres only.
  if (name === "postgres") {
    it.skipIf(skip)(
      "carries signals to another replica over NOTIFY, also after the listener drops",
      { timeout: 60_000 },
      async () => {
        const replica = await db.open();
        try {
          const seen: StoreSignal[] = [];
          await replica.onSignal((s) => seen.push(s));
          const wf = workflow(uniqueId("notify"), { a: {} });
          const [runId] = await start(store, wf, [null]);
          await eventually(
            () =>
              seen.some((s) => s.kind === "queued") && seen.some((s) => s.kind === "run" && s.runIds.includes(runId!))
                ? true
                : undefined,
            5_000,
            "queued and run signals",
          );
          expect(seen.find((s) => s.kind === "queued")).toEqual({ kind: "queued", actions: [`${wf.id}.a`] });
          await store.claimTasks({ workerId: "w1", namespace: "default", actions: [`${wf.id}.a`], limit: 1 });
          await eventually(
            () => (seen.filter((s) => s.kind === "run" && s.runIds.includes(runId!)).length >= 2 ? true : undefined),
            5_000,
            "the claim's run signal",
          );

          // Many run ids: split into payloads under the NOTIFY limit, all delivered.
          const many = Array.from({ length: 1000 }, (_, i) => `00000000-0000-7000-8000-${String(i).padStart(12, "0")}`);
          await store.signal({ kind: "run", runIds: many });
          await eventually(
            () => {
              const got = new Set(seen.flatMap((s) => (s.kind === "run" ? s.runIds : [])));
              return many.every((id) => got.has(id)) ? true : undefined;
            },
            5_000,
            "1000 run ids",
          );
          const token = 2n ** 62n;
          await store.signal({
            kind: "cancel",
            tasks: [{ taskId: "x/y", workerId: "w", leaseToken: token }],
            reason: "why",
          });
          await eventually(
            () => (seen.some((s) => s.kind === "cancel" && s.tasks[0]?.leaseToken === token) ? true : undefined),
            5_000,
            "cancel",
          );
          // A `queued` signal whose actions do not fit one payload names none: every dispatcher looks.
          seen.length = 0;
          await store.signal({
            kind: "queued",
            actions: Array.from({ length: 400 }, (_, i) => `${wf.id}.action-${String(i).padStart(4, "0")}`),
          });
          await store.signal({ kind: "queued", actions: ["few"] });
          await eventually(
            () => (seen.filter((s) => s.kind === "queued").length >= 2 ? true : undefined),
            5_000,
            "two queued signals",
          );
          expect(seen.filter((s) => s.kind === "queued")).toEqual([
            { kind: "queued" },
            { kind: "queued", actions: ["few"] },
          ]);

          // Kill the replica's LISTEN connection: it reconnects, wakes everyone, and hears new signals.
          const admin = new pg.Client(db.url);
          await admin.connect();
          try {
            const killed = await admin.query(
              "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query ilike 'LISTEN%' and pid <> pg_backend_pid()",
            );
            expect(killed.rowCount).toBeGreaterThanOrEqual(1);
          } finally {
            await admin.end();
          }
          seen.length = 0;
          await eventually(
            () => (seen.some((s) => s.kind === "run" && s.runIds.length === 0) ? true : undefined),
            10_000,
            "the wake-all after reconnecting",
          );
          const [second] = await start(store, wf, [null]);
          await eventually(
            () => (seen.some((s) => s.kind === "run" && s.runIds.includes(second!)) ? true : undefined),
            5_000,
            "a signal after reconnecting",
          );
        } finally {
          await replica.close();
        }
      },
    );
  }

  it.skipIf(skip)("measures claim and complete throughput (report, not a limit)", { timeout: 300_000 }, async () => {
    // A store counting the statements it sends (Kysely logs BEGIN and COMMIT too: every round trip counts).
    let statements = 0;
    const log = () => void statements++;
    // PGlite allows one handle per folder: there, measure on the suite's store (statements not counted).
    const counting =
      name === "postgres"
        ? new KyselyStore(
            new Kysely<Database>({
              dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: db.url!, max: 4 }) }),
              log,
            }),
          )
        : store;
    try {
      const wf = workflow(uniqueId("bench"), { s: {} });
      await counting.createWorkflow(wf);
      const action = `${wf.id}.s`;
      const n = 2_000;
      const beforeTrigger = statements;
      let t0 = performance.now();
      const triggered = await counting.triggerRuns(
        Array.from({ length: n }, (_, i) => ({ namespace: "default", workflowId: wf.id, input: { i } })),
      );
      const triggerMs = performance.now() - t0;
      const triggerStatements = statements - beforeTrigger;
      expect(triggered.every((r) => r.ok)).toBe(true);

      let claimStatements = 0;
      let completeStatements = 0;
      let batches = 0;
      let done = 0;
      t0 = performance.now();
      for (;;) {
        let before = statements;
        const tasks = await counting.claimTasks({
          workerId: "bench",
          namespace: "default",
          actions: [action],
          limit: 100,
        });
        claimStatements += statements - before;
        if (tasks.length === 0) break;
        before = statements;
        await counting.completeTasks(tasks.map((t) => ok(t, { ok: true })));
        completeStatements += statements - before;
        batches++;
        done += tasks.length;
      }
      const loopMs = performance.now() - t0;
      expect(done).toBe(n);
      const perBatch =
        name === "postgres"
          ? `trigger ${triggerStatements} round trips; claim ${(claimStatements / (batches + 1)).toFixed(1)} statement(s), complete ${(completeStatements / batches).toFixed(1)} round trips incl. BEGIN/COMMIT`
          : "(not counted on PGlite)";
      console.log(
        `[throughput ${name}] trigger ${n} runs in one batch: ${triggerMs.toFixed(0)} ms (${((n / triggerMs) * 1000).toFixed(0)} runs/s); ` +
          `claim+complete ${n} steps in batches of 100: ${loopMs.toFixed(0)} ms = ${((n / loopMs) * 1000).toFixed(0)} steps/s; per batch: ${perBatch}`,
      );
      const runs = await counting.listRuns({
        namespace: "default",
        workflowId: wf.id,
        status: "SUCCEEDED",
        pageSize: 1000,
      });
      expect(runs.items).toHaveLength(1000);
    } finally {
      if (counting !== store) await counting.close();
    }
  });
});
