/**
 * `WorkerService.ListWorkers` against real server processes. Two replicas on
 * one Postgres and Redis: workers attached to either are listed by both,
 * with their replica, actions, slots, labels, and slots in use following a
 * running task; filters and paging. A stopped worker goes at once (on a
 * replica whose entries would live 30 s), a worker killed with `kill -9`
 * within the lease time, and the workers of a replica killed with `kill -9`
 * once their entries' TTL passes. Redis down: `UNAVAILABLE`, while tasks
 * still run; back: the list is whole again. Embedded: one replica, in process.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RunStatus } from "../../gen/weft/v1/common_pb.js";
import type { WorkerInfo } from "../../gen/weft/v1/worker_service_pb.js";
import type { WeftClient } from "../../sdk/index.js";
import { requirePostgres } from "../support/db.js";
import { uniqueId } from "../support/execution.js";
import { requireRedisServer, startPrivateRedis } from "../support/private-redis.js";
import { redisUrl, requireRedis } from "../support/redis.js";
import { defineWorkflow, sleep, trigger, waitForRun, WorkerPool } from "../support/runs.js";
import { START_EMBEDDED_MS, startWeft, type Weft } from "../support/weft.js";
import { startWorkerProcess } from "../support/worker-process.js";

const hasPostgres = await requirePostgres();
const hasRedis = await requireRedis();
const hasRedisServer = requireRedisServer();

/** FAST_ARGS' lease time; the registry's TTL is 1.5 of it (2.25 s). */
const LEASE_MS = 1_500;
/** Slack for a loaded machine on top of any deadline below. */
const MARGIN_MS = 8_000;

/** Every page of ListWorkers. */
async function listAll(client: WeftClient, req: { action?: string; name?: string } = {}): Promise<WorkerInfo[]> {
  const out: WorkerInfo[] = [];
  let pageToken = "";
  do {
    const page = await client.workers.listWorkers({ ...req, pageToken });
    out.push(...page.workers);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return out;
}

/** Polls the list until `test` holds; fails with the last list after `timeoutMs`. */
async function waitForList(
  client: WeftClient,
  test: (workers: WorkerInfo[]) => boolean,
  timeoutMs = 10_000,
): Promise<WorkerInfo[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const workers = await listAll(client);
    if (test(workers)) return workers;
    if (Date.now() > end) {
      const seen = workers.map((w) => `${w.name}@${w.replica?.address} in use ${w.slotsInUse}`);
      throw new Error(`list not as expected within ${timeoutMs} ms: [${seen.join(", ")}]`);
    }
    await sleep(100);
  }
}

const named = (workers: WorkerInfo[], name: string) => workers.find((w) => w.name === name);

/** A handler that runs until the returned `release` is called. */
function heldTask() {
  let started!: () => void;
  let release!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const released = new Promise<void>((r) => (release = r));
  return { running, release, handler: async () => (started(), await released, { ok: true }) };
}

