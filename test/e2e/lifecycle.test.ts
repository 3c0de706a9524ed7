/**
 * Definitions over time and limits, through a real server process on
 * Postgres and Redis with an SDK worker: runs keep their version while new
 * versions appear (and TriggerWorkflow may pin one); DeleteWorkflow stops
 * event triggers and lets running runs finish; a workflow timeout ends the
 * run TIMED_OUT and cancels its task on the worker; oversized inputs and
 * outputs are refused naming the run and step, never stuck.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunStatus, StepStatus } from "../../gen/weft/v1/common_pb.js";
import { Worker } from "../../sdk/index.js";
import { jsonToValue, valueToJson } from "../../src/api/convert.js";
import { eventually } from "../support/execution.js";
import { stackAvailable, startStack, type Stack } from "../support/stack.js";

const available = await stackAvailable();
const LIMIT = 4096;

describe.skipIf(!available)("versions, deletion, workflow timeouts and payload limits", () => {
  let stack: Stack;
  let worker: Worker;
  const aborted: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ env: { WEFT_MAX_PAYLOAD_BYTES: String(LIMIT) } });
    worker = new Worker({ address: stack.url, name: "lifecycle", slots: 4, logger: () => undefined });
    worker.register("lc.wait-forever", async (_input: unknown, ctx) => {
      await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
      aborted.push(ctx.taskId);
      throw new Error("aborted");
    });
    worker.register("lc.big", async (task: { input: { bytes: number } }) => ({ blob: "x".repeat(task.input.bytes) }));
    await worker.start();
  }, 60_000);
  afterAll(async () => {
    await worker?.stop();
    await stack?.stop();
  }, 60_000);

  const wf = (id: string, marker: string, extra = "") =>
    `id: ${id}\n${extra}steps:\n  - { id: nap, action: delay, input: { duration: 1.5s } }\n  - { id: mark, action: transform, depends_on: [nap], input: { expression: "'${marker}'" } }\n`;
  const mark = (run: { steps: { stepId: string; output?: unknown }[] }) =>
    valueToJson(run.steps.find((s) => s.stepId === "mark")!.output as never);

  it("a run pinned to version 1 keeps v1 after v2 is created; new triggers get v2; a pinned trigger gets v1", async () => {
    expect(await stack.createYaml(wf("versioned", "v1"))).toBe(1);
    const { runId: first } = await stack.c.workflows.triggerWorkflow({ workflowId: "versioned" });
    expect(await stack.createYaml(wf("versioned", "v2"))).toBe(2);
    const { runId: second } = await stack.c.workflows.triggerWorkflow({ workflowId: "versioned" });
    const { runId: pinned } = await stack.c.workflows.triggerWorkflow({ workflowId: "versioned", version: 1 });
    const [a, b, c] = await Promise.all([first, second, pinned].map((id) => stack.waitRun(id)));
    expect([a!.workflowVersion, mark(a!)]).toEqual([1, "v1"]);
    expect([b!.workflowVersion, mark(b!)]).toEqual([2, "v2"]);
    expect([c!.workflowVersion, mark(c!)]).toEqual([1, "v1"]);
    expect((await stack.c.workflows.getWorkflow({ id: "versioned" })).versions).toEqual([1, 2]);
  });

  it("DeleteWorkflow stops its event trigger; its running run finishes", async () => {
    await stack.createYaml(wf("deleted", "done", "on: { events: [lc.go] }\n"));
    const { runIds } = await stack.c.workflows.publishEvent({ name: "lc.go" });
    expect(runIds).toHaveLength(1);
    await stack.c.workflows.deleteWorkflow({ id: "deleted" });
    expect((await stack.c.workflows.publishEvent({ name: "lc.go" })).runIds).toEqual([]);
    const run = await stack.waitRun(runIds[0]!);
    expect(run.status).toBe(RunStatus.SUCCEEDED);
    expect(mark(run)).toBe("done");
  });

  it("a workflow timeout ends the run TIMED_OUT and cancels its task on the worker", async () => {
    await stack.createYaml(
      `id: slow\ntimeout: 1s\nsteps:\n  - { id: forever, action: lc.wait-forever }\n  - { id: next, action: transform, depends_on: [forever], input: { expression: "1" } }\n`,
    );
    const started = Date.now();
    const { runId } = await stack.c.workflows.triggerWorkflow({ workflowId: "slow" });
    const run = await stack.waitRun(runId, { timeoutMs: 10_000 });
    expect(run.status).toBe(RunStatus.TIMED_OUT);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(run.steps.map((s) => s.status)).toEqual([StepStatus.CANCELLED, StepStatus.CANCELLED]);
    await eventually(() => (aborted.includes(`${runId}/forever`) ? true : undefined), 5_000, "the worker's abort");
  });

  it("an oversized output fails the step at once with an error naming the run and step", async () => {
    await stack.createYaml(
      `id: big\nsteps:\n  - { id: make, action: lc.big, retry: { max_attempts: 3, initial_interval: 0.1s } }\n`,
    );
    const { runId } = await stack.c.workflows.triggerWorkflow({
      workflowId: "big",
      input: jsonToValue({ bytes: LIMIT * 2 }),
    });
    const run = await stack.waitRun(runId, { timeoutMs: 10_000 });
    expect(run.status).toBe(RunStatus.FAILED);
    const step = run.steps[0]!;
    expect(step.attempts).toBe(1);
    expect(step.error?.type).toBe("PAYLOAD_TOO_LARGE");
    expect(step.error?.message).toContain(`run ${runId} step make`);
    expect(step.error?.message).toContain(String(LIMIT));
    const ok = await stack.c.workflows.triggerWorkflow({ workflowId: "big", input: jsonToValue({ bytes: 100 }) });
    expect((await stack.waitRun(ok.runId)).status).toBe(RunStatus.SUCCEEDED);
  });

  it("a rendered input above the limit fails that step (naming run and step); the run ends, never stuck", async () => {
    await stack.createYaml(
      `id: big-render\nsteps:\n  - { id: make, action: lc.big }\n  - { id: twice, action: transform, depends_on: [make], input: { expression: "1", pad: "\${ steps.make.blob + steps.make.blob }" } }\n`,
    );
    const { runId } = await stack.c.workflows.triggerWorkflow({
      workflowId: "big-render",
      input: jsonToValue({ bytes: 3000 }),
    });
    const run = await stack.waitRun(runId, { timeoutMs: 10_000 });
    expect(run.status).toBe(RunStatus.FAILED);
    const twice = run.steps.find((s) => s.stepId === "twice")!;
    expect(twice.status).toBe(StepStatus.FAILED);
    expect(twice.error?.type).toBe("PAYLOAD_TOO_LARGE");
    expect(twice.error?.message).toContain(`run ${runId} step twice: rendered input`);
  });

  it("an oversized run input is refused with RESOURCE_EXHAUSTED naming it; nothing is stored", async () => {
    const err = await stack.c.workflows
      .triggerWorkflow({ workflowId: "big", input: jsonToValue({ pad: "y".repeat(LIMIT) }) })
      .catch((e: unknown) => e as ConnectError);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((err as ConnectError).rawMessage).toContain('input of a run of workflow "big"');
    const { runs } = await stack.c.runs.listRuns({ workflowId: "big" });
    expect(runs).toHaveLength(2);
  });
});
