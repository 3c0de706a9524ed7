/**
 * The Python example worker (the weft-sdk package on grpcio) against a
 * real server process on Postgres and Redis: a three-step run with data
 * passing, a non-retryable error reported with its type, heartbeats keeping
 * a long task's lease, cancellation pushed down the stream, a reconnect to a
 * restarted server, and a drain on SIGTERM.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  RunStatus,
  StepStatus,
  createWeftClient,
  jsonToValue,
  triggerAndWait,
  valueToJson,
  type Run,
  type WeftClient,
} from "../../sdk/index.js";
import { createTestDatabase, requirePostgres, type TestDatabase } from "../support/db.js";
import { PYTHON, requirePythonGrpc, startPythonWorker, type PythonWorker } from "../support/python-worker.js";
import { redisUrl, requireRedis } from "../support/redis.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";

const hasPostgres = await requirePostgres();
const hasRedis = await requireRedis();
const hasPython = await requirePythonGrpc();
const DIR = resolve(import.meta.dirname, "../../examples/python-worker");

function steps(
  run: Run,
): Record<string, { status: string; attempts: number; output: unknown; error?: { type: string; message: string } }> {
  return Object.fromEntries(
    run.steps.map((s) => [
      s.stepId,
      {
        status: StepStatus[s.status],
        attempts: s.attempts,
        output: s.output ? valueToJson(s.output) : undefined,
        ...(s.error ? { error: { type: s.error.type, message: s.error.message } } : {}),
      },
    ]),
  );
}

describe.skipIf(!hasPostgres || !hasRedis || !hasPython)("the Python worker", () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let worker: PythonWorker;
  let weft: WeftClient;
  const serverEnv = () => ({ DATABASE_URL: db.url, REDIS_URL: redisUrl() });

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServerProcess({ env: serverEnv(), args: ["--shutdown-grace-ms", "2000"] });
    weft = createWeftClient(server.url);
    for (const file of ["words.yaml", "sleep.yaml"]) {
      await weft.workflows.createWorkflow({
        source: { case: "yaml", value: readFileSync(resolve(DIR, file), "utf8") },
      });
    }
    worker = startPythonWorker({ address: server.url, name: "py-e2e", slots: 4 });
    await worker.waitFor((e) => e.event === "welcome", 30_000);
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    weft?.close();
    await server?.stop();
    await db?.drop();
  });

  it("runs tokenize → count → report, each step getting the output of the one before", async () => {
    const run = await triggerAndWait(
      weft,
      "py-words",
      { title: "Ode", text: "The cat and the hat, and the bat!" },
      { timeoutMs: 30_000 },
    );
    expect(RunStatus[run.status]).toBe("SUCCEEDED");
    expect(steps(run)).toEqual({
      tokenize: {
        status: "SUCCEEDED",
        attempts: 1,
        output: { words: ["the", "cat", "and", "the", "hat", "and", "the", "bat"], count: 8 },
      },
      count: {
        status: "SUCCEEDED",
        attempts: 1,
        output: {
          top: [
            ["the", 3],
            ["and", 2],
            ["bat", 1],
          ],
          unique: 5,
        },
      },
      report: {
        status: "SUCCEEDED",
        attempts: 1,
        output: { summary: "Ode: 8 words, most used: the ×3, and ×2, bat ×1", attempt: 1 },
      },
    });
    expect(valueToJson(run.output!)).toEqual({
      report: { summary: "Ode: 8 words, most used: the ×3, and ×2, bat ×1", attempt: 1 },
    });
    // The Python worker ran every step: its id is on each step run.
    const welcome = await worker.waitFor((e) => e.event === "welcome");
    expect(run.steps.map((s) => s.workerId)).toEqual([welcome.worker_id, welcome.worker_id, welcome.worker_id]);
  });

  it("reports a non-retryable error with its type: the step fails at its first attempt despite its retry policy", async () => {
    const run = await triggerAndWait(weft, "py-words", { title: "Blank", text: "   " }, { timeoutMs: 30_000 });
    expect(RunStatus[run.status]).toBe("FAILED");
    expect(run.error).toMatchObject({
      type: "EMPTY_TEXT",
      message: "step tokenize failed: input.text must be a non-blank string",
    });
    expect(steps(run)).toMatchObject({
      tokenize: {
        status: "FAILED",
        attempts: 1,
        error: { type: "EMPTY_TEXT", message: "input.text must be a non-blank string" },
      },
      count: { status: "SKIPPED" },
      report: { status: "SKIPPED" },
    });
  });

  it("keeps a long task alive past its 1 s heartbeat timeout, and stops it when the run is cancelled", async () => {
    const { runId } = await weft.workflows.triggerWorkflow({
      workflowId: "py-sleep",
      input: jsonToValue({ seconds: 60 }),
    });
    const task = await worker.waitFor((e) => e.event === "task" && e.run_id === runId);
    await new Promise((r) => setTimeout(r, 3_000));
    const mid = (await weft.runs.getRun({ runId })).run!;
    expect(steps(mid).nap).toMatchObject({ status: "RUNNING", attempts: 1 });

    await weft.runs.cancelRun({ runId });
    await worker.waitFor((e) => e.event === "cancel" && e.task_id === task.task_id);
    const result = await worker.waitFor((e) => e.event === "result" && e.task_id === task.task_id);
    expect(result).toMatchObject({ ok: false, type: "CANCELLED", retryable: false });
    const run = (await weft.runs.getRun({ runId })).run!;
    expect(RunStatus[run.status]).toBe("CANCELLED");
    expect(steps(run).nap).toMatchObject({ status: "CANCELLED", attempts: 1 });
  });

  it("reconnects when its server restarts, and runs the next run on the new stream", async () => {
    const welcomes = () => worker.events.filter((e) => e.event === "welcome");
    const before = welcomes().length;
    const port = server.port;
    expect(await server.stop()).toBe(0);
    weft.close();
    server = await startServerProcess({
      env: serverEnv(),
      args: ["--port", String(port), "--shutdown-grace-ms", "2000"],
    });
    weft = createWeftClient(server.url);
    await worker.waitFor((e) => e.event === "welcome" && welcomes().indexOf(e) >= before, 30_000);
    expect(worker.events.slice(before).some((e) => e.event === "disconnected")).toBe(true);

    const run = await triggerAndWait(weft, "py-words", { title: "Again", text: "b a b" }, { timeoutMs: 30_000 });
    expect(RunStatus[run.status]).toBe("SUCCEEDED");
    expect(valueToJson(run.output!)).toEqual({
      report: { summary: "Again: 3 words, most used: b ×2, a ×1", attempt: 1 },
    });
    const latest = welcomes().at(-1)!;
    expect(new Set(run.steps.map((s) => s.workerId))).toEqual(new Set([latest.worker_id]));
  }, 120_000);

  it("drains on SIGTERM: the running task finishes and is acknowledged, then the worker exits 0", async () => {
    const { runId } = await weft.workflows.triggerWorkflow({
      workflowId: "py-sleep",
      input: jsonToValue({ seconds: 2 }),
    });
    const task = await worker.waitFor((e) => e.event === "task" && e.run_id === runId);
    expect(await worker.stop()).toBe(0);
    // The task event is printed once the worker has taken the task, so the drain waits for it.
    expect(task.handed_back).toBeUndefined();
    const seen = worker.events.filter((e) => e.task_id === task.task_id);
    expect(seen).toMatchObject([{ event: "task" }, { event: "result", ok: true }, { event: "ack", accepted: true }]);
    expect(seen).toHaveLength(3);
    const run = (await weft.runs.getRun({ runId })).run!;
    expect(RunStatus[run.status]).toBe("SUCCEEDED");
    expect(steps(run).nap).toEqual({ status: "SUCCEEDED", attempts: 1, output: { slept: 2 } });
  });
});

describe.skipIf(!existsSync(PYTHON))("the Python worker without grpcio", () => {
  it("says what to install and which interpreter to use, without a traceback", () => {
    // -S leaves out site-packages, where Debian's grpcio and protobuf are: a python3 without them.
    const run = spawnSync(PYTHON, ["-S", resolve(DIR, "worker.py"), "--address", "127.0.0.1:9"], {
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("apt-get install python3-grpcio python3-protobuf");
    expect(run.stderr).toContain("/usr/bin/python3");
    expect(run.stderr).not.toContain("Traceback");
  });
});
