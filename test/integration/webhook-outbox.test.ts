/**
 * The run-webhook outbox on both backends: every path that finishes a run or
 * a step (completion, cancel, workflow timeout) enqueues its deliveries in
 * the same transaction; claiming leases them; each attempt lands in the
 * run's history; a delivered one is never claimed again.
 */
import { describe, expect, it } from "vitest";
import type { KyselyStore } from "../../src/store/kysely-store.js";
import { requirePostgres } from "../support/db.js";
import {
  backends,
  claimAll,
  completeAll,
  ok,
  start,
  uniqueId,
  workflow,
  useMigratedStore,
} from "../support/execution.js";

const hasPostgres = await requirePostgres();
const hooks = {
  onComplete: ["http://127.0.0.1:1/done"],
  onFailure: ["http://127.0.0.1:1/failed"],
  onStep: ["http://127.0.0.1:1/step"],
  secret: "s",
};

describe.each(backends(hasPostgres))("webhook outbox on $name", ({ skip, fresh }) => {
  let store: KyselyStore;
  useMigratedStore({ skip, fresh }, (_db, s) => (store = s));

  const drain = async () => {
    const all = [];
    for (;;) {
      const got = await store.claimWebhookDeliveries(100, 60_000);
      if (got.length === 0) return all;
      all.push(...got);
    }
  };

  it.skipIf(skip)(
    "a completed run enqueues on_step per step and on_complete, with the data the body needs",
    async () => {
      const wf = workflow(uniqueId("hooked"), { a: {}, b: { deps: ["a"] } }, { webhooks: hooks });
      const [runId] = await start(store, wf, [{ n: 1 }]);
      for (const step of ["a", "b"]) {
        const tasks = await claimAll(store, [`${wf.id}.${step}`]);
        await completeAll(
          store,
          tasks.map((t) => ok(t, { step })),
        );
      }
      const due = (await drain()).filter((d) => d.runId === runId);
      expect(due.map((d) => [d.kind, d.stepId ?? null, d.url]).sort()).toEqual([
        ["run.finished", null, "http://127.0.0.1:1/done"],
        ["step.finished", "a", "http://127.0.0.1:1/step"],
        ["step.finished", "b", "http://127.0.0.1:1/step"],
      ]);
      const done = due.find((d) => d.kind === "run.finished")!;
      expect(done).toMatchObject({
        runStatus: "SUCCEEDED",
        runOutput: { b: { step: "b" } },
        secret: "s",
        attempt: 1,
        workflowVersion: 1,
      });
      expect(due.find((d) => d.stepId === "a")).toMatchObject({
        stepStatus: "SUCCEEDED",
        stepOutput: { step: "a" },
        stepAttempt: 1,
      });

      await store.finishWebhookDelivery({
        id: done.id,
        outcome: "retry",
        retryInMs: 0,
        message: "POST … failed: ECONNREFUSED (attempt 1)",
      });
      const again = await drain();
      expect(again.map((d) => d.id)).toEqual([done.id]);
      expect(again[0]!.attempt).toBe(2);
      await store.finishWebhookDelivery({ id: done.id, outcome: "delivered", message: "POST … → 200 (attempt 2)" });
      for (const d of due.filter((x) => x.id !== done.id))
        await store.finishWebhookDelivery({ id: d.id, outcome: "delivered", message: "ok" });
      expect(await drain()).toEqual([]);
      const history = await store.getRunHistory(runId!);
      expect(history.filter((e) => e.type === "WEBHOOK").map((e) => e.message)).toEqual([
        "POST … failed: ECONNREFUSED (attempt 1)",
        "POST … → 200 (attempt 2)",
        "ok",
        "ok",
      ]);
    },
  );

  it.skipIf(skip)(
    "a cancelled run and a timed-out run enqueue theirs too (on_failure only for the timeout)",
    async () => {
      const wf = workflow(uniqueId("stopped"), { a: {} }, { webhooks: { ...hooks, onStep: [] }, timeoutMs: 50 });
      const [cancelled, timedOut] = await start(store, wf, [1, 2]);
      await store.cancelRun(cancelled!, "by test");
      await new Promise((r) => setTimeout(r, 100));
      await store.timeOutRuns(new Date(), 10);
      const due = (await drain()).filter((d) => d.runId === cancelled || d.runId === timedOut);
      expect(due.map((d) => [d.runId === cancelled ? "cancelled" : "timed out", d.kind, d.runStatus]).sort()).toEqual([
        ["cancelled", "run.finished", "CANCELLED"],
        ["timed out", "run.failed", "TIMED_OUT"],
        ["timed out", "run.finished", "TIMED_OUT"],
      ]);
    },
  );

  it.skipIf(skip)("workflows without webhooks enqueue nothing", async () => {
    const wf = workflow(uniqueId("quiet"), { a: {} });
    await start(store, wf, [null]);
    const tasks = await claimAll(store, [`${wf.id}.a`]);
    await completeAll(
      store,
      tasks.map((t) => ok(t, 1)),
    );
    expect(await drain()).toEqual([]);
  });
});