describe.skipIf(!hasPostgres || !hasRedis)("ListWorkers across replicas", () => {
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

  it("lists the workers of both replicas on either, with replica, actions, slots, labels and slots in use", async () => {
    const id = uniqueId("list");
    const hold = heldTask();
    await defineWorkflow(a.client, { id, steps: [{ id: "hold", action: `${id}.hold` }] });
    const onA = await workers.start(
      { address: a.url, name: `${id}-a`, slots: 2, labels: { zone: "a", team: "ops" } },
      { [`${id}.hold`]: hold.handler },
    );
    const onB = await workers.start(
      { address: b.url, name: `${id}-b`, slots: 3, labels: { zone: "b" } },
      { [`${id}.other`]: () => 1, [`${id}.more`]: () => 2 },
    );
    for (const client of [a.client, b.client]) {
      const list = await waitForList(client, (l) => !!named(l, `${id}-a`) && !!named(l, `${id}-b`));
      expect(list.map((w) => w.name)).not.toContain("builtin");
      const wa = named(list, `${id}-a`)!;
      const wb = named(list, `${id}-b`)!;
      expect(wa).toMatchObject({ workerId: onA.workerId, actions: [`${id}.hold`], slots: 2, slotsInUse: 0 });
      expect(wa.labels).toEqual({ zone: "a", team: "ops" });
      expect(wa.replica?.address).toBe(a.url);
      expect(wb).toMatchObject({ workerId: onB.workerId, slots: 3, labels: { zone: "b" } });
      expect([...wb.actions].sort()).toEqual([`${id}.more`, `${id}.other`]);
      expect(wb.replica?.address).toBe(b.url);
      expect(wa.replica?.id).not.toBe("");
      expect(wa.replica?.id).not.toBe(wb.replica?.id);
      expect(timestampMs(wa.lastSeenAt!)).toBeGreaterThanOrEqual(timestampMs(wa.connectedAt!));
      expect(timestampMs(wa.reportedAt!)).toBeGreaterThanOrEqual(timestampMs(wa.connectedAt!));
    }

    const runId = await trigger(b.client, id);
    await hold.running;
    await waitForList(b.client, (l) => named(l, `${id}-a`)?.slotsInUse === 1);
    await waitForList(a.client, (l) => named(l, `${id}-a`)?.slotsInUse === 1);
    hold.release();
    expect((await waitForRun(a.client, runId)).status).toBe(RunStatus.SUCCEEDED);
    await waitForList(b.client, (l) => named(l, `${id}-a`)?.slotsInUse === 0);
  });

  it("filters by action and name, and pages in the order the workers connected", async () => {
    const id = uniqueId("filter");
    const started: Awaited<ReturnType<typeof workers.start>>[] = [];
    for (const n of [1, 2, 3]) {
      const address = n === 2 ? b.url : a.url;
      started.push(await workers.start({ address, name: `${id}-${n}` }, { [`${id}.x${n % 2}`]: () => n }));
    }
    await waitForList(a.client, (l) => [1, 2, 3].every((n) => named(l, `${id}-${n}`)));
    const odd = await b.client.workers.listWorkers({ action: `${id}.x1` });
    expect(odd.workers.map((w) => w.name)).toEqual([`${id}-1`, `${id}-3`]);
    const two = await b.client.workers.listWorkers({ name: `${id}-2` });
    expect(two.workers.map((w) => w.workerId)).toEqual([started[1]!.workerId]);
    const first = await a.client.workers.listWorkers({ action: `${id}.x1`, pageSize: 1 });
    expect(first.workers.map((w) => w.name)).toEqual([`${id}-1`]);
    expect(first.nextPageToken).not.toBe("");
    const second = await b.client.workers.listWorkers({
      action: `${id}.x1`,
      pageSize: 1,
      pageToken: first.nextPageToken,
    });
    expect(second.workers.map((w) => w.name)).toEqual([`${id}-3`]);
    expect(second.nextPageToken).toBe("");
    await expect(a.client.workers.listWorkers({ pageToken: "bm90LWEtdXVpZA" })).rejects.toMatchObject({
      code: Code.InvalidArgument,
    });
  });

  it("drops a worker killed with kill -9 within the lease time", { timeout: 60_000 }, async () => {
    const id = uniqueId("kill9");
    const child = await startWorkerProcess({ address: a.url, name: id, slots: 1, actions: { [`${id}.a`]: "echo" } });
    try {
      await waitForList(b.client, (l) => !!named(l, id));
      await child.kill();
      await waitForList(b.client, (l) => !named(l, id), LEASE_MS + MARGIN_MS);
    } finally {
      await child.kill();
    }
  });

  it("drops a stopped worker at once, long before its entry would expire", { timeout: 90_000 }, async () => {
    // A replica whose entries live 30 s (lease 20 s → refresh 5 s, TTL 3 refreshes): only removal explains a quick exit.
    const slow = await startWeft({
      redisUrl: redisUrl(),
      databaseUrl: a.databaseUrl,
      leasePrefix: a.leasePrefix,
      args: ["--lease-ttl-ms", "20000"],
    });
    try {
      const id = uniqueId("stop");
      const worker = await workers.start({ address: slow.url, name: id }, { [`${id}.a`]: () => 1 });
      await waitForList(a.client, (l) => named(l, id)?.replica?.address === slow.url);
      await worker.stop();
      await waitForList(a.client, (l) => !named(l, id), MARGIN_MS);
    } finally {
      await slow.stop();
    }
  });

  it(
    "drops the workers of a replica killed with kill -9 once their entries' TTL passes",
    { timeout: 90_000 },
    async () => {
      const doomed = await startWeft({ redisUrl: redisUrl(), databaseUrl: a.databaseUrl, leasePrefix: a.leasePrefix });
      try {
        const id = uniqueId("dead-replica");
        await workers.start({ address: doomed.url, name: id }, { [`${id}.a`]: () => 1 });
        await waitForList(a.client, (l) => named(l, id)?.replica?.address === doomed.url);
        await doomed.server.kill();
        // Nobody removed the entry: it stays until the TTL (1.5 lease times) ends it.
        await waitForList(a.client, (l) => !named(l, id), 1.5 * LEASE_MS + MARGIN_MS);
      } finally {
        await workers.stopAll();
        await doomed.stop();
      }
    },
  );
});

