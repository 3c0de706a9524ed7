/**
 * The Redis worker registry: a hash per worker with a TTL, and a sorted set
 * indexing them, all under the deployment's hash tag (see
 * `src/leases/redis-keys.ts`), so the scripts run unchanged on a cluster.
 *
 * | key | type | holds |
 * |---|---|---|
 * | `{p}:worker:<workerId>` | hash, PX = TTL | the entry's fields (`FIELDS`) |
 * | `{p}:workers` | sorted set | worker id → expiry (ms, Redis clock) |
 *
 * The index only says which hashes to look at: an entry is listed only while
 * its hash lives, and listing prunes index members whose expiry passed or
 * whose hash is gone (a replica killed mid-write, a key evicted).
 *
 * @example
 * ```ts
 * const registry = createRedisRegistry({ url: "redis://127.0.0.1:6379/0", prefix: "weft" });
 * await registry.put([entry], 7_500);
 * await registry.close();
 * ```
 */
import type { Cluster, Redis } from "ioredis";
import { closeRedisClient, createLeaseRedisClient, type LeaseRedisClientOptions } from "../leases/redis-client.js";
import { hashTag } from "../leases/redis-keys.js";
import { RegistryUnavailableError, type WorkerEntry, type WorkerRegistry } from "./types.js";

/** Hash fields of an entry, in the order the scripts write and read them (the worker id is the key). */
const FIELDS = [
  "name",
  "actions",
  "slots",
  "inUse",
  "labels",
  "replica",
  "address",
  "connectedAt",
  "lastSeenAt",
  "reportedAt",
  "namespace",
] as const;
const LUA_FIELDS = `local F = {${FIELDS.map((f) => `'${f}'`).join(", ")}}`;

/** Redis `TIME` as ms since the epoch. */
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: index, worker key × n. ARGV: ttl, then (id, field values…) × n.
 * The index score is the hash's expiry on the same clock.
 */
const PUT = `${NOW}${LUA_FIELDS}
local ttl = tonumber(ARGV[1])
local exp = string.format('%d', now + ttl)
local n = #F + 1
for i = 1, #KEYS - 1 do
  local base = 1 + (i - 1) * n
  local args = {}
  for f = 1, #F do
    args[2 * f - 1] = F[f]
    args[2 * f] = ARGV[base + 1 + f]
  end
  redis.call('HSET', KEYS[1 + i], unpack(args))
  redis.call('PEXPIRE', KEYS[1 + i], ttl)
  redis.call('ZADD', KEYS[1], exp, ARGV[base + 1])
end
return 0
`;

/**
 * KEYS: index. ARGV: worker key prefix, after, limit, name, action, namespace.
 * Returns { next or '', then (id, field values…) per entry }, in id order.
 * Worker keys are built here: they share the index's slot (same hash tag).
 */
const LIST = `${NOW}${LUA_FIELDS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))
local prefix, after, limit, name, action, namespace = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
local function runs(actions)
  for _, a in ipairs(cjson.decode(actions)) do
    if a == action then return true end
  end
  return false
end
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
table.sort(ids)
local out = { '' }
local count, last = 0, ''
for _, id in ipairs(ids) do
  if id > after then
    local v = redis.call('HMGET', prefix .. id, unpack(F))
    if not v[1] then
      redis.call('ZREM', KEYS[1], id)
    elseif (name == '' or v[1] == name) and (action == '' or runs(v[2])) and (namespace == '' or v[11] == namespace) then
      if count == limit then
        out[1] = last
        break
      end
      count, last = count + 1, id
      out[#out + 1] = id
      for f = 1, #F do out[#out + 1] = v[f] end
    end
  end
end
return out
`;

interface RegistryScripts {
  weftWorkersPut(numKeys: number, ...args: string[]): Promise<number>;
  weftWorkersList(numKeys: number, ...args: string[]): Promise<string[]>;
}

/**
 * Where the registry keeps its entries: a URL (it opens and closes a client
 * of its own, failing fast like the lease store's) or a client you own.
 *
 * @example
 * ```ts
 * createRedisRegistry({ url: "redis://127.0.0.1:6379/0", prefix: "weft" });
 * ```
 */
export type RedisRegistryOptions = {
  /** The deployment's key prefix (the lease prefix): its hash tag. Default `"weft"`. */
  prefix?: string;
  /** Called on every connection error of an own client (ioredis emits one per reconnect attempt). */
  onError?: (error: Error) => void;
} & (({ url: string; client?: never } & LeaseRedisClientOptions) | { client: Redis | Cluster; url?: never });

