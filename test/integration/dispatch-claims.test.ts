/**
 * How often the dispatcher claims (src/dispatch/dispatcher.ts), against a
 * real store on each backend: a trickle of runs must cost about one claim
 * per action set and wake-up, not one per session and freed slot, and none
 * for sessions of other actions; a backlog must still be claimed by every
 * session of the action set.
 */
import { describe, expect, it } from "vitest";
import { createDispatcher } from "../../src/dispatch/dispatcher.js";
import { DEFAULT_DISPATCH_OPTIONS } from "../../src/dispatch/options.js";
import { WorkerSession, type Outgoing } from "../../src/dispatch/session.js";
import { createMemoryLeaseStore } from "../../src/leases/index.js";
import { createLogger } from "../../src/log.js";
import type { KyselyStore } from "../../src/store/kysely-store.js";
import type { ClaimedTask } from "../../src/store/types.js";
import { requirePostgres } from "../support/db.js";
import { backends, ok, uniqueId, useMigratedStore, workflow } from "../support/execution.js";

const hasPostgres = await requirePostgres();

/** The store with its claims counted (and the claimers' actions, one entry per claim). */
function countingClaims(store: KyselyStore): { store: KyselyStore; claims: () => number; claimed: string[][] } {
  let claims = 0;
  const claimed: string[][] = [];
  const counted = new Proxy(store, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (prop === "claimTasks") {
        return (...args: unknown[]) => {
          claims++;
          claimed.push((args[0] as { actions: string[] }).actions);
          return fn.apply(target, args);
        };
      }
      return fn.bind(target);
    },
  });
  return { store: counted, claims: () => claims, claimed };
}

/** Tasks pushed to any of the sessions, in arrival order. */
function taskReader(sessions: WorkerSession[]): () => Promise<{ session: WorkerSession; task: ClaimedTask }> {
  const iterators = sessions.map((s) => s.outbox[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<{ i: number; r: IteratorResult<Outgoing> }>>();
  return async () => {
    for (;;) {
      iterators.forEach((it, i) => {
        if (!pending.has(i))
          pending.set(
            i,
            it.next().then((r) => ({ i, r })),
          );
      });
      const { i, r } = await Promise.race(pending.values());
      pending.delete(i);
      if (!r.done && r.value.kind === "task") return { session: sessions[i]!, task: r.value.task };
    }
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(backends(hasPostgres))("dispatcher claims on $name", ({ skip, fresh }) => {
  let store: KyselyStore;
  useMigratedStore({ skip, fresh }, (_db, s) => (store = s));

  function setUp(action: string) {
    const counted = countingClaims(store);
    const dispatcher = createDispatcher({
      store: counted.store,
      leases: createMemoryLeaseStore(),
      logger: createLogger({ level: "silent" }),
      // No sweeper wake-ups during the test; claims in flight as on Postgres.
      options: { ...DEFAULT_DISPATCH_OPTIONS, sweepIntervalMs: 60_000, claimConcurrency: 2 },
    });
    // Two streams of one worker pool, and a session of other actions (like the built-in runner).
    const workers = [
      new WorkerSession("s1", "pool", [action], 10, {}, "default"),
      new WorkerSession("s2", "pool", [action], 10, {}, "default"),
    ];
    const others = new WorkerSession("s3", "other", [`${action}.other`], 10, {}, "default");
    return { ...counted, dispatcher, workers, others };
  }

  it.skipIf(skip)(
    "claims about once per action set for a trickle of runs, not once per session and freed slot",
    { timeout: 30_000 },
    async () => {
      const wf = workflow(uniqueId("trickle"), { s: {} });
      await store.createWorkflow(wf);
      const { store: counted, claims, claimed, dispatcher, workers, others } = setUp(`${wf.id}.s`);
      const unsubscribe = await counted.onSignal((s) => {
        if (s.kind === "queued") dispatcher.wake(s.actions); // as the server does
      });
      try {
        for (const s of [...workers, others]) dispatcher.attach(s);
        const next = taskReader(workers);
        await sleep(200);
        const before = claims();
        const othersBefore = claimed.filter((a) => a.includes(others.actions[0]!)).length;
        const RUNS = 10;
        for (let i = 0; i < RUNS; i++) {
          await store.triggerRuns([{ namespace: "default", workflowId: wf.id, input: i }]);
          const { session, task } = await next();
          expect((await dispatcher.submit(session, ok(task, i, session.id))).accepted).toBe(true);
          await sleep(100);
        }
        // One claim of the pool per trigger. Before, every session claimed on the trigger's wake-up
        // and again on the freed slot's (6 per run here); then one of the pool and one of the other
        // actions (2 per run), until the `queued` signal named the actions it queued.
        expect(claims() - before).toBeLessThanOrEqual(RUNS + 2);
        expect(claimed.filter((a) => a.includes(others.actions[0]!)).length - othersBefore).toBe(0);
      } finally {
        unsubscribe();
        await dispatcher.close();
      }
    },
  );

  it.skipIf(skip)("claims a backlog with every session of the action set", { timeout: 30_000 }, async () => {
    const wf = workflow(uniqueId("backlog"), { s: {} });
    await store.createWorkflow(wf);
    const { dispatcher, workers, others } = setUp(`${wf.id}.s`);
    try {
      for (const s of [...workers, others]) dispatcher.attach(s);
      const next = taskReader(workers);
      const RUNS = 60;
      await store.triggerRuns(
        Array.from({ length: RUNS }, (_, i) => ({ namespace: "default", workflowId: wf.id, input: i })),
      );
      dispatcher.wake();
      const done = new Set<string>();
      const bySession = new Map<string, number>();
      while (done.size < RUNS) {
        const { session, task } = await next();
        done.add(task.taskId);
        bySession.set(session.id, (bySession.get(session.id) ?? 0) + 1);
        void dispatcher.submit(session, ok(task, null, session.id));
      }
      expect(done.size).toBe(RUNS);
      expect(bySession.get("s1")).toBeGreaterThan(0);
      expect(bySession.get("s2")).toBeGreaterThan(0);
    } finally {
      await dispatcher.close();
    }
  });
});
