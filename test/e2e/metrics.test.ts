/**
 * `GET /metrics` of a real server process on Postgres and Redis: a known
 * workload (5 runs of a → b, b failing once and retried, each run notifying
 * a webhook receiver that refuses its first delivery) moves every counter
 * by exactly what it did; the queue-depth, worker and free-slot gauges show
 * the queue and the connected worker; a raw worker that never heartbeats
 * makes an expired lease and, with its late result, a stale one. The text
 * passes `promtool check metrics`, and scrapes are not logged at info.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RunStatus } from "../../gen/weft/v1/common_pb.js";
import type { Task } from "../../gen/weft/v1/worker_service_pb.js";
import { jsonToValue, TaskError, type TaskContext } from "../../sdk/index.js";
import { requirePostgres } from "../support/db.js";
import { uniqueId } from "../support/execution.js";
import { startHttpStub, type HttpStub } from "../support/http-stub.js";
import { promtoolCheckMetrics, requirePromtool, scrapeMetrics, type Exposition } from "../support/metrics.js";
import { rawWorkerStream } from "../support/raw-worker.js";
import { redisUrl, requireRedis } from "../support/redis.js";
import { defineWorkflow, describeRun, trigger, waitForRun, WorkerPool } from "../support/runs.js";
import { startWeft, type Weft } from "../support/weft.js";

const hasPostgres = await requirePostgres();
const hasRedis = await requireRedis();
const hasPromtool = requirePromtool();

/** Polls long enough for the ready-task counts' cache (5 s) to expire. */
const POLL = { timeout: 20_000, interval: 250 };

