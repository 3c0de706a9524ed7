/**
 * Workers that die or stall, end to end: a worker process killed with
 * SIGKILL mid-task (another worker finishes the task), a raw stream whose
 * lease lapses and whose late result is refused, and a first message that is
 * not a valid hello.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RunEventType, RunStatus } from "../../gen/weft/v1/common_pb.js";
import { WorkerMessageSchema, WorkerService, type ServerMessage, type Task, type WorkerMessage } from "../../gen/weft/v1/worker_service_pb.js";
import { jsonToValue, type TaskContext } from "../../sdk/index.js";
import { Channel } from "../../src/dispatch/channel.js";
import { requirePostgres } from "../support/db.js";
import { uniqueId } from "../support/execution.js";
import { requireRedis, redisUrl } from "../support/redis.js";
import { defineWorkflow, describeRun, history, output, step, stepEvents, trigger, waitForRun, WorkerPool } from "../support/runs.js";
import { startWeft, type Weft } from "../support/weft.js";
import { startWorkerProcess, type WorkerProcess } from "../support/worker-process.js";

const hasPostgres = await requirePostgres();
const hasRedis = await requireRedis();
const skip = !hasPostgres || !hasRedis;

type Msg = MessageInitShape<typeof WorkerMessageSchema>["msg"];
const msg = (m: Msg): WorkerMessage => create(WorkerMessageSchema, { msg: m });

/** A hand-driven worker stream: what a worker in any language sends, with no SDK in between. */
function rawStream(url: string) {
  const out = new Channel<WorkerMessage>();
  const abort = new AbortController();
  const client = createClient(WorkerService, createGrpcTransport({ baseUrl: url }));
  // Through a generator: connect-node calls throw() on the request iterable when the call ends.
  const requests = (async function* () {
    yield* out;
  })();
  const it = client.connect(requests, { signal: abort.signal })[Symbol.asyncIterator]();
  const next = async (): Promise<ServerMessage> => {
    const r = await it.next();
    if (r.done) throw new Error("the server ended the stream");
    return r.value;
  };
  return { out, next, close: () => (out.close(), abort.abort()) };
}

describe.skipIf(skip)("worker faults (Postgres + Redis)", () => {
  let weft: Weft;
  const workers = new WorkerPool();
  const children: WorkerProcess[] = [];

  beforeAll(async () => {
    weft = await startWeft({ redisUrl: redisUrl() });
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.kill()));
    await workers.stopAll();
  });
  afterAll(async () => {
    await weft?.stop();
  });

  it("kill -9 of a worker process mid-task: another worker completes it, the step shows 2 attempts", { timeout: 60_000 }, async () => {
    const id = uniqueId("kill9");
    const action = `${id}.work`;
    await defineWorkflow(weft.client, {
      id,
      steps: [
        { id: "work", action, retry: { max_attempts: 3, initial_interval: "100ms" } },
        { id: "after", action: `${id}.after`, depends_on: ["work"] },
      ],
    });
    const doomed = await startWorkerProcess({ address: weft.url, name: "doomed", slots: 1, actions: { [action]: "hang" } });
    children.push(doomed);
    const runId = await trigger(weft.client, id, { order: 7 });
    const got = await doomed.waitFor((e) => e.event === "task");
    expect(got.attempt).toBe(1);

    const survivors: number[] = [];
    await workers.start({ address: weft.url, name: "survivor" }, {
      [action]: (input: { input: { order: number } }, ctx: TaskContext) => {
        survivors.push(ctx.attempt);
        return { order: input.input.order, by: "survivor" };
      },
      [`${id}.after`]: (input: { steps: { work: unknown } }) => input.steps.work,
    });
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
  });

  it("refuses the late result of a worker whose lease lapsed, and the run is unaffected", { timeout: 60_000 }, async () => {
    const id = uniqueId("stale");
    const action = `${id}.work`;
    await defineWorkflow(weft.client, {
      id,
      steps: [{ id: "work", action, heartbeat_timeout: "1s", retry: { max_attempts: 3, initial_interval: "100ms" } }],
    });
    const stream = rawStream(weft.url);
    try {
      stream.out.push(msg({ case: "hello", value: { workerName: "stalling", actions: [action], slots: 1 } }));
      expect((await stream.next()).msg.case).toBe("welcome");
      const runId = await trigger(weft.client, id);
      const first = await stream.next();
      expect(first.msg.case).toBe("task");
      const task1 = first.msg.value as Task;
      expect(task1.attempt).toBe(1);

      // No heartbeat: the lease lapses, the server cancels attempt 1 and offers the task again (maybe to us).
      const later: ServerMessage[] = [];
      let task2: Task | undefined;
      while (!task2) {
        const m = await stream.next();
        later.push(m);
        if (m.msg.case === "task") task2 = m.msg.value;
      }
      expect(task2.attempt).toBe(2);
      expect(task2.leaseToken).not.toBe(task1.leaseToken);
      expect(later.some((m) => m.msg.case === "cancel" && m.msg.value.taskId === task1.taskId)).toBe(true);

      // The late result of attempt 1: acknowledged as refused, the stream stays open.
      stream.out.push(msg({ case: "result", value: { taskId: task1.taskId, leaseToken: task1.leaseToken, outcome: { case: "output", value: jsonToValue({ stale: true }) } } }));
      const ack1 = await stream.next();
      expect(ack1.msg.case).toBe("ack");
      expect(ack1.msg.value).toMatchObject({ taskId: task1.taskId, accepted: false });
      let run = (await weft.client.runs.getRun({ runId })).run!;
      expect(run.status).toBe(RunStatus.RUNNING);
      expect(step(run, "work").output).toBeUndefined();

      // Attempt 2 answers in time and counts.
      stream.out.push(msg({ case: "result", value: { taskId: task2.taskId, leaseToken: task2.leaseToken, outcome: { case: "output", value: jsonToValue({ fresh: true }) } } }));
      const ack2 = await stream.next();
      expect(ack2.msg.value).toMatchObject({ taskId: task2.taskId, accepted: true });
      run = await waitForRun(weft.client, runId);
      expect(run.status, describeRun(run)).toBe(RunStatus.SUCCEEDED);
      expect(output(run, "work")).toEqual({ fresh: true });
      expect(step(run, "work").attempts).toBe(2);

      const events = await history(weft.client, runId);
      const stale = events.filter((e) => e.type === RunEventType.STALE_RESULT);
      expect(stale).toHaveLength(1);
      expect(stale[0]!.stepId).toBe("work");
      expect(stepEvents(events, "work").find((e) => e.attempt === 1 && e.error)?.error).toBe("LEASE_LOST");
    } finally {
      stream.close();
    }
  });

  it("closes the stream with INVALID_ARGUMENT when the first message is not a valid hello", async () => {
    const cases: [string, Msg, RegExp][] = [
      ["a heartbeat first", { case: "heartbeat", value: { taskIds: [] } }, /hello/],
      ["no actions", { case: "hello", value: { workerName: "w", actions: [], slots: 1 } }, /actions/],
      ["slots out of range", { case: "hello", value: { workerName: "w", actions: ["a"], slots: 0 } }, /slots/],
      ["a bad action name", { case: "hello", value: { workerName: "w", actions: ["1bad"], slots: 1 } }, /actions/],
    ];
    for (const [name, first, pattern] of cases) {
      const stream = rawStream(weft.url);
      try {
        stream.out.push(msg(first));
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
