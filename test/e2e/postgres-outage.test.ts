/**
 * Postgres going away under load, as a managed database does on a failover,
 * a minor upgrade or a restart: a private cluster (never the shared one),
 * two replicas and two SDK workers, a few hundred fan-out runs in flight,
 * then (a) `pg_ctl restart -m fast`, (b) stopped for 10 s, (c)
 * `pg_terminate_backend` of every Weft connection. Each time: no replica
 * exits, `/readyz` says 503 while the database is gone and 200 after, every
 * run ends SUCCEEDED within 30 s of the database's return, no step completes
 * twice, and both workers receive tasks again afterwards. Also: a replica
 * started while Postgres is down waits for it and becomes ready.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { jsonToValue } from "../../sdk/index.js";
import { uniqueId } from "../support/execution.js";
import { requirePgCtl, startPrivatePostgres, type PrivatePostgres } from "../support/private-postgres.js";
import { requireRedis, redisUrl } from "../support/redis.js";
import { defineWorkflow, sleep, WorkerPool } from "../support/runs.js";
import { startServerProcess } from "../support/server-process.js";
import { FAST_ARGS, startWeft, type Weft } from "../support/weft.js";
import { workload } from "../support/workload.js";

const hasRedis = await requireRedis();
const hasPgCtl = requirePgCtl();

const RUNS = 200;

/** GET a probe path; 0 when there was no answer. */
const probe = (url: string, path: string): Promise<number> =>
  fetch(`${url}${path}`, { signal: AbortSignal.timeout(6_000) }).then(
    (r) => r.status,
    () => 0,
  );

/**
 * Polls `/readyz` and `/healthz` every 50 ms until stopped; returns the
 * readiness statuses seen, in order, without repeats, and every liveness
 * status that was not 200.
 */
function watchProbes(url: string): { stop(): Promise<{ ready: number[]; unhealthy: number[] }> } {
  const ready: number[] = [];
  const unhealthy: number[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const [r, h] = await Promise.all([probe(url, "/readyz"), probe(url, "/healthz")]);
      if (ready.at(-1) !== r) ready.push(r);
      if (h !== 200) unhealthy.push(h);
      await sleep(50);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { ready, unhealthy };
    },
  };
}

describe.skipIf(!hasRedis || !hasPgCtl)("Postgres going away", () => {
  let cluster: PrivatePostgres;
  const workers = new WorkerPool();
  const replicas: Weft[] = [];

  beforeAll(async () => {
    cluster = await startPrivatePostgres();
  }, 60_000);
  afterEach(async () => {
    await workers.stopAll();
    await Promise.all(replicas.splice(0).map((r) => r.stop()));
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  const outages: [string, (database: string) => Promise<void>, boolean][] = [
    ["pg_ctl restart -m fast", () => cluster.restart(), true],
    [
      "stopped for 10 s, then started",
      async () => {
        await cluster.stop();
        await sleep(10_000);
        await cluster.start();
      },
      true,
    ],
    [
      "pg_terminate_backend of every Weft connection",
      async (database) => {
        expect(await cluster.terminateAll(database)).toBeGreaterThan(0);
      },
      false,
    ],
  ];

  it.each(outages)(
    "%s: no replica exits, every run succeeds once, every worker is fed again",
    { timeout: 180_000 },
    async (outageName, outage, unreachable) => {
      const database = uniqueId("outage")
        .replace(/[^a-z0-9_]/gi, "_")
        .toLowerCase();
      const databaseUrl = await cluster.createDatabase(database);
      const a = await startWeft({ databaseUrl, redisUrl: redisUrl() });
      replicas.push(a);
      const b = await startWeft({ databaseUrl, redisUrl: redisUrl(), leasePrefix: a.leasePrefix });
      replicas.push(b);

      const load = workload(uniqueId("outage"), { width: 3, workMs: 50 });
      await defineWorkflow(a.client, load.spec);
      const taskTimes: Record<string, number[]> = { w1: [], w2: [] };
      for (const [name, address] of [
        ["w1", [a.url, b.url]],
        ["w2", [b.url, a.url]],
      ] as const) {
        const worker = await workers.start({ address: [...address], name, slots: 8 }, load.handlers);
        worker.on("task", () => void taskTimes[name]!.push(Date.now()));
      }
      const { runs } = await a.client.workflows.triggerWorkflows({
        triggers: Array.from({ length: RUNS }, (_, n) => ({ workflowId: load.id, input: jsonToValue({ n }) })),
      });
      const runIds = runs.map((r) => r.runId);
      expect(runIds).toHaveLength(RUNS);
      await load.started(60);

      const probes = [a, b].map((r) => watchProbes(r.url));
      await outage(database);
      const backAt = Date.now();
      await load.expectAllDone(b.client, runIds, 30_000);
      // A figure for the docs and notes, not a timed assertion (the 30 s bound above is the assertion).
      console.log(
        `[outage] ${outageName}: ${RUNS} runs done ${((Date.now() - backAt) / 1000).toFixed(1)} s after the database returned`,
      );
      const seen = await Promise.all(probes.map((p) => p.stop()));

      for (const r of [a, b]) expect(r.server.child.exitCode, r.server.logs.slice(-20).join("\n")).toBeNull();
      for (const { ready, unhealthy } of seen) {
        if (unreachable) expect(ready, "readiness while the database was away").toContain(503);
        expect(ready.at(-1)).toBe(200);
        expect(unhealthy, "liveness stays 200 throughout").toEqual([]);
      }
      expect(Date.now() - backAt).toBeLessThan(60_000);
      // Both workers got tasks after the database came back: neither session was left starved.
      for (const [name, times] of Object.entries(taskTimes))
        expect(times.filter((t) => t > backAt).length, name).toBeGreaterThan(0);
      for (const r of [a, b]) expect(r.server.logs.filter((l) => /Unhandled|uncaught/i.test(l))).toEqual([]);
    },
  );

  it("a replica started while Postgres is down waits for it, then becomes ready", { timeout: 120_000 }, async () => {
    const databaseUrl = await cluster.createDatabase(
      uniqueId("late")
        .replace(/[^a-z0-9_]/gi, "_")
        .toLowerCase(),
    );
    await cluster.stop();
    const starting = startServerProcess({
      env: { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl() },
      args: [...FAST_ARGS, "--shutdown-grace-ms", "1000"],
      timeoutMs: 60_000,
    });
    try {
      // It keeps trying (and saying so) instead of exiting; a loaded machine may take seconds to boot it.
      await sleep(8_000);
      await cluster.start();
      const server = await starting;
      try {
        expect(
          server.logs.filter((l) => l.includes("database unreachable; waiting for it")).length,
        ).toBeGreaterThanOrEqual(1);
        expect(server.logs.some((l) => l.includes("database reachable; migrations applied"))).toBe(true);
        const ready = await fetch(`${server.url}/readyz`);
        expect(ready.status).toBe(200);
      } finally {
        await server.stop();
      }
    } finally {
      await cluster.start().catch(() => undefined);
      await starting.then((s) => s.stop()).catch(() => undefined);
    }
  });
});
