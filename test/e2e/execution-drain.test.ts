/**
 * Worker drain end to end: `worker.stop()` takes no new tasks, lets a
 * running handler finish within the grace period, and reports a handler
 * still running after it as failed (WORKER_SHUTDOWN), which the server
 * re-queues at once, even for a step with no retries left, so another worker
 * finishes it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RunStatus } from "../../gen/weft/v1/common_pb.js";
import type { TaskContext } from "../../sdk/index.js";
import { requirePostgres } from "../support/db.js";
import { uniqueId } from "../support/execution.js";
import { requireRedis } from "../support/redis.js";
import { defineWorkflow, describeRun, history, output, step, stepEvents, trigger, waitForRun, WorkerPool } from "../support/runs.js";
import { e2eBackends, startWeft, type Weft } from "../support/weft.js";

const hasPostgres = await requirePostgres();
const hasRedis = await requireRedis();

describe.each(e2eBackends(hasPostgres, hasRedis, { embedded: false }))("worker drain on $name", ({ skip, opts }) => {
  let weft: Weft;
  const workers = new WorkerPool();

  beforeAll(async () => {
    if (!skip) weft = await startWeft(opts);
  });
  afterEach(() => workers.stopAll());
  afterAll(async () => {
    await weft?.stop();
  });

  it.skipIf(skip)("finishes a short task within the grace period, and hands a long one to another worker at once", { timeout: 60_000 }, async () => {
    const id = uniqueId("drain");
    // Default retry policy: one attempt. A drain is not the task's failure.
    await defineWorkflow(weft.client, {
      id,
      steps: [
        { id: "short", action: `${id}.short` },
        { id: "long", action: `${id}.long` },
      ],
    });
    let startedShort!: () => void;
    let startedLong!: () => void;
    const short = new Promise<void>((r) => (startedShort = r));
    const long = new Promise<void>((r) => (startedLong = r));
    const leaving = await workers.start({ address: weft.url, name: "leaving", slots: 2, drainGraceMs: 500 }, {
      [`${id}.short`]: async () => {
        startedShort();
        await new Promise((r) => setTimeout(r, 200));
        return { by: "leaving" };
      },
      [`${id}.long`]: (_input: unknown, ctx: TaskContext) => {
        startedLong();
        return new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason as Error), { once: true }));
      },
    });
    const runId = await trigger(weft.client, id);
    await Promise.all([short, long]);
    const stopped = leaving.stop();
    let stayingAt = 0;
    await workers.start({ address: weft.url, name: "staying" }, {
      [`${id}.long`]: (_input: unknown, ctx: TaskContext) => {
        stayingAt = Date.now();
        return { by: "staying", attempt: ctx.attempt };
      },
    });
    const stopAt = Date.now();
    await stopped;
    const run = await waitForRun(weft.client, runId);
    expect(run.status, describeRun(run)).toBe(RunStatus.SUCCEEDED);
    expect(output(run, "short")).toEqual({ by: "leaving" });
    expect(output(run, "long")).toEqual({ by: "staying", attempt: 2 });
    expect(step(run, "long").attempts).toBe(2);
    // Re-queued at once after the grace period, not after a backoff or a lease expiry.
    expect(stayingAt - stopAt).toBeLessThan(5_000);
    const events = stepEvents(await history(weft.client, runId), "long");
    expect(events.find((e) => e.attempt === 1 && e.error)?.error).toBe("WORKER_SHUTDOWN");
  });
});
