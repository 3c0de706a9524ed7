/**
 * Two control-plane replicas on one Postgres and one Redis: `kill -9` one
 * of them mid-run while SDK workers (given both addresses) are attached to
 * it. The workers reconnect to the other, every run completes, and the
 * history shows no step completing twice.
 */
import { afterEach, describe, expect, it } from "vitest";
import { requirePostgres } from "../support/db.js";
import { uniqueId } from "../support/execution.js";
import { requireRedis, redisUrl } from "../support/redis.js";
import { defineWorkflow, trigger, WorkerPool } from "../support/runs.js";
import { startWeft, type Weft } from "../support/weft.js";
import { workload } from "../support/workload.js";

const hasPostgres = await requirePostgres();
const hasRedis = await requireRedis();

describe.skipIf(!hasPostgres || !hasRedis)("two replicas", () => {
  const workers = new WorkerPool();
  const servers: Weft[] = [];

  afterEach(async () => {
    await workers.stopAll();
    // The second replica first: the first one created (and drops) the database.
    for (const s of servers.splice(0).reverse()) await s.stop();
  });

  it("survives kill -9 of the replica the workers are attached to", { timeout: 120_000 }, async () => {
    const a = await startWeft({ redisUrl: redisUrl() });
    servers.push(a);
    const b = await startWeft({ redisUrl: redisUrl(), databaseUrl: a.databaseUrl, leasePrefix: a.leasePrefix });
    servers.push(b);

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
    expect(connections.filter((c) => c.endsWith(`@${b.url}`)).map((c) => c.split("@")[0]).sort()).toEqual(expect.arrayContaining(["w-1", "w-2"]));
    // The work went on after the kill: more calls than had started before it.
    expect(load.calls).toBeGreaterThan(8);
  });
});
