/**
 * The server's logs tell a run's story: at debug, the run's start and end
 * and every step sent and recorded, each with run id, step id, attempt and
 * worker; at warn, a lease lost and a stale result, with the same ids.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Task, Welcome } from "../../gen/weft/v1/worker_service_pb.js";
import { jsonToValue, RunStatus, TaskError } from "../../sdk/index.js";
import { requirePostgres } from "../support/db.js";
import { eventually, uniqueId } from "../support/execution.js";
import { rawWorkerStream } from "../support/raw-worker.js";
import { requireRedis, redisUrl } from "../support/redis.js";
import { defineWorkflow, trigger, waitForRun, WorkerPool } from "../support/runs.js";
import { startWeft, type Weft } from "../support/weft.js";

const hasPostgres = await requirePostgres();
const hasRedis = await requireRedis();

interface Line {
  level: string;
  msg: string;
  runId?: string;
  stepId?: string;
  attempt?: number;
  workerId?: string;
  status?: string;
  error?: string;
}

describe.skipIf(!hasPostgres || !hasRedis)("run story logs", () => {
  let weft: Weft;
  const workers = new WorkerPool();
  const lines = (): Line[] =>
    weft.server.logs.flatMap((l) => {
      try {
        return [JSON.parse(l) as Line];
      } catch {
        return [];
      }
    });

  beforeAll(async () => {
    weft = await startWeft({ redisUrl: redisUrl(), args: ["--log-level", "debug"] });
  }, 90_000);
  afterAll(async () => {
    await workers.stopAll();
    await weft?.stop();
  });

  it("logs each run and step transition at debug with its ids", { timeout: 60_000 }, async () => {
    const id = uniqueId("story");
    let failed = false;
    await defineWorkflow(weft.client, {
      id,
      steps: [
        { id: "a", action: `${id}.a`, retry: { max_attempts: 2, initial_interval: "100ms" } },
        { id: "b", action: `${id}.b`, depends_on: ["a"] },
      ],
    });
    const worker = await workers.start(
      { address: weft.url, name: "storyteller" },
      {
        [`${id}.a`]: () => {
          if (!failed) {
            failed = true;
            throw TaskError.retryable("FLAKY", "once");
          }
          return 1;
        },
        [`${id}.b`]: () => 2,
      },
    );
    const runId = await trigger(weft.client, id);
    expect((await waitForRun(weft.client, runId)).status).toBe(RunStatus.SUCCEEDED);
    const workerId = worker.workerId;
    const story = await eventually(() => {
      const mine = lines().filter((l) => l.runId === runId);
      return mine.some((l) => l.msg === "run finished") ? mine : undefined;
    });
    const said = story.map((l) => [l.msg, l.stepId ?? "", l.attempt ?? 0, l.error ?? l.status ?? ""].join(" "));
    expect(said).toEqual(
      expect.arrayContaining([
        "run started  0 ",
        "step sent to worker a 1 ",
        "step result recorded a 1 FLAKY",
        "step sent to worker a 2 ",
        "step result recorded a 2 ",
        "step sent to worker b 1 ",
        "step result recorded b 1 ",
        "run finished  0 SUCCEEDED",
      ]),
    );
    for (const l of story.filter((x) => x.msg.startsWith("step"))) expect(l.workerId).toBe(workerId);
    expect(story.every((l) => l.level === "debug")).toBe(true);
  });

  it("warns of a lease lost and a stale result, with the ids", { timeout: 60_000 }, async () => {
    const id = uniqueId("story-stale");
    await defineWorkflow(weft.client, { id, steps: [{ id: "work", action: `${id}.work`, heartbeat_timeout: "1s" }] });
    const stream = rawWorkerStream(weft.url);
    try {
      stream.send({ case: "hello", value: { workerName: "silent", actions: [`${id}.work`], slots: 1 } });
      const welcome = (await stream.next()).msg.value as Welcome;
      const runId = await trigger(weft.client, id);
      const task = (await stream.next()).msg.value as Task;
      // No heartbeat: the lease lapses (a cancel comes), then the late result is refused.
      expect((await stream.next()).msg.case).toBe("cancel");
      stream.send({
        case: "result",
        value: { taskId: task.taskId, leaseToken: task.leaseToken, outcome: { case: "output", value: jsonToValue(1) } },
      });
      expect((await stream.next()).msg.case).toBe("ack");
      const warned = await eventually(() => {
        const w = lines().filter((l) => l.runId === runId && l.level === "warn");
        return w.length >= 2 ? w : undefined;
      });
      expect(warned.map((l) => l.msg)).toEqual(["lease lost: the task goes back to the queue", "stale result refused"]);
      for (const l of warned) expect(l).toMatchObject({ runId, stepId: "work", workerId: welcome.workerId });
    } finally {
      stream.close();
    }
  });
});