/** Entries per put script: bounds how long one script blocks Redis. */
const CHUNK = 500;

function encode(e: WorkerEntry): string[] {
  return [
    e.workerId,
    e.name,
    JSON.stringify(e.actions),
    String(e.slots),
    String(e.slotsInUse),
    JSON.stringify(e.labels),
    e.replicaId,
    e.replicaAddress,
    String(e.connectedAt),
    String(e.lastSeenAt),
    String(e.reportedAt),
    e.namespace,
  ];
}

function decode(v: (string | null)[]): WorkerEntry {
  const [
    workerId,
    name,
    actions,
    slots,
    inUse,
    labels,
    replica,
    address,
    connectedAt,
    lastSeenAt,
    reportedAt,
    namespace,
  ] = v;
  return {
    workerId: workerId ?? "",
    name: name ?? "",
    actions: JSON.parse(actions || "[]") as string[],
    slots: Number(slots),
    slotsInUse: Number(inUse),
    labels: JSON.parse(labels || "{}") as Record<string, string>,
    replicaId: replica ?? "",
    replicaAddress: address ?? "",
    connectedAt: Number(connectedAt),
    lastSeenAt: Number(lastSeenAt),
    reportedAt: Number(reportedAt),
    namespace: namespace ?? "",
  };
}

/** Redis errors that mean "not serving right now", as opposed to a bad script or command. */
const BUSY_REPLY = /^(LOADING|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|BUSY)\b/;

function unreachable(err: unknown): boolean {
  const e = err as { name?: unknown; message?: unknown };
  return e?.name !== "ReplyError" || BUSY_REPLY.test(String(e.message));
}

/**
 * Creates the Redis registry. Writes and lists are one script call each
 * (puts in chunks of 500 entries), remove one transaction.
 *
 * @example
 * ```ts
 * const registry = createRedisRegistry({ url: process.env.REDIS_URL!, prefix: "weft" });
 * const { workers } = await registry.list({ limit: 50 });
 * ```
 */
export function createRedisRegistry(options: RedisRegistryOptions): WorkerRegistry & { client: Redis | Cluster } {
  const tag = hashTag(options.prefix ?? "weft");
  const index = `${tag}:workers`;
  const keyPrefix = `${tag}:worker:`;
  const owned = options.client === undefined;
  const raw = options.client === undefined ? createLeaseRedisClient(options.url, options) : options.client;
  // An own client must have an error listener, or ioredis prints every failed reconnect.
  if (owned) raw.on("error", (err: Error) => options.onError?.(err));
  raw.defineCommand("weftWorkersPut", { lua: PUT });
  raw.defineCommand("weftWorkersList", { lua: LIST });
  const client = raw as (Redis | Cluster) & RegistryScripts;

  return {
    client: raw,

    async put(workers, ttlMs) {
      const ttl = String(Math.max(1, Math.ceil(ttlMs)));
      for (let i = 0; i < workers.length; i += CHUNK) {
        const chunk = workers.slice(i, i + CHUNK);
        const keys = chunk.map((w) => keyPrefix + w.workerId);
        await client.weftWorkersPut(1 + keys.length, index, ...keys, ttl, ...chunk.flatMap(encode));
      }
    },

    async remove(workerIds) {
      if (workerIds.length === 0) return;
      await raw
        .multi()
        .del(...workerIds.map((id) => keyPrefix + id))
        .zrem(index, ...workerIds)
        .exec();
    },

    async list(query) {
      let flat: (string | null)[];
      try {
        flat = await client.weftWorkersList(
          1,
          index,
          keyPrefix,
          query.after ?? "",
          String(Math.max(1, Math.floor(query.limit))),
          query.name ?? "",
          query.action ?? "",
          query.namespace ?? "",
        );
      } catch (err) {
        throw unreachable(err) ? new RegistryUnavailableError(err) : err;
      }
      const width = FIELDS.length + 1;
      const workers: WorkerEntry[] = [];
      for (let i = 1; i + width <= flat.length; i += width) workers.push(decode(flat.slice(i, i + width)));
      return flat[0] ? { workers, next: flat[0] } : { workers };
    },

    async close() {
      if (owned) await closeRedisClient(raw);
    },
  };
}
