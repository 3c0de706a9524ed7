/**
 * Redis may lose everything: restarted (SIGKILL, back empty) or flushed
 * mid-run, work is delayed at most; every run completes and no step
 * completes twice. Uses a private redis-server, never the shared one.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RunStatus } from "../../gen/weft/v1/common_pb.js";
import { requirePostgres } from "../support/db.js";
import { uniqueId } from "../support/execution.js";
import { requireRedisServer, startPrivateRedis, type PrivateRedis } from "../support/private-redis.js";
import { rawWorkerStream } from "../support/raw-worker.js";
import { defineWorkflow, describeRun, output, step, trigger, waitForRun, WorkerPool } from "../support/runs.js";
import { startWeft, type Weft } from "../support/weft.js";
import { workload } from "../support/workload.js";

const hasPostgres = await requirePostgres();
const hasRedisServer = requireRedisServer();

describe.skipIf(!hasPostgres || !hasRedisServer)("Redis outages mid-run (private redis-server)", () => {
  let redis: PrivateRedis;
  let weft: Weft;
  const workers = new WorkerPool();

  beforeAll(async () => {
    redis = await startPrivateRedis();
    weft = await startWeft({ redisUrl: redis.url });
  });
  afterEach(() => workers.stopAll());
  afterAll(async () => {
    await weft?.stop();
    await redis?.stop();
  });

  it("completes every run when Redis is restarted mid-run", { timeout: 90_000 }, async () => {
    const load = workload(uniqueId("restart"), { width: 6, workMs: 400 });
    await defineWorkflow(weft.client, load.spec);
    await workers.start({ address: weft.url, name: "r-1", slots: 4 }, load.handlers);
    await workers.start({ address: weft.url, name: "r-2", slots: 4 }, load.handlers);
    const runIds = await Promise.all([1, 2, 3].map((n) => trigger(weft.client, load.id, { n })));
    await load.started(6);
    await redis.restart(1_000);
    await load.expectAllDone(weft.client, runIds);
  });

  it("completes every run when Redis is flushed mid-run", { timeout: 90_000 }, async () => {
    const load = workload(uniqueId("flush"), { width: 6, workMs: 400 });
    await defineWorkflow(weft.client, load.spec);
    await workers.start({ address: weft.url, name: "f-1", slots: 4 }, load.handlers);
    await workers.start({ address: weft.url, name: "f-2", slots: 4 }, load.handlers);
    const runIds = await Promise.all([1, 2, 3].map((n) => trigger(weft.client, load.id, { n })));
    await load.started(6);
    await redis.flushAll();
    await load.expectAllDone(weft.client, runIds);
  });

  it("requeues the task of a stalled stream whose lease the flush wiped", { timeout: 60_000 }, async () => {
    const id = uniqueId("stall-flush");
    const action = `${id}.work`;
    await defineWorkflow(weft.client, {
      id,
      steps: [{ id: "work", action, heartbeat_timeout: "1s", retry: { max_attempts: 3, initial_interval: "100ms" } }],
    });
    const stream = rawWorkerStream(weft.url);
    try {
      stream.send({ case: "hello", value: { workerName: "stalled", actions: [action], slots: 1 } });
      expect((await stream.next()).msg.case).toBe("welcome");
      const runId = await trigger(weft.client, id);
      expect((await stream.next()).msg.case).toBe("task");
      // Redis forgets the lease (and its expiry); the stream stays open and silent.
      await redis.flushAll();
      await workers.start({ address: weft.url, name: "rescuer" }, { [action]: () => ({ rescued: true }) });
      const run = await waitForRun(weft.client, runId, 20_000);
      expect(run.status, describeRun(run)).toBe(RunStatus.SUCCEEDED);
      expect(output(run, "work")).toEqual({ rescued: true });
      expect(step(run, "work").attempts).toBe(2);
    } finally {
      stream.close();
    }
  });
});
