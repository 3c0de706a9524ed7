/**
 * Runs with more steps than one read of a run's steps holds (the store
 * reads them per run in slices of 100): completing, cancelling and
 * retrying such a run sees every step.
 */
import { describe, expect, it } from "vitest";
import type { KyselyStore } from "../../src/store/kysely-store.js";
import { requirePostgres } from "../support/db.js";
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
  type StepSketch,
} from "../support/execution.js";

const hasPostgres = await requirePostgres();
const WIDTH = 230;

/** `WIDTH` independent steps, then one that joins them all. */
function wide(id: string) {
  const steps: Record<string, StepSketch> = {};
  for (let i = 0; i < WIDTH; i++) steps[`s${String(i).padStart(3, "0")}`] = {};
  steps.join = { deps: Object.keys(steps) };
  return workflow(id, steps);
}

describe.each(backends(hasPostgres))("runs wider than one read of their steps on $name", ({ skip, fresh }) => {
  let store: KyselyStore;
  useMigratedStore({ skip, fresh }, (_db, s) => (store = s));

  it.skipIf(skip)("queues the join only once every step succeeded, then succeeds", async () => {
    const wf = wide(uniqueId("wide"));
    const [runId] = await start(store, wf, [{}]);
    const actions = wf.def.steps.map((s) => s.action);
    const tasks = await claimAll(store, actions);
    expect(tasks).toHaveLength(WIDTH);
    await completeAll(
      store,
      tasks.slice(0, -1).map((t) => ok(t, 1)),
    );
    expect(await claimAll(store, actions)).toEqual([]);
    await completeAll(store, [ok(tasks.at(-1)!, 1)]);
    const [join] = await claimAll(store, actions);
    expect(join?.stepId).toBe("join");
    expect(Object.keys((join!.input as { steps: object }).steps)).toHaveLength(WIDTH);
    await completeAll(store, [ok(join!, "done")]);
    expect((await store.getRun(runId!))?.status).toBe("SUCCEEDED");
  });

  it.skipIf(skip)("cancels every open step, and retries every failed one", async () => {
    const wf = wide(uniqueId("wide"));
    const [runId] = await start(store, wf, [{}]);
    const actions = wf.def.steps.map((s) => s.action);
    const tasks = await claimAll(store, actions);
    await completeAll(store, [failed(tasks[0]!, "BOOM", "no", false)]);
    const cancelled = await store.cancelRun(runId!, "enough");
    expect(cancelled?.running).toHaveLength(WIDTH - 1);
    const statuses = (await store.getRun(runId!))!.steps.map((s) => s.status);
    expect(statuses.filter((s) => s === "CANCELLED")).toHaveLength(WIDTH);
    expect(statuses.filter((s) => s === "FAILED")).toHaveLength(1);

    await store.retryRun(runId!);
    expect(await claimAll(store, actions)).toHaveLength(WIDTH);
  });
});
