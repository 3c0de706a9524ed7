/**
 * The Redis lease store: one Lua script per batch call (see
 * `redis-scripts.ts`), keys under one hash tag (see `redis-keys.ts`), a
 * fail-fast client (see `redis-client.ts`).
 *
 * Clock: Redis server time decides everything (TTLs and the expiry index
 * alike), so replicas with skewed clocks agree on which leases are live.
 * `expiresAt` in a grant is in that clock too.
 *
 * @example
 * ```ts
 * const leases = createRedisLeaseStore({ url: "redis://127.0.0.1:6379/0" });
 * const grants = await leases.acquire([{ taskId, minToken }], workerId, 5_000);
 * await leases.close();
 * ```
 */
import type { Cluster, Redis } from "ioredis";
import { closeRedisClient, createLeaseRedisClient, type LeaseRedisClientOptions } from "./redis-client.js";
import { leaseKeys } from "./redis-keys.js";
import { defineLeaseScripts } from "./redis-scripts.js";
import { holderValue, leaseTtl, parseHolder, tokenFloor } from "./tokens.js";
import type { AcquireItem, ExpiredLease, HeldLease, LeaseGrant, LeaseStore } from "./types.js";

/**
 * Where the store keeps its leases: a URL (it opens and closes its own
 * client) or a client you own (single node, Sentinel or Cluster; its own
 * retry and queueing settings then apply, see `leaseRedisOptions`).
 *
 * @example
 * ```ts
 * createRedisLeaseStore({ url: "redis://127.0.0.1:6379/0", commandTimeoutMs: 1_000 });
 * createRedisLeaseStore({ client: new Cluster(nodes), prefix: "weft" });
 * ```
 */
export type RedisLeaseStoreOptions = {
  /** Hash tag and namespace of every key. Default `"weft"`. */
  prefix?: string;
  /** Called when the connection goes down or comes back (transitions only; own client only). */
  onConnection?: (state: "down" | "up", error?: Error) => void;
} & (({ url: string; client?: never } & LeaseRedisClientOptions) | { client: Redis | Cluster; url?: never });

/**
 * A Redis lease store, with its client (for health checks and tests).
 *
 * @example
 * ```ts
 * const leases = createRedisLeaseStore({ url });
 * await leases.client.ping();
 * ```
 */
export interface RedisLeaseStore extends LeaseStore {
  readonly client: Redis | Cluster;
}

/** Items per script call: bounds how long one script blocks Redis (~a few ms). */
const CHUNK = 2_000;

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/**
 * Creates the Redis lease store. With `url` it opens a client configured by
 * `leaseRedisOptions` (calls fail within about 2 s while Redis is away; it
 * reconnects by itself) and `close()` quits it; with `client` the caller
 * keeps ownership and its settings (it must not use `keyPrefix`).
 *
 * A batch is one script call per 2,000 items, so one round trip for the
 * usual claim batch. Renew and release send their chunks together (one
 * flight); acquire sends them one after another, so tokens rise in item
 * order even when a chunk has to be resent after NOSCRIPT.
 *
 * @example
 * ```ts
 * const leases = createRedisLeaseStore({ url: process.env.REDIS_URL!, prefix: "weft" });
 * const held = await leases.renew([{ taskId, token }], workerId, 5_000);
 * ```
 */
export function createRedisLeaseStore(options: RedisLeaseStoreOptions): RedisLeaseStore {
  const k = leaseKeys(options.prefix ?? "weft");
  const owned = options.client === undefined;
  if (!owned && keyPrefixOf(options.client))
    throw new Error("the lease store's Redis client must not set keyPrefix (use the prefix option)");
  const raw = options.client === undefined ? createLeaseRedisClient(options.url, options) : options.client;
  const client = defineLeaseScripts(raw);
  if (owned) watchConnection(raw, options.onConnection);

  const acquireChunk = async (items: AcquireItem[], workerId: string, ttl: number): Promise<LeaseGrant[]> => {
    const floors = items.flatMap((i) => [i.taskId, String(tokenFloor(i.minToken))]);
    const keys = items.map((i) => k.lease(i.taskId));
    const [exp, tokens] = await client.weftLeaseAcquire(
      3 + keys.length,
      k.seq,
      k.expiry,
      k.holders,
      ...keys,
      workerId,
      String(ttl),
      ...floors,
    );
    const expiresAt = Number(exp);
    return items.map((item, i) => ({ taskId: item.taskId, token: BigInt(tokens[i]!), expiresAt }));
  };

  const renewChunk = (items: HeldLease[], workerId: string, ttl: number): Promise<string[]> => {
    const pairs = items.flatMap((i) => [i.taskId, holderValue(i.token, workerId)]);
    return client.weftLeaseRenew(
      1 + items.length,
      k.expiry,
      ...items.map((i) => k.lease(i.taskId)),
      String(ttl),
      ...pairs,
    );
  };

  const releaseChunk = (items: HeldLease[]): Promise<number> => {
    const pairs = items.flatMap((i) => [i.taskId, `${i.token}:`]);
    return client.weftLeaseRelease(
      2 + items.length,
      k.expiry,
      k.holders,
      ...items.map((i) => k.lease(i.taskId)),
      ...pairs,
    );
  };

  return {
    client: raw,

    async acquire(items, workerId, ttlMs) {
      const ttl = leaseTtl(ttlMs);
      items.forEach((i) => tokenFloor(i.minToken)); // validate all before writing any
      const grants: LeaseGrant[] = [];
      // One chunk after another: a chunk resent after NOSCRIPT must not overtake the next.
      for (const chunk of chunks(items)) grants.push(...(await acquireChunk(chunk, workerId, ttl)));
      return grants;
    },

    async renew(items, workerId, ttlMs) {
      const ttl = leaseTtl(ttlMs);
      const parts = await Promise.all(chunks(items).map((c) => renewChunk(c, workerId, ttl)));
      return parts.flat();
    },

    async check(taskId, token) {
      const value = await raw.get(k.lease(taskId));
      return value !== null && value.startsWith(`${token}:`);
    },

    async release(items) {
      await Promise.all(chunks(items).map(releaseChunk));
    },

    async expired(_nowMs, limit) {
      const n = Math.floor(limit);
      if (!(n > 0)) return [];
      const flat = await client.weftLeaseExpired(2, k.expiry, k.holders, String(n), k.leasePrefix);
      const out: ExpiredLease[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push({ taskId: flat[i]!, ...parseHolder(flat[i + 1]!) });
      return out;
    },

    async close() {
      if (owned) await closeRedisClient(raw);
    },
  };
}

function keyPrefixOf(client: Redis | Cluster): string | undefined {
  const o = client.options as { keyPrefix?: string; redisOptions?: { keyPrefix?: string } };
  return o.keyPrefix || o.redisOptions?.keyPrefix || undefined;
}

/** Reports connection transitions once each (not every retry), and keeps ioredis from printing unhandled errors. */
function watchConnection(client: Redis | Cluster, report: RedisLeaseStoreOptions["onConnection"]): void {
  let up = false;
  let reportedDown = false;
  client.on("error", (err: Error) => {
    if (reportedDown) return;
    reportedDown = true;
    up = false;
    report?.("down", err);
  });
  client.on("ready", () => {
    if (up) return;
    up = true;
    if (reportedDown) report?.("up");
    reportedDown = false;
  });
}