describe.skipIf(!hasPostgres || !hasRedis)("GET /metrics (Postgres + Redis)", () => {
  let weft: Weft;
  let stub: HttpStub;
  const workers = new WorkerPool();
  /** The counter's (or histogram part's) change from `before` to `after`. */
  const delta = (before: Exposition, after: Exposition, name: string, labels?: Record<string, string>) =>
    after.value(name, labels) - before.value(name, labels);

  beforeAll(async () => {
    stub = await startHttpStub();
    // Leases far longer than any step here: no lease may lapse by chance on a loaded machine and
    // add outcomes to the exact counts (the lease test sets a short heartbeat timeout on its step).
    weft = await startWeft({ redisUrl: redisUrl(), args: ["--lease-ttl-ms", "10000", "--webhook-retry-ms", "100"] });
  }, 70_000);
  afterEach(() => workers.stopAll());
  afterAll(async () => {
    await weft?.stop();
    await stub?.close();
  });

  it("counts 5 runs of a → b, b failing once, exactly", { timeout: 90_000 }, async () => {
    const id = uniqueId("metrics");
    const [a, b] = [`${id}.a`, `${id}.b`];
    stub.on("/hook", (_req, res, count) => (count === 1 ? res.text(503, "not yet") : res.text(200, "ok")));
    await defineWorkflow(weft.client, {
      id,
      webhooks: { on_complete: [`${stub.url}/hook`] },
      steps: [
        { id: "a", action: a },
        { id: "b", action: b, depends_on: ["a"], retry: { max_attempts: 3, initial_interval: "50ms" } },
      ],
    });
    const before = await scrapeMetrics(weft.url);
    expect(before.status).toBe(200);
    expect(before.contentType).toBe("text/plain; version=0.0.4; charset=utf-8");

    // No worker yet: the five `a` steps wait in the queue, and the queue depth shows them.
    const runIds: string[] = [];
    for (let i = 0; i < 5; i++) runIds.push(await trigger(weft.client, id, { i }));
    const triggeredAt = Date.now();
    await expect
      .poll(async () => (await scrapeMetrics(weft.url)).value("weft_ready_tasks", { action: a }), POLL)
      .toBe(5);
    expect((await scrapeMetrics(weft.url)).value("weft_workers_connected", { action: a })).toBe(0);

    const workerAt = Date.now();
    await workers.start(
      { address: weft.url, name: "metrics", slots: 4 },
      {
        [a]: () => ({ ok: true }),
        [b]: (_input: unknown, ctx: TaskContext) => {
          if (ctx.attempt === 1) throw TaskError.retryable("FLAKY", "the first attempt fails");
          return { attempt: ctx.attempt };
        },
      },
    );
    for (const runId of runIds) {
      const run = await waitForRun(weft.client, runId, 30_000);
      expect(run.status, describeRun(run)).toBe(RunStatus.SUCCEEDED);
    }
    // Six webhook attempts: the first refused (retried), then five delivered.
    await expect
      .poll(
        async () =>
          delta(before, await scrapeMetrics(weft.url), "weft_webhook_deliveries_total", { outcome: "delivered" }),
        POLL,
      )
      .toBe(5);
    const after = await scrapeMetrics(weft.url);
    const d = (name: string, labels?: Record<string, string>) => delta(before, after, name, labels);

    expect(d("weft_webhook_deliveries_total", { outcome: "retry" })).toBe(1);
    expect(d("weft_runs_started_total", { workflow: id })).toBe(5);
    expect(d("weft_runs_finished_total", { workflow: id, status: "SUCCEEDED" })).toBe(5);
    expect(d("weft_runs_finished_total", { workflow: id, status: "FAILED" })).toBe(0);
    const attempts = "weft_step_attempt_duration_seconds_count";
    expect(d(attempts, { action: a, outcome: "succeeded" })).toBe(5);
    expect(d(attempts, { action: a, outcome: "failed" })).toBe(0);
    expect(d(attempts, { action: b, outcome: "failed" })).toBe(5);
    expect(d(attempts, { action: b, outcome: "succeeded" })).toBe(5);
    expect(d(attempts, { action: b, outcome: "lease_lost" })).toBe(0);
    expect(d("weft_retries_scheduled_total", { action: b })).toBe(5);
    expect(d("weft_retries_scheduled_total", { action: a })).toBe(0);
    expect(d("weft_stale_results_total")).toBe(0);
    expect(d("weft_leases_expired_total")).toBe(0);

    // Every attempt was sent once: a five times, b ten times.
    expect(d("weft_step_schedule_to_start_seconds_count", { action: a })).toBe(5);
    expect(d("weft_step_schedule_to_start_seconds_count", { action: b })).toBe(10);
    // Each `a` was ready before `triggeredAt` and sent after `workerAt`: its wait in the queue counts.
    const waited = d("weft_step_schedule_to_start_seconds_sum", { action: a });
    expect(waited).toBeGreaterThanOrEqual((5 * (workerAt - triggeredAt)) / 1000 - 0.05);

    // Batches: 5 triggers, 15 tasks claimed, 15 results committed, over however many transactions.
    expect(d("weft_trigger_batch_size_sum")).toBe(5);
    expect(d("weft_claim_batch_size_sum")).toBe(15);
    expect(d("weft_completion_batch_size_sum")).toBe(15);
    for (const statement of ["trigger", "claim", "completion"]) {
      expect(d("weft_db_transaction_duration_seconds_count", { statement }), statement).toBeGreaterThan(0);
    }
    expect(after.value("weft_step_attempt_duration_seconds_sum", { action: b, outcome: "succeeded" })).toBeGreaterThan(
      0,
    );

    // This replica's worker: one stream for each of its actions, all 4 slots free once idle.
    expect(after.value("weft_workers_connected", { action: a })).toBe(1);
    expect(after.value("weft_workers_connected", { action: b })).toBe(1);
    await expect
      .poll(async () => (await scrapeMetrics(weft.url)).value("weft_worker_free_slots", { action: b }))
      .toBe(4);
    await expect
      .poll(async () => (await scrapeMetrics(weft.url)).value("weft_ready_tasks", { action: a }), POLL)
      .toBe(0);
    expect(after.samples.some((s) => s.name === "nodejs_eventloop_lag_seconds")).toBe(true);
  });

  it("counts an expired lease, the lost attempt and the late result refused", { timeout: 60_000 }, async () => {
    const id = uniqueId("metrics-lease");
    const action = `${id}.work`;
    await defineWorkflow(weft.client, {
      id,
      steps: [{ id: "work", action, heartbeat_timeout: "1s", retry: { max_attempts: 1 } }],
    });
    const stream = rawWorkerStream(weft.url);
    try {
      stream.send({ case: "hello", value: { workerName: "silent", actions: [action], slots: 1 } });
      expect((await stream.next()).msg.case).toBe("welcome");
      const before = await scrapeMetrics(weft.url);
      const runId = await trigger(weft.client, id);
      const sent = await stream.next();
      expect(sent.msg.case).toBe("task");
      const task = sent.msg.value as Task;
      // No heartbeat: the lease lapses, the attempt is lost and, with no retry left, the run fails.
      expect((await stream.next()).msg.case).toBe("cancel");
      const run = await waitForRun(weft.client, runId);
      expect(run.status, describeRun(run)).toBe(RunStatus.FAILED);
      stream.send({
        case: "result",
        value: { taskId: task.taskId, leaseToken: task.leaseToken, outcome: { case: "output", value: jsonToValue(1) } },
      });
      const ack = await stream.next();
      expect(ack.msg.value).toMatchObject({ taskId: task.taskId, accepted: false });

      const after = await scrapeMetrics(weft.url);
      const d = (name: string, labels?: Record<string, string>) => delta(before, after, name, labels);
      expect(d("weft_leases_expired_total")).toBe(1);
      expect(d("weft_stale_results_total")).toBe(1);
      expect(d("weft_step_attempt_duration_seconds_count", { action, outcome: "lease_lost" })).toBe(1);
      expect(d("weft_step_attempt_duration_seconds_count", { action, outcome: "succeeded" })).toBe(0);
      expect(d("weft_runs_started_total", { workflow: id })).toBe(1);
      expect(d("weft_runs_finished_total", { workflow: id, status: "FAILED" })).toBe(1);
      expect(d("weft_retries_scheduled_total", { action })).toBe(0);
    } finally {
      stream.close();
    }
  });

  it.skipIf(!hasPromtool)("passes promtool check metrics", async () => {
    const { text } = await scrapeMetrics(weft.url);
    // After the workloads above, so labelled histograms and counters are in the text too.
    expect(text).toMatch(/^weft_step_attempt_duration_seconds_bucket\{/m);
    const check = promtoolCheckMetrics(text);
    expect(check.output).toBe("");
    expect(check.status).toBe(0);
  });

  it("answers only GET and HEAD, and does not log scrapes at info", async () => {
    const post = await fetch(`${weft.url}/metrics`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    const head = await fetch(`${weft.url}/metrics`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    await scrapeMetrics(weft.url);
    // The server logs at info: other requests show here, a scrape logged at info would too.
    expect(weft.server.logs.some((l) => l.includes('"path":"/weft.v1.WorkflowService/TriggerWorkflow"'))).toBe(true);
    expect(weft.server.logs.filter((l) => l.includes('"path":"/metrics"'))).toEqual([]);
  });
});
