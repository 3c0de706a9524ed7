/**
 * Durable retry waits: a step's backoff is a not-before time in Postgres, so
 * restarting the control plane during the wait neither loses the retry nor
 * starts the wait over. The SDK worker reconnects to the restarted server on
 * its own.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { RunStatus } from "../../gen/weft/v1/common_pb.js";
import { TaskError, type TaskContext } from "../../sdk/index.js";
import { createTestDatabase, requirePostgres, type TestDatabase } from "../support/db.js";
import { uniqueId } from "../support/execution.js";
import { requireRedis, redisUrl } from "../support/redis.js";
import { defineWorkflow, describeRun, step, trigger, waitForRun, WorkerPool } from "../support/runs.js";
import { startWeft, type Weft } from "../support/weft.js";
import { freePort } from "../support/free-port.js";

const hasPostgres = await requirePostgres();
const hasRedis = await requireRedis();

describe.skipIf(!hasPostgres || !hasRedis)("control-plane restart", () => {
  const workers = new WorkerPool();
  const servers: Weft[] = [];
  let db: TestDatabase | undefined;

  afterEach(async () => {
    await workers.stopAll();
    for (const s of servers.splice(0)) await s.stop();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("keeps a retry's backoff across a restart: not lost, not started over", { timeout: 120_000 }, async () => {
    db = await createTestDatabase();
    const port = await freePort();
    const args = ["--port", String(port)];
    const first = await startWeft({ redisUrl: redisUrl(), databaseUrl: db.url, args });
    servers.push(first);
    const id = uniqueId("durable");
    const backoffMs = 8_000;
    const restartAfterMs = 4_000;
    await defineWorkflow(first.client, {
      id,
      steps: [{ id: "flaky", action: `${id}.flaky`, retry: { max_attempts: 2, initial_interval: "8s" } }],
    });
    let failedAt = 0;
    let retriedAt = 0;
    let failed!: () => void;
    const firstFailure = new Promise<void>((r) => (failed = r));
    await workers.start(
      { address: first.url, name: "patient" },
      {
        [`${id}.flaky`]: (_input: unknown, ctx: TaskContext) => {
          if (ctx.attempt === 1) {
            failedAt = Date.now();
            failed();
            throw TaskError.retryable("HTTP_503", "try later");
          }
          retriedAt = Date.now();
          return { attempt: ctx.attempt };
        },
      },
    );
    const runId = await trigger(first.client, id);
    await firstFailure;
    // Let the failure commit, then restart the control plane on the same port and database.
    await waitForRun(first.client, runId, 10_000, (run) => step(run, "flaky").error?.type === "HTTP_503");
    // Restart well into the backoff, so that a wait kept (at most 8 s + 20 %
    // jitter − 4 s ≈ 5.6 s left at the restart) and a wait started over (at
    // least 8 s from the restart) stay apart however fast the restart is.
    const restartAt = failedAt + restartAfterMs;
    await new Promise((r) => setTimeout(r, Math.max(0, restartAt - Date.now())));
    await first.stop();
    const second = await startWeft({ redisUrl: redisUrl(), databaseUrl: db.url, leasePrefix: first.leasePrefix, args });
    servers.push(second);
    const readyAt = Date.now();

    const run = await waitForRun(second.client, runId, 60_000);
    expect(run.status, describeRun(run)).toBe(RunStatus.SUCCEEDED);
    expect(step(run, "flaky").attempts).toBe(2);
    // Not before the backoff…
    expect(retriedAt - failedAt).toBeGreaterThanOrEqual(backoffMs);
    // …and not a fresh backoff counted from the restart.
    expect(retriedAt - readyAt).toBeLessThan(backoffMs);
  });
});
