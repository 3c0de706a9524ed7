/**
 * The LeaseStore contract, run unchanged against Redis (logical db 9, a
 * fresh key prefix per test) and the in-process store (a fake clock).
 * Then Redis-only checks: key layout, fail-fast, batch timings.
 */
import { randomBytes } from "node:crypto";
import { Redis, type Cluster } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  MAX_LEASE_TOKEN,
  createMemoryLeaseStore,
  createRedisLeaseStore,
  type ExpiredLease,
  type LeaseStore,
} from "../../src/leases/index.js";
import { redisUrl, requireRedis } from "../support/redis.js";

const hasRedis = await requireRedis();

/** Redis db 9: FLUSHDB here disturbs no other suite. */
function leaseDbUrl(): string {
  const url = new URL(redisUrl());
  url.pathname = "/9";
  return url.toString();
}

/** Two replicas' views of one lease store, and control over its time and memory. */
interface Harness {
  /** Replica A. */
  store: LeaseStore;
  /** Replica B (a second Redis client; the same object in process). */
  other: LeaseStore;
  /** The store's clock now (ms). */
  now(): number;
  /** Lets `ms` of the store's time pass. */
  pass(ms: number): Promise<void>;
  /** Loses every lease and the counter (Redis: FLUSHDB; in process: a restart). */
  wipe(): Promise<void>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Deletes a test prefix's keys (the counter, index and holder hash carry no TTL). */
async function dropKeys(client: Redis | Cluster, prefix: string): Promise<void> {
  const keys = await client.keys(`{${prefix}}:*`);
  if (keys.length > 0) await client.del(...keys);
}

const backends: { name: string; skip: boolean; open(): Harness }[] = [
  {
    name: "memory",
    skip: false,
    open() {
      let t = 1_700_000_000_000;
      const make = () => createMemoryLeaseStore({ now: () => t });
      const h: Harness = {
        store: make(),
        other: undefined as unknown as LeaseStore,
        now: () => t,
        pass: async (ms) => {
          t += ms;
        },
        wipe: async () => {
          await h.store.close();
          h.store = h.other = make();
        },
        close: () => h.store.close(),
      };
      h.other = h.store;
      return h;
    },
  },
  {
    name: "redis",
    skip: !hasRedis,
    open() {
      const prefix = `weft-test-${randomBytes(4).toString("hex")}`;
      const store = createRedisLeaseStore({ url: leaseDbUrl(), prefix });
      const other = createRedisLeaseStore({ url: leaseDbUrl(), prefix });
      const h: Harness = {
        store,
        other,
        now: () => Date.now(),
        pass: async (ms) => {
          await sleep(ms);
        },
        wipe: async () => {
          await store.client.flushdb();
        },
        close: async () => {
          await dropKeys(store.client, prefix);
          await Promise.all([store.close(), other.close()]);
        },
      };
      return h;
    },
  },
];

const ids = (n: number, tag = "t") => Array.from({ length: n }, (_, i) => `${tag}-${i}`);
const byId = (a: ExpiredLease, b: ExpiredLease) => a.taskId.localeCompare(b.taskId);

describe.each(backends)("$name lease store", ({ skip, open }) => {
  let h: Harness;
  beforeEach(() => {
    if (!skip) h = open();
  });
  afterEach(async () => {
    if (!skip) await h.close();
  });

  it.skipIf(skip)("hands out rising tokens and expiries a TTL away", async () => {
    const before = h.now();
    const grants = await h.store.acquire([{ taskId: "a" }, { taskId: "b" }, { taskId: "c" }], "w1", 5_000);
    expect(grants.map((g) => g.taskId)).toEqual(["a", "b", "c"]);
    const [a, b, c] = grants.map((g) => g.token);
    expect(a! < b! && b! < c!).toBe(true);
    for (const g of grants) expect(Math.abs(g.expiresAt - (before + 5_000))).toBeLessThan(1_000);
    const [next] = await h.other.acquire([{ taskId: "d" }], "w2", 5_000);
    expect(next!.token > c!).toBe(true);
    expect(await h.store.check("a", a!)).toBe(true);
    expect(await h.store.check("a", b!)).toBe(false);
    expect(await h.store.check("nope", a!)).toBe(false);
  });

  it.skipIf(skip)("takes over a leased task with a higher token and fences out the old one", async () => {
    const [first] = await h.store.acquire([{ taskId: "a" }], "w1", 5_000);
    const [second] = await h.other.acquire([{ taskId: "a" }], "w2", 5_000);
    expect(second!.token > first!.token).toBe(true);
    expect(await h.store.check("a", first!.token)).toBe(false);
    expect(await h.store.check("a", second!.token)).toBe(true);
    expect(await h.store.renew([{ taskId: "a", token: first!.token }], "w1", 5_000)).toEqual([]);
    // Right token, wrong worker: not held either.
    expect(await h.store.renew([{ taskId: "a", token: second!.token }], "w1", 5_000)).toEqual([]);
    expect(await h.other.renew([{ taskId: "a", token: second!.token }], "w2", 5_000)).toEqual(["a"]);
  });

  it.skipIf(skip)("renew extends a lease past its first TTL, and only the held ones", async () => {
    const [a, b] = await h.store.acquire([{ taskId: "a" }, { taskId: "b" }], "w1", 3_000);
    await h.pass(2_000);
    const held = await h.store.renew(
      [
        { taskId: "a", token: a!.token },
        { taskId: "b", token: b!.token + 1000n },
        { taskId: "never-leased", token: a!.token },
      ],
      "w1",
      3_000,
    );
    expect(held).toEqual(["a"]);
    // Seconds, not milliseconds: a loaded machine must not blur the margins.
    await h.pass(2_000); // 4 s after acquire: a lives on the renewal (to ~5 s), b is gone (3 s)
    expect(await h.store.check("a", a!.token)).toBe(true);
    expect(await h.store.check("b", b!.token)).toBe(false);
    await h.pass(2_000); // ~6 s: a is gone too
    expect(await h.store.check("a", a!.token)).toBe(false);
    expect(await h.store.renew([{ taskId: "a", token: a!.token }], "w1", 3_000)).toEqual([]);
  });

  it.skipIf(skip)("a stale token neither renews nor releases the current lease", async () => {
    const [old] = await h.store.acquire([{ taskId: "a" }], "w1", 5_000);
    const [cur] = await h.store.acquire([{ taskId: "a" }], "w1", 5_000);
    expect(await h.store.renew([{ taskId: "a", token: old!.token }], "w1", 5_000)).toEqual([]);
    await h.store.release([{ taskId: "a", token: old!.token }]);
    expect(await h.store.check("a", cur!.token)).toBe(true);
    expect(await h.store.renew([{ taskId: "a", token: cur!.token }], "w1", 5_000)).toEqual(["a"]);
    await h.store.release([{ taskId: "a", token: cur!.token }]);
    expect(await h.store.check("a", cur!.token)).toBe(false);
    expect(await h.store.renew([{ taskId: "a", token: cur!.token }], "w1", 5_000)).toEqual([]);
  });

  it.skipIf(skip)("reports an expired lease once, to one of two concurrent sweepers", async () => {
    const [a] = await h.store.acquire([{ taskId: "a" }], "w1", 100);
    await h.store.acquire([{ taskId: "long" }], "w1", 60_000);
    expect(await h.store.expired(h.now(), 10)).toEqual([]);
    await h.pass(300);
    expect(await h.store.check("a", a!.token)).toBe(false);
    const [x, y] = await Promise.all([h.store.expired(h.now(), 10), h.other.expired(h.now(), 10)]);
    expect([...x!, ...y!]).toEqual([{ taskId: "a", token: a!.token, workerId: "w1" }]);
    expect(await h.store.expired(h.now(), 10)).toEqual([]);
    expect(await h.other.expired(h.now(), 10)).toEqual([]);
  });

  it.skipIf(skip)("splits many expiries between racing sweepers without duplicates", async () => {
    const expiring = ids(50);
    await h.store.acquire(
      expiring.map((taskId) => ({ taskId })),
      "w1",
      100,
    );
    await h.store.acquire(
      ids(5, "long").map((taskId) => ({ taskId })),
      "w2",
      60_000,
    );
    await h.pass(300);
    const seen: ExpiredLease[] = [];
    for (let round = 0; round < 20; round++) {
      const [x, y] = await Promise.all([h.store.expired(h.now(), 7), h.other.expired(h.now(), 7)]);
      if (x!.length + y!.length === 0) break;
      seen.push(...x!, ...y!);
    }
    expect(seen.map((e) => e.taskId).sort()).toEqual([...expiring].sort());
    expect(seen.every((e) => e.workerId === "w1")).toBe(true);
  });

  it.skipIf(skip)("never reports a released or renewed lease as expired", async () => {
    const [a, b] = await h.store.acquire([{ taskId: "a" }, { taskId: "b" }], "w1", 1_000);
    await h.store.release([{ taskId: "a", token: a!.token }]);
    await h.pass(300);
    await h.store.renew([{ taskId: "b", token: b!.token }], "w1", 5_000);
    await h.pass(1_200);
    expect(await h.store.expired(h.now(), 10)).toEqual([]);
    // Released after the lease ran out but before a sweep: still never reported.
    const [c] = await h.store.acquire([{ taskId: "c" }], "w1", 100);
    await h.pass(300);
    await h.store.release([{ taskId: "c", token: c!.token }]);
    expect(await h.store.expired(h.now(), 10)).toEqual([]);
  });

  it.skipIf(skip)("reports expiries oldest first, the re-leased ones not at all", async () => {
    const [a] = await h.store.acquire([{ taskId: "a" }], "w1", 100);
    await h.pass(50);
    const [b] = await h.store.acquire([{ taskId: "b" }], "w2", 100);
    await h.store.acquire([{ taskId: "c" }], "w1", 100);
    await h.store.acquire([{ taskId: "c" }], "w3", 60_000); // taken over before its sweep
    await h.pass(300);
    const got = await h.store.expired(h.now(), 10);
    expect(got).toEqual([
      { taskId: "a", token: a!.token, workerId: "w1" },
      { taskId: "b", token: b!.token, workerId: "w2" },
    ]);
    expect([...got].sort(byId)).toEqual(got);
  });

  it.skipIf(skip)("respects the minToken floor and keeps counting from it", async () => {
    const [a] = await h.store.acquire([{ taskId: "a", minToken: 1_000n }], "w1", 5_000);
    expect(a!.token).toBe(1_001n);
    const [b] = await h.store.acquire([{ taskId: "b" }], "w1", 5_000);
    expect(b!.token).toBe(1_002n);
    const [c] = await h.store.acquire([{ taskId: "c", minToken: 5n }], "w1", 5_000);
    expect(c!.token).toBe(1_003n);
    const mixed = await h.store.acquire(
      [{ taskId: "d" }, { taskId: "e", minToken: 5_000n }, { taskId: "f", minToken: -1n }],
      "w1",
      5_000,
    );
    expect(mixed.map((g) => g.token)).toEqual([1_004n, 5_001n, 5_002n]);
    const [top] = await h.store.acquire([{ taskId: "g", minToken: MAX_LEASE_TOKEN - 1n }], "w1", 5_000);
    expect(top!.token).toBe(MAX_LEASE_TOKEN);
  });

  it.skipIf(skip)("after losing everything, a floor of the last token still yields higher tokens", async () => {
    const grants = await h.store.acquire(
      ids(5).map((taskId) => ({ taskId })),
      "w1",
      5_000,
    );
    const last = grants.at(-1)!.token;
    await h.wipe();
    expect(await h.store.check("t-0", grants[0]!.token)).toBe(false);
    expect(await h.store.renew([{ taskId: "t-0", token: grants[0]!.token }], "w1", 5_000)).toEqual([]);
    const [again] = await h.store.acquire([{ taskId: "t-0", minToken: last }], "w1", 5_000);
    expect(again!.token > last).toBe(true);
    const [later] = await h.other.acquire([{ taskId: "t-1" }], "w1", 5_000);
    expect(later!.token > again!.token).toBe(true);
  });

  it.skipIf(skip)("leases, renews and releases 1,000 tasks per call", async () => {
    const tasks = ids(1_000);
    const grants = await h.store.acquire(
      tasks.map((taskId) => ({ taskId })),
      "w1",
      5_000,
    );
    expect(grants.map((g) => g.taskId)).toEqual(tasks);
    for (let i = 1; i < grants.length; i++) expect(grants[i]!.token > grants[i - 1]!.token).toBe(true);
    const held = await h.store.renew(grants, "w1", 5_000);
    expect(held).toEqual(tasks);
    await h.store.release(grants.slice(0, 500));
    expect(await h.store.check("t-0", grants[0]!.token)).toBe(false);
    expect(await h.store.check("t-999", grants[999]!.token)).toBe(true);
    expect(await h.store.renew(grants, "w1", 5_000)).toEqual(tasks.slice(500));
  });

  it.skipIf(skip)("refuses bad TTLs and floors before changing anything, and accepts empty batches", async () => {
    await expect(h.store.acquire([{ taskId: "a" }], "w1", 0)).rejects.toThrow(RangeError);
    await expect(h.store.renew([{ taskId: "a", token: 1n }], "w1", Number.NaN)).rejects.toThrow(RangeError);
    await expect(
      h.store.acquire([{ taskId: "a" }, { taskId: "b", minToken: MAX_LEASE_TOKEN }], "w1", 1_000),
    ).rejects.toThrow(RangeError);
    const [first] = await h.store.acquire([{ taskId: "a" }], "w1", 1_000);
    expect(first!.token).toBe(1n);
    expect(await h.store.acquire([], "w1", 1_000)).toEqual([]);
    expect(await h.store.renew([], "w1", 1_000)).toEqual([]);
    await h.store.release([]);
    expect(await h.store.expired(h.now(), 0)).toEqual([]);
  });

  it.skipIf(skip)("keeps worker ids with colons intact", async () => {
    const [g] = await h.store.acquire([{ taskId: "a" }], "host:1234:w", 100);
    expect(await h.store.renew([g!], "host:1234:w", 100)).toEqual(["a"]);
    await h.pass(300);
    expect(await h.store.expired(h.now(), 10)).toEqual([{ taskId: "a", token: g!.token, workerId: "host:1234:w" }]);
  });
});

describe.skipIf(!hasRedis)("redis lease store specifics", () => {
  it("keeps every key under one hash tag", async () => {
    const prefix = `weft-test-${randomBytes(4).toString("hex")}`;
    const store = createRedisLeaseStore({ url: leaseDbUrl(), prefix });
    try {
      await store.acquire([{ taskId: "run-1/step.a" }, { taskId: "run-1/step.b" }], "w1", 5_000);
      const keys = await store.client.keys(`*${prefix}*`);
      expect(keys.sort()).toEqual(
        [
          `{${prefix}}:lease:run-1/step.a`,
          `{${prefix}}:lease:run-1/step.b`,
          `{${prefix}}:leases:expiry`,
          `{${prefix}}:leases:holders`,
          `{${prefix}}:leases:seq`,
        ].sort(),
      );
    } finally {
      await dropKeys(store.client, prefix);
      await store.close();
    }
  });

  it("leaves a client it was given open, and refuses one with keyPrefix", async () => {
    const client = new Redis(leaseDbUrl());
    const prefix = `weft-test-${randomBytes(4).toString("hex")}`;
    try {
      const store = createRedisLeaseStore({ client, prefix });
      await store.acquire([{ taskId: "a" }], "w1", 1_000);
      await store.close();
      expect(await client.ping()).toBe("PONG");
      await dropKeys(client, prefix);
      const prefixed = new Redis(leaseDbUrl(), { lazyConnect: true, keyPrefix: "x:" });
      expect(() => createRedisLeaseStore({ client: prefixed })).toThrow(/keyPrefix/);
    } finally {
      client.disconnect();
    }
  });

  it("fails fast, not queued forever, when Redis cannot be reached", async () => {
    const states: string[] = [];
    const store = createRedisLeaseStore({ url: "redis://127.0.0.1:1/9", onConnection: (s) => states.push(s) });
    try {
      for (const call of [
        () => store.acquire([{ taskId: "a" }], "w1", 1_000),
        () => store.check("a", 1n),
        () => store.expired(0, 10),
      ]) {
        const started = performance.now();
        await expect(call()).rejects.toThrow();
        expect(performance.now() - started).toBeLessThan(1_500);
      }
      expect(states).toEqual(["down"]);
    } finally {
      await store.close();
    }
  });

  it("times batches against single calls", async () => {
    const prefix = `weft-test-${randomBytes(4).toString("hex")}`;
    const store = createRedisLeaseStore({ url: leaseDbUrl(), prefix });
    const time = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
      const started = performance.now();
      const value = await fn();
      return [value, performance.now() - started];
    };
    try {
      await store.acquire([{ taskId: "warm-up" }], "w1", 5_000); // loads the script
      const tasks = ids(1_000);
      const [grants, acquireMs] = await time(() =>
        store.acquire(
          tasks.map((taskId) => ({ taskId })),
          "w1",
          30_000,
        ),
      );
      const [held, renewMs] = await time(() => store.renew(grants, "w1", 30_000));
      const [, releaseMs] = await time(() => store.release(grants));
      const [, singlesMs] = await time(async () => {
        for (const taskId of tasks) await store.acquire([{ taskId }], "w2", 30_000);
      });
      expect(held).toHaveLength(1_000);
      const [, tenThousandMs] = await time(() =>
        store.acquire(
          ids(10_000, "big").map((taskId) => ({ taskId })),
          "w3",
          30_000,
        ),
      );
      console.info(
        `redis leases: acquire 1,000 in one call ${acquireMs.toFixed(1)} ms; renew 1,000 ${renewMs.toFixed(1)} ms; ` +
          `release 1,000 ${releaseMs.toFixed(1)} ms; 1,000 sequential single acquires ${singlesMs.toFixed(1)} ms; ` +
          `acquire 10,000 in one call ${tenThousandMs.toFixed(1)} ms`,
      );
      // One script per call: the batch must beat a thousand round trips by far.
      expect(acquireMs * 3).toBeLessThan(singlesMs);
    } finally {
      await dropKeys(store.client, prefix);
      await store.close();
    }
  });
});