describe.skipIf(!hasPostgres || !hasRedisServer)("ListWorkers while Redis is down", () => {
  it(
    "answers UNAVAILABLE while tasks still run, and lists every worker again once Redis is back",
    {
      timeout: 120_000,
    },
    async () => {
      const redis = await startPrivateRedis();
      const workers = new WorkerPool();
      const weft = await startWeft({ redisUrl: redis.url });
      try {
        const id = uniqueId("redis-down");
        await defineWorkflow(weft.client, { id, steps: [{ id: "a", action: `${id}.a` }] });
        await workers.start({ address: weft.url, name: id }, { [`${id}.a`]: () => ({ ok: true }) });
        await waitForList(weft.client, (l) => !!named(l, id));
        const restarting = redis.restart(12_000); // down 12 s, then back empty
        await sleep(500);
        const err = await weft.client.workers.listWorkers({}).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(ConnectError.from(err).code).toBe(Code.Unavailable);
        // Dispatch does not need the registry: a run completes while Redis is away.
        const runId = await trigger(weft.client, id);
        expect((await waitForRun(weft.client, runId)).status).toBe(RunStatus.SUCCEEDED);
        await restarting;
        // The new Redis is empty: the next refresh writes the worker again.
        await waitForList(weft.client, (l) => !!named(l, id), MARGIN_MS);
      } finally {
        await workers.stopAll();
        await weft.stop();
        await redis.stop();
      }
    },
  );
});

describe("ListWorkers embedded (no Redis)", () => {
  const workers = new WorkerPool();
  let weft: Weft;
  beforeAll(async () => {
    weft = await startWeft({ backend: "pglite" });
  }, START_EMBEDDED_MS + 10_000);
  afterAll(() => weft?.stop());

  it(
    "lists this replica's workers in process, with slots in use, and drops a stopped one",
    { timeout: 60_000 },
    async () => {
      const id = uniqueId("embedded");
      const hold = heldTask();
      await defineWorkflow(weft.client, { id, steps: [{ id: "hold", action: `${id}.hold` }] });
      const worker = await workers.start(
        { address: weft.url, name: id, slots: 5, labels: { host: "here" } },
        { [`${id}.hold`]: hold.handler },
      );
      const list = await waitForList(weft.client, (l) => !!named(l, id));
      expect(list.map((w) => w.name)).toEqual([id]);
      expect(list[0]).toMatchObject({ workerId: worker.workerId, slots: 5, labels: { host: "here" } });
      expect(list[0]!.replica?.address).toBe(weft.url);
      const runId = await trigger(weft.client, id);
      await hold.running;
      await waitForList(weft.client, (l) => named(l, id)?.slotsInUse === 1);
      hold.release();
      expect((await waitForRun(weft.client, runId)).status).toBe(RunStatus.SUCCEEDED);
      await worker.stop();
      await waitForList(weft.client, (l) => l.length === 0);
      await workers.stopAll();
    },
  );
});
