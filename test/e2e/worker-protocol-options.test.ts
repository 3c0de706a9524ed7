/**
 * The worker protocol's opt-in forms against a real server process on
 * Postgres: a raw stream whose hello sets `accepts_batches` and
 * `accepts_json` gets tasks as `tasks` messages with `input_json`, may
 * answer with one `results` message carrying `output_json`, and gets its
 * acks back as `acks`; an `output_json` that is not JSON, or holds text
 * Postgres cannot store, fails the step with INVALID_OUTPUT instead of
 * breaking the stream or the write.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunStatus } from "../../gen/weft/v1/common_pb.js";
import type { Ack, Task } from "../../gen/weft/v1/worker_service_pb.js";
import { requirePostgres } from "../support/db.js";
import { uniqueId } from "../support/execution.js";
import { rawWorkerStream } from "../support/raw-worker.js";
import { defineWorkflow, output, trigger, waitForRun } from "../support/runs.js";
import { startWeft, type Weft } from "../support/weft.js";

const hasPostgres = await requirePostgres();
const encode = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));
const decode = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as unknown;

describe.skipIf(!hasPostgres)("worker protocol: batches and JSON payloads", () => {
  let weft: Weft;
  beforeAll(async () => {
    weft = await startWeft({ backend: "postgres" });
  }, 60_000);
  afterAll(async () => {
    await weft?.stop();
  });

  it("sends tasks with input_json in tasks messages, takes a results message with output_json, acks in acks messages", async () => {
    const id = uniqueId("proto");
    const action = `${id}.work`;
    await defineWorkflow(weft.client, { id, steps: [{ id: "a", action }] });
    const stream = rawWorkerStream(weft.url);
    try {
      stream.send({
        case: "hello",
        value: { workerName: "raw-json", actions: [action], slots: 10, acceptsBatches: true, acceptsJson: true },
      });
      const welcome = await stream.next();
      expect(welcome.msg.case === "welcome" && welcome.msg.value).toMatchObject({
        acceptsBatches: true,
        acceptsJson: true,
      });
      const runIds = [];
      for (const n of [1, 2, 3]) runIds.push(await trigger(weft.client, id, { n }));

      const tasks: Task[] = [];
      while (tasks.length < 3) {
        const m = await stream.next();
        expect(m.msg.case).toBe("tasks");
        if (m.msg.case === "tasks") tasks.push(...m.msg.value.tasks);
      }
      for (const t of tasks) {
        expect(t.input).toBeUndefined();
        expect(decode(t.inputJson)).toMatchObject({ input: { n: expect.any(Number) }, steps: {} });
      }
      const byRun = new Map(tasks.map((t) => [t.runId, t]));
      const [good1, good2, bad] = runIds.map((r) => byRun.get(r)!);
      stream.send({
        case: "results",
        value: {
          results: [
            {
              taskId: good1!.taskId,
              leaseToken: good1!.leaseToken,
              outcome: { case: "outputJson", value: encode({ ok: 1 }) },
            },
            {
              taskId: good2!.taskId,
              leaseToken: good2!.leaseToken,
              outcome: { case: "outputJson", value: encode({ ok: 2 }) },
            },
            {
              taskId: bad!.taskId,
              leaseToken: bad!.leaseToken,
              outcome: { case: "outputJson", value: encode("{not json") },
            },
          ],
        },
      });
      const acks: Ack[] = [];
      while (acks.length < 3) {
        const m = await stream.next();
        expect(m.msg.case).toBe("acks");
        if (m.msg.case === "acks") acks.push(...m.msg.value.acks);
      }
      expect(acks.map((a) => a.accepted)).toEqual([true, true, true]);

      const [r1, r2, r3] = await Promise.all(runIds.map((r) => waitForRun(weft.client, r)));
      expect(r1!.status).toBe(RunStatus.SUCCEEDED);
      expect(output(r1!, "a")).toEqual({ ok: 1 });
      expect(output(r2!, "a")).toEqual({ ok: 2 });
      expect(r3!.status).toBe(RunStatus.FAILED);
      expect(r3!.steps.find((s) => s.stepId === "a")?.error).toMatchObject({ type: "INVALID_OUTPUT" });
    } finally {
      stream.close();
    }
  }, 60_000);

  it("fails the step with INVALID_OUTPUT when output_json holds a lone surrogate, instead of failing the write", async () => {
    const id = uniqueId("surrogate");
    const action = `${id}.work`;
    await defineWorkflow(weft.client, { id, steps: [{ id: "a", action }] });
    const stream = rawWorkerStream(weft.url);
    try {
      stream.send({ case: "hello", value: { workerName: "raw-json", actions: [action], slots: 1, acceptsJson: true } });
      expect((await stream.next()).msg.case).toBe("welcome");
      const runId = await trigger(weft.client, id, {});
      const m = await stream.next();
      if (m.msg.case !== "task") throw new Error(`expected a task, got ${m.msg.case}`);
      const { taskId, leaseToken } = m.msg.value;
      // JSON's escape for half a surrogate pair: JSON.parse takes it, Postgres jsonb does not.
      stream.send({
        case: "result",
        value: {
          taskId,
          leaseToken,
          outcome: { case: "outputJson", value: encode('{"s": "\\ud800", "ok": "\\ud83d\\ude00"}') },
        },
      });
      const ack = await Promise.race([
        stream.next(),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error("no ack: the result was not recorded")), 10_000),
        ),
      ]);
      expect(ack.msg).toMatchObject({ case: "ack", value: { taskId, accepted: true } });
      const run = await waitForRun(weft.client, runId);
      expect(run.status).toBe(RunStatus.FAILED);
      const error = run.steps.find((s) => s.stepId === "a")?.error;
      expect(error).toMatchObject({ type: "INVALID_OUTPUT", retryable: false });
      expect(error?.message).toMatch(/output\.s \(a lone UTF-16 surrogate/);
    } finally {
      stream.close();
    }
  }, 60_000);
});
