/**
 * Retries and timeouts end to end: a step that fails twice then succeeds
 * (attempts and backoff gaps), errors that are not retried (by the worker's
 * flag and by the policy's error types), and a hanging handler that the
 * control plane times out, cancels on the worker and retries.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RunStatus, StepStatus } from "../../gen/weft/v1/common_pb.js";
import { TaskError, type TaskContext } from "../../sdk/index.js";
import { requirePostgres } from "../support/db.js";
import { uniqueId } from "../support/execution.js";
import { requireRedis, redisUrl } from "../support/redis.js";
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
import { startWeft, type Weft } from "../support/weft.js";

const hasPostgres = await requirePostgres();
const hasRedis = await requireRedis();
const skip = !hasPostgres || !hasRedis;

class QuotaError extends Error {
  override name = "QuotaError";
}

describe.skipIf(skip)("retries and timeouts (Postgres + Redis)", () => {
  let weft: Weft;
  const workers = new WorkerPool();

  beforeAll(async () => {
    weft = await startWeft({ redisUrl: redisUrl() });
  });
  afterEach(() => workers.stopAll());
  afterAll(async () => {
    await weft?.stop();
  });

  it("fails twice, then succeeds: three attempts, gaps no shorter than the backoff", async () => {
    const id = uniqueId("flaky");
    const policy = { max_attempts: 3, initial_interval: "300ms", backoff_coefficient: 2, max_interval: "10s" };
    await defineWorkflow(weft.client, { id, steps: [{ id: "flaky", action: `${id}.flaky`, retry: policy }] });
    const starts: number[] = [];
    const ends: number[] = [];
    const attempts: number[] = [];
    await workers.start(
      { address: weft.url },
      {
        [`${id}.flaky`]: (_input: unknown, ctx: TaskContext) => {
          starts.push(Date.now());
          attempts.push(ctx.attempt);
          ends.push(Date.now());
          if (ctx.attempt < 3) throw TaskError.retryable("HTTP_503", `attempt ${ctx.attempt} failed`);
          return { ok: ctx.attempt };
        },
      },
    );
    const runId = await trigger(weft.client, id);
    const run = await waitForRun(weft.client, runId);
    expect(run.status, describeRun(run)).toBe(RunStatus.SUCCEEDED);
    expect(step(run, "flaky").attempts).toBe(3);
    expect(output(run, "flaky")).toEqual({ ok: 3 });
    expect(attempts).toEqual([1, 2, 3]);
    // The worker saw each retry no sooner than initial_interval * coefficient^(n-1) after the failure.
    expect(starts[1]! - ends[0]!).toBeGreaterThanOrEqual(300);
    expect(starts[2]! - ends[1]!).toBeGreaterThanOrEqual(600);
    // The history records the failed attempts with their error, then the success.
    const events = stepEvents(await history(weft.client, runId), "flaky");
    const failed = events.filter((e) => e.error === "HTTP_503");
    expect(failed.map((e) => e.attempt)).toEqual([1, 2]);
    const running = events.filter((e) => e.status === "RUNNING").map((e) => e.attempt);
    expect(running).toEqual([1, 2, 3]);
    expect(events.filter((e) => e.status === "SUCCEEDED").map((e) => e.attempt)).toEqual([3]);
  });

  it("fails at once on TaskError.nonRetryable and on a type listed in non_retryable_errors", async () => {
    const id = uniqueId("fatal");
    const retry = { max_attempts: 5, initial_interval: "100ms", non_retryable_errors: ["QuotaError", "CARD_DECLINED"] };
    await defineWorkflow(weft.client, {
      id,
      steps: [
        { id: "flagged", action: `${id}.flagged`, retry },
        { id: "by_class", action: `${id}.by_class`, retry },
        { id: "by_type", action: `${id}.by_type`, retry },
        {
          id: "plain",
          action: `${id}.plain`,
          retry: { max_attempts: 2, initial_interval: "100ms", non_retryable_errors: ["QuotaError"] },
        },
      ],
    });
    const calls: Record<string, number> = {};
    const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);
    await workers.start(
      { address: weft.url },
      {
        [`${id}.flagged`]: () => {
          count("flagged");
          throw TaskError.nonRetryable("VALIDATION", "bad input");
        },
        [`${id}.by_class`]: () => {
          count("by_class");
          throw new QuotaError("over quota");
        },
        [`${id}.by_type`]: () => {
          count("by_type");
          throw TaskError.retryable("CARD_DECLINED", "declined");
        },
        [`${id}.plain`]: () => {
          count("plain");
          throw new Error("ordinary failure");
        },
      },
    );
    const run = await waitForRun(weft.client, await trigger(weft.client, id));
    expect(run.status).toBe(RunStatus.FAILED);
    for (const [name, type] of [
      ["flagged", "VALIDATION"],
      ["by_class", "QuotaError"],
      ["by_type", "CARD_DECLINED"],
    ] as const) {
      expect(step(run, name).attempts, name).toBe(1);
      expect(step(run, name).error?.type, name).toBe(type);
      expect(calls[name], name).toBe(1);
    }
    // The control: an ordinary error is retried up to max_attempts.
    expect(step(run, "plain").attempts).toBe(2);
    expect(calls.plain).toBe(2);
  });

  it("times out a hanging handler, fires its signal on the worker, and retries the step", async () => {
    const id = uniqueId("hang");
    await defineWorkflow(weft.client, {
      id,
      steps: [
        { id: "slow", action: `${id}.slow`, timeout: "1s", retry: { max_attempts: 2, initial_interval: "100ms" } },
      ],
    });
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const aborted: { attempt: number; type: string; early: number }[] = [];
    await workers.start(
      { address: weft.url, slots: 2 },
      {
        [`${id}.slow`]: async (_input: unknown, ctx: TaskContext) => {
          if (ctx.attempt > 1) return { attempt: ctx.attempt };
          // How long before the attempt's deadline the signal fired (≤ 0: not early).
          ctx.signal.addEventListener(
            "abort",
            () =>
              aborted.push({
                attempt: ctx.attempt,
                type: (ctx.signal.reason as TaskError).type,
                early: ctx.deadline!.getTime() - Date.now(),
              }),
            { once: true },
          );
          // Ignores its signal: only the control plane's timeout can move the step on.
          await released;
          return { attempt: ctx.attempt, late: true };
        },
      },
    );
    try {
      const runId = await trigger(weft.client, id);
      const run = await waitForRun(weft.client, runId);
      expect(run.status, describeRun(run)).toBe(RunStatus.SUCCEEDED);
      expect(step(run, "slow").attempts).toBe(2);
      expect(output(run, "slow")).toEqual({ attempt: 2 });
      expect(aborted).toHaveLength(1);
      expect(["CANCELLED", "DEADLINE_EXCEEDED"]).toContain(aborted[0]!.type);
      expect(aborted[0]!.early).toBeLessThanOrEqual(50);
      const events = stepEvents(await history(weft.client, runId), "slow");
      expect(events.find((e) => e.attempt === 1 && e.error)?.error).toBe("TIMEOUT");
    } finally {
      release();
    }
  });

  it(
    "keeps the lease of a handler that runs past its heartbeat_timeout while it heartbeats",
    { timeout: 30_000 },
    async () => {
      const id = uniqueId("beating");
      await defineWorkflow(weft.client, {
        id,
        steps: [
          {
            id: "long",
            action: `${id}.long`,
            heartbeat_timeout: "1.5s",
            retry: { max_attempts: 3, initial_interval: "100ms" },
          },
        ],
      });
      let aborted = false;
      await workers.start(
        { address: weft.url },
        {
          [`${id}.long`]: async (_input: unknown, ctx: TaskContext) => {
            ctx.signal.addEventListener("abort", () => (aborted = true), { once: true });
            // Three heartbeat timeouts long; the SDK heartbeats on its own.
            await new Promise((r) => setTimeout(r, 4_500));
            return { attempt: ctx.attempt };
          },
        },
      );
      const run = await waitForRun(weft.client, await trigger(weft.client, id));
      expect(run.status, describeRun(run)).toBe(RunStatus.SUCCEEDED);
      expect(step(run, "long").attempts).toBe(1);
      expect(output(run, "long")).toEqual({ attempt: 1 });
      expect(aborted).toBe(false);
    },
  );

  it(
    "ends a run past its workflow timeout TIMED_OUT and cancels its running handler",
    { timeout: 30_000 },
    async () => {
      const id = uniqueId("wf-timeout");
      await defineWorkflow(weft.client, {
        id,
        timeout: "1s",
        steps: [
          { id: "slow", action: `${id}.slow`, retry: { max_attempts: 3 } },
          { id: "after", action: `${id}.after`, depends_on: ["slow"] },
        ],
      });
      let aborted!: (type: string) => void;
      const abort = new Promise<string>((r) => (aborted = r));
      await workers.start(
        { address: weft.url },
        {
          [`${id}.slow`]: (_input: unknown, ctx: TaskContext) =>
            new Promise((_, reject) =>
              ctx.signal.addEventListener(
                "abort",
                () => (aborted((ctx.signal.reason as TaskError).type), reject(ctx.signal.reason as Error)),
                { once: true },
              ),
            ),
          [`${id}.after`]: () => "must not run",
        },
      );
      const started = Date.now();
      const runId = await trigger(weft.client, id);
      const run = await waitForRun(weft.client, runId, 15_000);
      expect(run.status, describeRun(run)).toBe(RunStatus.TIMED_OUT);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(step(run, "slow").status).not.toBe(StepStatus.SUCCEEDED);
      expect(step(run, "after").status).not.toBe(StepStatus.SUCCEEDED);
      expect(await Promise.race([abort, new Promise((r) => setTimeout(() => r("no abort within 10 s"), 10_000))])).toBe(
        "CANCELLED",
      );
    },
  );
});
