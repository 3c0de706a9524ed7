/**
 * Two control-plane replicas on one Postgres and one Redis. A cancel sent
 * to one replica reaches a handler whose worker is attached to the other;
 * then `kill -9` of the replica the SDK workers (given both addresses) are
 * attached to, mid-run: they reconnect to the other, every run completes,
 * and the history shows no step completing twice.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RunStatus } from "../../gen/weft/v1/common_pb.js";
import type { TaskContext, TaskError } from "../../sdk/index.js";
import { requirePostgres } from "../support/db.js";
import { uniqueId } from "../support/execution.js";
import { requireRedis, redisUrl } from "../support/redis.js";
import { defineWorkflow, history, trigger, waitForRun, WorkerPool } from "../support/runs.js";
import { startWeft, type Weft } from "../support/weft.js";
import { workload } from "../support/workload.js";

const hasPostgres = await requirePostgres();
const hasRedis = await requireRedis();

describe.skipIf(!hasPostgres || !hasRedis)("two replicas", () => {
  const workers = new WorkerPool();
  let a: Weft;
  let b: Weft;

  beforeAll(async () => {
    a = await startWeft({ redisUrl: redisUrl() });
    b = await startWeft({ redisUrl: redisUrl(), databaseUrl: a.databaseUrl, leasePrefix: a.leasePrefix });
  });
  afterEach(() => workers.stopAll());
  afterAll(async () => {
    // The second replica first: the first one created (and drops) the database.
    await b?.stop();
    await a?.stop();
  });

  it("pushes a cancel made on one replica to a handler whose worker is on the other", async () => {
    const id = uniqueId("xcancel");
    await defineWorkflow(a.client, { id, steps: [{ id: "long", action: `${id}.long` }] });
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    let aborted!: (type: string) => void;
    const abort = new Promise<string>((r) => (aborted = r));
    await workers.start(
      { address: a.url, name: "on-a" },
      {
        [`${id}.long`]: (_input: unknown, ctx: TaskContext) => {
          started();
          return new Promise((_, reject) =>
            ctx.signal.addEventListener(
              "abort",
              () => (aborted((ctx.signal.reason as TaskError).type), reject(ctx.signal.reason as Error)),
              { once: true },
            ),
          );
        },
      },
    );
    const runId = await trigger(b.client, id);
    await running;
    await b.client.runs.cancelRun({ runId });
    expect(await Promise.race([abort, new Promise((r) => setTimeout(() => r("no abort within 10 s"), 10_000))])).toBe(
      "CANCELLED",
    );
    expect((await waitForRun(a.client, runId)).status).toBe(RunStatus.CANCELLED);
  });

  it(
    "drains a replica on SIGTERM: its workers finish their tasks and move to the other, nothing is lost",
    { timeout: 120_000 },
    async () => {
      const c = await startWeft({ redisUrl: redisUrl(), databaseUrl: a.databaseUrl, leasePrefix: a.leasePrefix });
      try {
        const load = workload(uniqueId("drain-replica"), { width: 6, workMs: 300 });
        await defineWorkflow(b.client, load.spec);
        const connections: string[] = [];
        for (const name of ["d-1", "d-2"]) {
          const worker = await workers.start({ address: [c.url, b.url], name, slots: 4 }, load.handlers);
          worker.on("connected", ({ address }) => connections.push(`${name}@${address}`));
        }
        const runIds = await Promise.all([1, 2, 3].map((n) => trigger(b.client, load.id, { n })));
        await load.started(8);
        expect(await c.server.stop()).toBe(0);
        await load.expectAllDone(b.client, runIds);
        expect(
          connections
            .filter((x) => x.endsWith(`@${b.url}`))
            .map((x) => x.split("@")[0])
            .sort(),
        ).toEqual(["d-1", "d-2"]);
        // A graceful shutdown lets running handlers finish and acknowledges them: no lease was lost.
        for (const runId of runIds) {
          const lost = (await history(b.client, runId)).filter((e) => e.error?.type === "LEASE_LOST");
          expect(
            lost.map((e) => `${e.stepId}#${e.attempt}`),
            runId,
          ).toEqual([]);
        }
      } finally {
        await c.stop();
      }
    },
  );

  it("survives kill -9 of the replica the workers are attached to", { timeout: 120_000 }, async () => {
    const load = workload(uniqueId("replicas"), { width: 6, workMs: 300 });
    await defineWorkflow(b.client, load.spec);
    const connections: string[] = [];
    for (const name of ["w-1", "w-2"]) {
      const worker = await workers.start({ address: [a.url, b.url], name, slots: 4 }, load.handlers);
      worker.on("connected", ({ address }) => connections.push(`${name}@${address}`));
    }
    // Triggered through B, executed by workers on A: the wake-up crosses replicas.
    const runIds = await Promise.all([1, 2, 3].map((n) => trigger(b.client, load.id, { n })));
    await load.started(8);

    await a.server.kill();
    await load.expectAllDone(b.client, runIds);
    // Both workers came back, on B.
    expect(
      connections
        .filter((c) => c.endsWith(`@${b.url}`))
        .map((c) => c.split("@")[0])
        .sort(),
    ).toEqual(expect.arrayContaining(["w-1", "w-2"]));
    // The work went on after the kill: more calls than had started before it.
    expect(load.calls).toBeGreaterThan(8);
  });
});
