/**
 * Workers that die, leave or stall, end to end: a worker process killed
 * with SIGKILL mid-task (another worker finishes the task), a drain by
 * `stop()` and by SIGTERM (a task still running after the grace period is
 * handed back and re-queued at once, even with no retries left), a raw
 * stream whose lease lapses and whose late result is refused, and a first
 * message that is not a valid hello.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RunEventType, RunStatus } from "../../gen/weft/v1/common_pb.js";
import type { Task, Welcome } from "../../gen/weft/v1/worker_service_pb.js";
import { jsonToValue, type TaskContext } from "../../sdk/index.js";
import { requirePostgres } from "../support/db.js";
import { uniqueId } from "../support/execution.js";
import { rawWorkerStream, type WorkerMsg } from "../support/raw-worker.js";
import { requireRedis } from "../support/redis.js";
import {
  defineWorkflow,
  describeRun,
  history,
  output,
  step,
  stepEvents,
  trigger,
  waitForRun,
  WorkerPool,
} from "../support/runs.js";
import { e2eBackends, START_EMBEDDED_MS, startWeft, type Weft } from "../support/weft.js";
import { startWorkerProcess, type WorkerProcess } from "../support/worker-process.js";

const hasPostgres = await requirePostgres();
const hasRedis = await requireRedis();

describe.each(e2eBackends(hasPostgres, hasRedis))("worker faults on $name", ({ skip, opts }) => {
  let weft: Weft;
  const workers = new WorkerPool();
  const children: WorkerProcess[] = [];

  beforeAll(async () => {
    if (!skip) weft = await startWeft(opts);
  }, START_EMBEDDED_MS + 10_000);
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.kill()));
    await workers.stopAll();
  });
  afterAll(async () => {
    await weft?.stop();
  });

  it.skipIf(skip)(
    "kill -9 of a worker process mid-task: another worker completes it, the step shows 2 attempts",
    { timeout: 60_000 },
    async () => {
      const id = uniqueId("kill9");
      const action = `${id}.work`;
      await defineWorkflow(weft.client, {
        id,
        steps: [
          { id: "work", action, retry: { max_attempts: 3, initial_interval: "100ms" } },
          { id: "after", action: `${id}.after`, depends_on: ["work"] },
        ],
      });
      const doomed = await startWorkerProcess({
        address: weft.url,
        name: "doomed",
        slots: 1,
        actions: { [action]: "hang" },
      });
      children.push(doomed);
      const runId = await trigger(weft.client, id, { order: 7 });
      const got = await doomed.waitFor((e) => e.event === "task");
      expect(got.attempt).toBe(1);

      const survivors: number[] = [];
      await workers.start(
        { address: weft.url, name: "survivor" },
        {
          [action]: (input: { input: { order: number } }, ctx: TaskContext) => {
            survivors.push(ctx.attempt);
            return { order: input.input.order, by: "survivor" };
          },
          [`${id}.after`]: (input: { steps: { work: unknown } }) => input.steps.work,
        },
      );
      await doomed.kill();

      const run = await waitForRun(weft.client, runId, 30_000);
      expect(run.status, describeRun(run)).toBe(RunStatus.SUCCEEDED);
      expect(step(run, "work").attempts).toBe(2);
      expect(output(run, "work")).toEqual({ order: 7, by: "survivor" });
      expect(output(run, "after")).toEqual({ order: 7, by: "survivor" });
      expect(survivors).toEqual([2]);
      const events = stepEvents(await history(weft.client, runId), "work");
      expect(events.find((e) => e.attempt === 1 && e.error)?.error).toBe("LEASE_LOST");
      expect(events.filter((e) => e.status === "SUCCEEDED").map((e) => e.attempt)).toEqual([2]);
    },
  );

  it.skipIf(skip)(
    "SIGTERM drains a worker process: its running task goes to another worker at once, and it exits",
    { timeout: 60_000 },
    async () => {
      const id = uniqueId("sigterm");
      const action = `${id}.work`;
      // No retries in the policy: handing a task back on shutdown is not a failure.
      await defineWorkflow(weft.client, { id, steps: [{ id: "work", action }] });
      const leaving = await startWorkerProcess({
        address: weft.url,
        name: "leaving",
        slots: 1,
        actions: { [action]: "hang" },
        handleSignals: true,
        drainGraceMs: 300,
      });
      children.push(leaving);
      const runId = await trigger(weft.client, id, { order: 8 });
      await leaving.waitFor((e) => e.event === "task");
      await workers.start(
        { address: weft.url, name: "staying" },
        { [action]: (_input: unknown, ctx: TaskContext) => ({ by: "staying", attempt: ctx.attempt }) },
      );
      leaving.child.kill("SIGTERM");
      // Its handler sees the abort once the grace period is over; then the process ends by itself.
      await leaving.waitFor((e) => e.event === "abort", 10_000);
      expect(
        await Promise.race([
          leaving.exited,
          new Promise((r) => setTimeout(() => r("still running after 10 s"), 10_000)),
        ]),
      ).toBe(0);
      const run = await waitForRun(weft.client, runId);
      expect(run.status, describeRun(run)).toBe(RunStatus.SUCCEEDED);
      expect(output(run, "work")).toEqual({ by: "staying", attempt: 2 });
      expect(stepEvents(await history(weft.client, runId), "work").find((e) => e.attempt === 1 && e.error)?.error).toBe(
        "WORKER_SHUTDOWN",
      );
    },
  );

  it.skipIf(skip)(
    "worker.stop() finishes a short task within the grace period, and hands a long one to another worker at once",
    { timeout: 60_000 },
    async () => {
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
      const leaving = await workers.start(
        { address: weft.url, name: "leaving", slots: 2, drainGraceMs: 500 },
        {
          [`${id}.short`]: async () => {
            startedShort();
            await new Promise((r) => setTimeout(r, 200));
            return { by: "leaving" };
          },
          [`${id}.long`]: (_input: unknown, ctx: TaskContext) => {
            startedLong();
            return new Promise((_, reject) =>
              ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason as Error), { once: true }),
            );
          },
        },
      );
      const runId = await trigger(weft.client, id);
      await Promise.all([short, long]);
      const stopped = leaving.stop();
      let stayingAt = 0;
      await workers.start(
        { address: weft.url, name: "staying" },
        {
          [`${id}.long`]: (_input: unknown, ctx: TaskContext) => {
            stayingAt = Date.now();
            return { by: "staying", attempt: ctx.attempt };
          },
        },
      );
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
    },
  );

  it.skipIf(skip)(
    "refuses the late result of a worker whose lease lapsed, and the run is unaffected",
    { timeout: 60_000 },
    async () => {
      const id = uniqueId("stale");
      const action = `${id}.work`;
      await defineWorkflow(weft.client, {
        id,
        steps: [{ id: "work", action, heartbeat_timeout: "1s", retry: { max_attempts: 3, initial_interval: "100ms" } }],
      });
      const stream = rawWorkerStream(weft.url);
      try {
        stream.send({ case: "hello", value: { workerName: "stalling", actions: [action], slots: 1 } });
        const welcome = await stream.next();
        expect(welcome.msg.case).toBe("welcome");
        const runId = await trigger(weft.client, id);
        const first = await stream.next();
        expect(first.msg.case).toBe("task");
        const task1 = first.msg.value as Task;
        expect(task1.attempt).toBe(1);

        // No heartbeat: the lease lapses and the server cancels attempt 1 on the stalled stream.
        const cancel = await stream.next();
        expect(cancel.msg.case).toBe("cancel");
        expect(cancel.msg.value).toMatchObject({ taskId: task1.taskId });

        // Attempt 2 goes to a healthy worker (the silent stream gets nothing new) and is held running.
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        let rescuing!: () => void;
        const rescued = new Promise<void>((r) => (rescuing = r));
        await workers.start(
          { address: weft.url, name: "rescuer" },
          {
            [action]: async (_input: unknown, ctx: TaskContext) => {
              rescuing();
              await held;
              return { fresh: true, attempt: ctx.attempt };
            },
          },
        );
        await rescued;

        // The late result of attempt 1: acknowledged as refused, the stream stays open, nothing changes.
        stream.send({
          case: "result",
          value: {
            taskId: task1.taskId,
            leaseToken: task1.leaseToken,
            outcome: { case: "output", value: jsonToValue({ stale: true }) },
          },
        });
        const ack = await stream.next();
        expect(ack.msg.case).toBe("ack");
        expect(ack.msg.value).toMatchObject({ taskId: task1.taskId, accepted: false });
        const during = (await weft.client.runs.getRun({ runId })).run!;
        expect(during.status).toBe(RunStatus.RUNNING);
        expect(step(during, "work").attempts).toBe(2);
        expect(step(during, "work").output).toBeUndefined();

        release();
        const run = await waitForRun(weft.client, runId);
        expect(run.status, describeRun(run)).toBe(RunStatus.SUCCEEDED);
        expect(output(run, "work")).toEqual({ fresh: true, attempt: 2 });
        expect(step(run, "work").attempts).toBe(2);

        const events = await history(weft.client, runId);
        const stale = events.filter((e) => e.type === RunEventType.STALE_RESULT);
        // One entry, for the late result of the stalled worker (the server's own requeue was current).
        expect(stale).toHaveLength(1);
        expect(stale[0]).toMatchObject({ stepId: "work", workerId: (welcome.msg.value as Welcome).workerId });
        expect(stale[0]!.message).toMatch(/lease token/);
        expect(stepEvents(events, "work").find((e) => e.attempt === 1 && e.error)?.error).toBe("LEASE_LOST");
        expect(
          stepEvents(events, "work")
            .filter((e) => e.status === "SUCCEEDED")
            .map((e) => e.attempt),
        ).toEqual([2]);
      } finally {
        stream.close();
      }
    },
  );

  it.skipIf(skip)("closes the stream with INVALID_ARGUMENT when the first message is not a valid hello", async () => {
    const cases: [string, WorkerMsg, RegExp][] = [
      ["a heartbeat first", { case: "heartbeat", value: { taskIds: [] } }, /hello/],
      ["no actions", { case: "hello", value: { workerName: "w", actions: [], slots: 1 } }, /actions/],
      ["slots out of range", { case: "hello", value: { workerName: "w", actions: ["a"], slots: 0 } }, /slots/],
      ["a bad action name", { case: "hello", value: { workerName: "w", actions: ["1bad"], slots: 1 } }, /actions/],
    ];
    for (const [name, first, pattern] of cases) {
      const stream = rawWorkerStream(weft.url);
      try {
        stream.send(first);
        const err = await stream.next().then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
        expect(err?.code, name).toBe(Code.InvalidArgument);
        expect(err?.rawMessage, name).toMatch(pattern);
      } finally {
        stream.close();
      }
    }
  });
});
