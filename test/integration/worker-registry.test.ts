/**
 * The WorkerRegistry contract, run unchanged against Redis (logical db 9, a
 * fresh key prefix per test, real time) and the in-process registry (a fake
 * clock). Then Redis-only checks: key layout under the deployment's hash
 * tag, an index naming a hash that is gone, and an unreachable Redis.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  RegistryUnavailableError,
  createMemoryRegistry,
  createRedisRegistry,
  type WorkerEntry,
  type WorkerRegistry,
} from "../../src/registry/index.js";
import { freePort } from "../support/free-port.js";
import { redisUrl, requireRedis } from "../support/redis.js";

const hasRedis = await requireRedis();

/** Redis db 9, like the lease tests: nothing else lives there. */
function registryDbUrl(): string {
  const url = new URL(redisUrl());
  url.pathname = "/9";
  return url.toString();
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Harness {
  /** Replica A's view. */
  registry: WorkerRegistry;
  /** Replica B's view (a second client; the same object in process). */
  other: WorkerRegistry;
  /** Lets `ms` of the registry's time pass. */
  pass(ms: number): Promise<void>;
  close(): Promise<void>;
}

const backends: { name: string; skip: boolean; open(): Harness }[] = [
  {
    name: "memory",
    skip: false,
    open() {
      let t = 1_700_000_000_000;
      const registry = createMemoryRegistry({ now: () => t });
      return {
        registry,
        other: registry,
        pass: async (ms) => {
          t += ms;
        },
        close: () => registry.close(),
      };
    },
  },
  {
    name: "redis",
    skip: !hasRedis,
    open() {
      const prefix = `weft-test-${randomBytes(4).toString("hex")}`;
      const registry = createRedisRegistry({ url: registryDbUrl(), prefix });
      const other = createRedisRegistry({ url: registryDbUrl(), prefix });
      return {
        registry,
        other,
        pass: sleep,
        close: async () => {
          const keys = await registry.client.keys(`{${prefix}}:*`);
          if (keys.length > 0) await registry.client.del(...keys);
          await Promise.all([registry.close(), other.close()]);
        },
      };
    },
  },
];

/** UUIDv7-like ids that sort in the order given. */
const wid = (n: number) => `0190a000-0000-7000-8000-${String(n).padStart(12, "0")}`;

function entry(n: number, over: Partial<WorkerEntry> = {}): WorkerEntry {
  return {
    workerId: wid(n),
    namespace: "default",
    name: `w${n % 2}`,
    actions: n % 2 === 0 ? ["even.a", "both"] : ["odd.a", "both"],
    slots: 4,
    slotsInUse: n % 4,
    labels: { zone: `z${n}`, ünïcode: '✓ "quoted"' },
    replicaId: "host:1:abc123",
    replicaAddress: "http://host:8080",
    connectedAt: 1_700_000_000_000 + n,
    lastSeenAt: 1_700_000_001_000 + n,
    reportedAt: 1_700_000_002_000 + n,
    ...over,
  };
}

const idsOf = (p: { workers: WorkerEntry[] }) => p.workers.map((w) => w.workerId);

describe.each(backends)("$name worker registry", ({ skip, open }) => {
  let h: Harness;
  beforeEach(() => {
    if (!skip) h = open();
  });
  afterEach(async () => {
    if (!skip) await h.close();
  });

  it.skipIf(skip)("lists what was put, every field intact, to every replica", async () => {
    await h.registry.put([entry(2), entry(1)], 60_000);
    expect((await h.other.list({ limit: 50 })).workers).toEqual([entry(1), entry(2)]);
    expect(await h.registry.list({ limit: 50 })).toEqual({ workers: [entry(1), entry(2)] });
  });

  it.skipIf(skip)("a second put rewrites the entry; remove drops it at once", async () => {
    await h.registry.put([entry(1), entry(2)], 60_000);
    await h.registry.put([entry(1, { slotsInUse: 3, lastSeenAt: 42 })], 60_000);
    const [one] = (await h.other.list({ limit: 50 })).workers;
    expect(one).toMatchObject({ workerId: wid(1), slotsInUse: 3, lastSeenAt: 42 });
    await h.registry.remove([wid(1), wid(99)]);
    expect(idsOf(await h.other.list({ limit: 50 }))).toEqual([wid(2)]);
    await h.registry.remove([]);
  });

  it.skipIf(skip)("pages in worker id order and filters by action and name", async () => {
    await h.registry.put(
      [5, 3, 1, 4, 2, 6].map((n) => entry(n)),
      60_000,
    );
    const first = await h.registry.list({ limit: 4 });
    expect(idsOf(first)).toEqual([wid(1), wid(2), wid(3), wid(4)]);
    expect(first.next).toBe(wid(4));
    const second = await h.registry.list({ limit: 4, after: first.next });
    expect(second).toEqual({ workers: [entry(5), entry(6)] });
    // Exactly a page left: no next.
    expect((await h.registry.list({ limit: 2, after: wid(4) })).next).toBeUndefined();

    expect(idsOf(await h.registry.list({ limit: 50, action: "odd.a" }))).toEqual([wid(1), wid(3), wid(5)]);
    expect(idsOf(await h.registry.list({ limit: 50, action: "both" }))).toHaveLength(6);
    expect(idsOf(await h.registry.list({ limit: 50, action: "odd" }))).toEqual([]);
    expect(idsOf(await h.registry.list({ limit: 50, name: "w0" }))).toEqual([wid(2), wid(4), wid(6)]);
    const filtered = await h.registry.list({ limit: 1, name: "w0", action: "even.a", after: wid(2) });
    expect(filtered).toEqual({ workers: [entry(4)], next: wid(4) });
    expect(await h.registry.list({ limit: 1, name: "w0", action: "even.a", after: wid(4) })).toEqual({
      workers: [entry(6)],
    });
  });

  it.skipIf(skip)("drops an entry once its TTL passed without a rewrite; a rewrite keeps it", async () => {
    // Seconds, not milliseconds: a loaded machine must not blur the margins.
    await h.registry.put([entry(1), entry(2)], 3_000);
    await h.pass(2_000);
    await h.registry.put([entry(2)], 3_000);
    await h.pass(2_000); // 4 s after the first put, 2 s after the rewrite
    expect(idsOf(await h.other.list({ limit: 50 }))).toEqual([wid(2)]);
    await h.pass(2_000);
    expect(await h.other.list({ limit: 50 })).toEqual({ workers: [] });
  });
});

describe.skipIf(!hasRedis)("redis worker registry", () => {
  let prefix: string;
  let registry: ReturnType<typeof createRedisRegistry>;
  let client: Redis;
  beforeEach(() => {
    prefix = `weft-test-${randomBytes(4).toString("hex")}`;
    registry = createRedisRegistry({ url: registryDbUrl(), prefix });
    client = registry.client as Redis;
  });
  afterEach(async () => {
    const keys = await client.keys(`{${prefix}}:*`);
    if (keys.length > 0) await client.del(...keys);
    await registry.close();
  });

  it("keeps a hash with a TTL per worker and a sorted-set index, under the lease prefix's hash tag", async () => {
    await registry.put([entry(1)], 60_000);
    expect((await client.keys(`*${prefix}*`)).sort()).toEqual([`{${prefix}}:worker:${wid(1)}`, `{${prefix}}:workers`]);
    const ttl = await client.pttl(`{${prefix}}:worker:${wid(1)}`);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await client.hget(`{${prefix}}:worker:${wid(1)}`, "name")).toBe("w1");
    expect(await client.zscore(`{${prefix}}:workers`, wid(1))).not.toBeNull();
  });

  it("does not list an entry whose hash is gone while the index still names it, and prunes the index", async () => {
    await registry.put([entry(1), entry(2)], 60_000);
    await client.pexpire(`{${prefix}}:worker:${wid(1)}`, 1); // its TTL passes; the index score says a minute
    await sleep(50);
    expect(await client.zscore(`{${prefix}}:workers`, wid(1))).not.toBeNull();
    expect(idsOf(await registry.list({ limit: 50 }))).toEqual([wid(2)]);
    expect(await client.zscore(`{${prefix}}:workers`, wid(1))).toBeNull();
  });

  it("prunes index members whose expiry passed", async () => {
    await registry.put([entry(1)], 200);
    await sleep(400);
    expect(await client.zcard(`{${prefix}}:workers`)).toBe(1);
    expect(await registry.list({ limit: 50 })).toEqual({ workers: [] });
    expect(await client.zcard(`{${prefix}}:workers`)).toBe(0);
  });

  it("rejects list with RegistryUnavailableError, and put and remove with an error, when Redis is unreachable", async () => {
    const down = createRedisRegistry({ url: `redis://127.0.0.1:${await freePort()}`, prefix });
    try {
      await expect(down.list({ limit: 50 })).rejects.toBeInstanceOf(RegistryUnavailableError);
      await expect(down.put([entry(1)], 1_000)).rejects.toThrow();
      await expect(down.remove([wid(1)])).rejects.toThrow();
    } finally {
      await down.close();
    }
  });
});
