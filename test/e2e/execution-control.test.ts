/**
 * Steering runs end to end: CancelRun aborts the running handler (its
 * signal fires) and ends the run CANCELLED; RetryRun of a failed run re-runs
 * only what failed, keeping the succeeded outputs; a worker with two slots
 * never holds more than two tasks at once under fifty queued ones, and one
 * that answers NO_SLOT is not offered the task straight back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RunStatus } from "../../gen/weft/v1/common_pb.js";
import type { Task } from "../../gen/weft/v1/worker_service_pb.js";
import { TaskError, type TaskContext } from "../../sdk/index.js";
import { requirePostgres } from "../support/db.js";
import { uniqueId } from "../support/execution.js";
import { rawWorkerStream } from "../support/raw-worker.js";
import { requireRedis } from "../support/redis.js";
import {
  defineWorkflow,
  describeRun,
  output,
  statuses,
  step,
  trigger,
  waitForRun,
  WorkerPool,
} from "../support/runs.js";
import { e2eBackends, startWeft, type Weft } from "../support/weft.js";

const hasPostgres = await requirePostgres();
const hasRedis = await requireRedis();

describe.each(e2eBackends(hasPostgres, hasRedis, { embedded: false }))(
  "cancel, retry and slots on $name",
  ({ skip, opts }) => {
    let weft: Weft;
    const workers = new WorkerPool();

    beforeAll(async () => {
      if (!skip) weft = await startWeft(opts);
    });
    afterEach(() => workers.stopAll());
    afterAll(async () => {
      await weft?.stop();
    });

    it.skipIf(skip)(
      "cancels a running run: the handler's signal fires, the run ends CANCELLED, and RetryRun runs it again",
      async () => {
        const id = uniqueId("cancel");
        await defineWorkflow(weft.client, {
          id,
          steps: [
            { id: "long", action: `${id}.long`, retry: { max_attempts: 3 } },
            { id: "next", action: `${id}.next`, depends_on: ["long"] },
          ],
        });
        let started!: () => void;
        const running = new Promise<void>((r) => (started = r));
        let aborted!: (reason: unknown) => void;
        const abortReason = new Promise<unknown>((r) => (aborted = r));
        let quick = false;
        await workers.start(
          { address: weft.url },
          {
            [`${id}.long`]: async (_input: unknown, ctx: TaskContext) => {
              if (quick) return { quick: true };
              ctx.signal.addEventListener("abort", () => aborted(ctx.signal.reason), { once: true });
              started();
              await new Promise((_, reject) =>
                ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason as Error), { once: true }),
              );
            },
            [`${id}.next`]: (input: { steps: { long: unknown } }) => {
              if (!quick) throw new Error("must not run before the retry");
              return { after: input.steps.long };
            },
          },
        );
        const runId = await trigger(weft.client, id);
        await running;
        const { run: answered } = await weft.client.runs.cancelRun({ runId, reason: "changed my mind" });
        expect(answered?.status).toBe(RunStatus.CANCELLED);
        const reason = (await Promise.race([
          abortReason,
          new Promise((r) => setTimeout(() => r("no abort within 10 s"), 10_000)),
        ])) as TaskError;
        expect(reason).toBeInstanceOf(TaskError);
        expect(reason.type).toBe("CANCELLED");
        const run = await waitForRun(weft.client, runId);
        expect(run.status).toBe(RunStatus.CANCELLED);
        expect(statuses(run)).toEqual({ long: "CANCELLED", next: "CANCELLED" });
        // Cancelled is final: the aborted handler's failure did not start a retry.
        await new Promise((r) => setTimeout(r, 500));
        const later = (await weft.client.runs.getRun({ runId })).run!;
        expect(step(later, "long").attempts).toBe(1);
        expect(later.status).toBe(RunStatus.CANCELLED);

        // A cancelled run can be retried: its cancelled steps run again.
        quick = true;
        await weft.client.runs.retryRun({ runId });
        const retried = await waitForRun(weft.client, runId);
        expect(retried.status, describeRun(retried)).toBe(RunStatus.SUCCEEDED);
        expect(output(retried, "next")).toEqual({ after: { quick: true } });
      },
    );

    it.skipIf(skip)(
      "retries a failed run, keeping the succeeded steps' outputs (those steps do not run again)",
      async () => {
        const id = uniqueId("retryrun");
        await defineWorkflow(weft.client, {
          id,
          steps: [
            { id: "fetch", action: `${id}.fetch` },
            { id: "side", action: `${id}.side` },
            { id: "charge", action: `${id}.charge`, depends_on: ["fetch"] },
            { id: "ship", action: `${id}.ship`, depends_on: ["charge", "side"] },
          ],
        });
        const calls: Record<string, number> = {};
        const count = (s: string) => (calls[s] = (calls[s] ?? 0) + 1);
        let broken = true;
        const chargeInputs: unknown[] = [];
        await workers.start(
          { address: weft.url },
          {
            [`${id}.fetch`]: () => ({ token: `fetched-${count("fetch")}-${Math.random()}` }),
            [`${id}.side`]: () => ({ side: count("side") }),
            [`${id}.charge`]: (input: { steps: { fetch: { token: string } } }) => {
              count("charge");
              chargeInputs.push(input.steps.fetch);
              if (broken) throw TaskError.nonRetryable("PAYMENT_DOWN", "payment service down");
              return { charged: input.steps.fetch.token };
            },
            [`${id}.ship`]: (input: { steps: Record<string, unknown> }) => {
              count("ship");
              return input.steps;
            },
          },
        );
        const runId = await trigger(weft.client, id);
        const failed = await waitForRun(weft.client, runId);
        expect(failed.status, describeRun(failed)).toBe(RunStatus.FAILED);
        expect(statuses(failed)).toEqual({ fetch: "SUCCEEDED", side: "SUCCEEDED", charge: "FAILED", ship: "SKIPPED" });
        const fetched = output(failed, "fetch");

        broken = false;
        const { run: retried } = await weft.client.runs.retryRun({ runId });
        expect(retried?.status).not.toBe(RunStatus.FAILED);
        const run = await waitForRun(weft.client, runId);
        expect(run.status, describeRun(run)).toBe(RunStatus.SUCCEEDED);
        expect(calls).toEqual({ fetch: 1, side: 1, charge: 2, ship: 1 });
        expect(output(run, "fetch")).toEqual(fetched);
        expect(chargeInputs).toEqual([fetched, fetched]);
        expect(output(run, "ship")).toEqual({
          charge: { charged: (fetched as { token: string }).token },
          side: { side: 1 },
        });
        expect(step(run, "fetch").attempts).toBe(1);
      },
    );

    it.skipIf(skip)(
      "never gives a worker with slots = 2 more than 2 tasks at once, under 50 queued tasks",
      { timeout: 60_000 },
      async () => {
        const id = uniqueId("slots");
        await defineWorkflow(weft.client, { id, steps: [{ id: "job", action: `${id}.job` }] });
        const { runs } = await weft.client.workflows.triggerWorkflows({
          triggers: Array.from({ length: 50 }, () => ({ workflowId: id })),
        });
        expect(runs).toHaveLength(50);
        let current = 0;
        let peak = 0;
        let done = 0;
        const worker = await workers.start(
          { address: weft.url, name: "two-slots", slots: 2 },
          {
            [`${id}.job`]: async () => {
              current++;
              peak = Math.max(peak, current);
              await new Promise((r) => setTimeout(r, 15));
              current--;
              done++;
              return { done };
            },
          },
        );
        const refused: string[] = [];
        worker.on("result", (r) => r.error && refused.push(r.error.type));
        for (const r of runs) {
          const run = await waitForRun(weft.client, r.runId, 30_000);
          expect(run.status, describeRun(run)).toBe(RunStatus.SUCCEEDED);
        }
        expect(done).toBe(50);
        expect(peak).toBe(2);
        // The server itself kept within the slots: the SDK never had to refuse a task (NO_SLOT).
        expect(refused).toEqual([]);
      },
    );

    it.skipIf(skip)(
      "gives a task a worker refused with NO_SLOT to another worker, even with no retries left",
      async () => {
        const id = uniqueId("noslot");
        const action = `${id}.job`;
        await defineWorkflow(weft.client, { id, steps: [{ id: "job", action }] });
        const full = rawWorkerStream(weft.url);
        try {
          full.send({ case: "hello", value: { workerName: "full", actions: [action], slots: 2 } });
          expect((await full.next()).msg.case).toBe("welcome");
          const runId = await trigger(weft.client, id);
          const offered = await full.next();
          expect(offered.msg.case).toBe("task");
          const task = offered.msg.value as Task;
          await workers.start(
            { address: weft.url, name: "free" },
            { [action]: (_input: unknown, ctx: TaskContext) => ({ by: "free", attempt: ctx.attempt }) },
          );
          // What the SDK answers when handlers that outlived a reconnect still hold its slots.
          full.send({
            case: "result",
            value: {
              taskId: task.taskId,
              leaseToken: task.leaseToken,
              outcome: { case: "error", value: { type: "NO_SLOT", message: "all 2 slots are busy", retryable: true } },
            },
          });
          const run = await waitForRun(weft.client, runId);
          expect(run.status, describeRun(run)).toBe(RunStatus.SUCCEEDED);
          expect(output(run, "job")).toEqual({ by: "free", attempt: 2 });
        } finally {
          full.close();
        }
      },
    );
  },
);
