/**
 * The store side of built-ins on both backends: a `sleep` outcome parks the
 * step (QUEUED, not claimable before its timer, attempt handed back) and the
 * wake-up claim carries the timer; a `requeue` outcome hands the step back at
 * once.
 */
import { describe, expect, it } from "vitest";
import type { KyselyStore } from "../../src/store/kysely-store.js";
import { requirePostgres } from "../support/db.js";
import {
  backends,
  claimAll,
  completeAll,
  eventually,
  start,
  uniqueId,
  workflow,
  useMigratedStore,
} from "../support/execution.js";

const hasPostgres = await requirePostgres();

describe.each(backends(hasPostgres))("built-in step timers on $name", ({ skip, fresh }) => {
  let store: KyselyStore;
  useMigratedStore({ skip, fresh }, (_db, s) => (store = s));

  it.skipIf(skip)(
    "sleep parks the step until its timer, keeps the attempt count, and the wake-up claim carries the timer",
    async () => {
      const wf = workflow(uniqueId("nap"), { a: {} });
      const action = `${wf.id}.a`;
      const [runId] = await start(store, wf, [null]);
      const [task] = await claimAll(store, [action]);
      expect(task?.timerAt).toBeUndefined();
      const until = new Date(Date.now() + 400);
      await completeAll(store, [
        { taskId: task!.taskId, leaseToken: task!.leaseToken, outcome: { kind: "sleep", until } },
      ]);
      const parked = (await store.getRun(runId!))!.steps[0]!;
      expect(parked).toMatchObject({ status: "QUEUED", attempts: 0 });
      expect(await claimAll(store, [action])).toEqual([]);
      const [woken] = await eventually(
        async () => {
          const got = await claimAll(store, [action]);
          return got.length > 0 ? got : undefined;
        },
        5_000,
        "the timer",
      );
      expect(Date.now()).toBeGreaterThanOrEqual(until.getTime() - 20);
      expect(woken!.attempt).toBe(1);
      expect(woken!.timerAt?.getTime()).toBe(until.getTime());
      const history = await store.getRunHistory(runId!);
      expect(history.filter((e) => e.message?.startsWith("timer set"))).toHaveLength(1);
    },
  );

  it.skipIf(skip)("requeue hands the step back at once without using up an attempt", async () => {
    const wf = workflow(uniqueId("requeue"), { a: {} });
    const action = `${wf.id}.a`;
    const [runId] = await start(store, wf, [null]);
    const [task] = await claimAll(store, [action]);
    await completeAll(store, [
      { taskId: task!.taskId, leaseToken: task!.leaseToken, outcome: { kind: "requeue", reason: "shutdown" } },
    ]);
    const [again] = await claimAll(store, [action]);
    expect(again).toMatchObject({ attempt: 1 });
    expect(again!.timerAt).toBeUndefined();
    expect((await store.getRun(runId!))!.steps[0]!.status).toBe("RUNNING");
  });
});
