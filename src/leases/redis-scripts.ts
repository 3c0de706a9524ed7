/**
 * The lease store's Lua scripts, one atomic round trip per batch, installed
 * on an ioredis client with `defineCommand` (EVALSHA, falling back to EVAL
 * once after a SCRIPT FLUSH or restart).
 *
 * Clock: every script reads Redis `TIME` once and uses it for both the
 * expiry index scores and (through PX / PEXPIRE) the key TTLs, so the index
 * and the keys agree whatever the replicas' clocks say.
 *
 * Numbers: Lua numbers are doubles and `tostring` keeps only 14 digits, so
 * tokens are formatted with `%d` and stay below 2^53 (checked in JS).
 *
 * @example
 * ```ts
 * const client = defineLeaseScripts(new Redis(url));
 * await client.weftLeaseAcquire(3 + n, seq, expiry, holders, ...leaseKeys, workerId, ttl, ...idFloorPairs);
 * ```
 */
import type { Cluster, Redis } from "ioredis";

/** Redis `TIME` as ms since the epoch. */
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: seq, expiry, holders, lease key × n.
 * ARGV: workerId, ttl, then (taskId, floor) × n.
 * Returns { expiresAt, { token × n } } as decimal strings.
 */
const ACQUIRE = `${NOW}
local worker, ttl = ARGV[1], ARGV[2]
local exp = string.format('%d', now + tonumber(ttl))
local tokens = {}
for i = 1, #KEYS - 3 do
  local id, floor = ARGV[1 + 2 * i], ARGV[2 + 2 * i]
  local token = redis.call('INCR', KEYS[1])
  if tonumber(floor) > token then
    redis.call('SET', KEYS[1], floor)
    token = tonumber(floor)
  end
  local tok = string.format('%d', token)
  local value = tok .. ':' .. worker
  redis.call('SET', KEYS[3 + i], value, 'PX', ttl)
  redis.call('ZADD', KEYS[2], exp, id)
  redis.call('HSET', KEYS[3], id, value)
  tokens[i] = tok
end
return { exp, tokens }
`;

/**
 * KEYS: expiry, lease key × n. ARGV: ttl, then (taskId, "<token>:<worker>") × n.
 * A lease is renewed only while its key still holds exactly that value.
 * Returns the task ids renewed.
 */
const RENEW = `${NOW}
local ttl = ARGV[1]
local exp = string.format('%d', now + tonumber(ttl))
local held = {}
for i = 1, #KEYS - 1 do
  local id, value = ARGV[2 * i], ARGV[1 + 2 * i]
  if redis.call('GET', KEYS[1 + i]) == value then
    redis.call('PEXPIRE', KEYS[1 + i], ttl)
    redis.call('ZADD', KEYS[1], exp, id)
    held[#held + 1] = id
  end
end
return held
`;

/**
 * KEYS: expiry, holders, lease key × n. ARGV: (taskId, "<token>:") × n.
 * Only a matching token releases; the holder record goes too, so an
 * accepted result is never reported as expired afterwards.
 */
const RELEASE = `
for i = 1, #KEYS - 2 do
  local id, p = ARGV[2 * i - 1], ARGV[2 * i]
  local v = redis.call('GET', KEYS[2 + i])
  if v and string.sub(v, 1, #p) == p then redis.call('DEL', KEYS[2 + i]) end
  local h = redis.call('HGET', KEYS[2], id)
  if h and string.sub(h, 1, #p) == p then
    redis.call('HDEL', KEYS[2], id)
    redis.call('ZREM', KEYS[1], id)
  end
end
return 0
`;

/**
 * KEYS: expiry, holders. ARGV: limit, lease key prefix.
 * Takes index entries due by Redis time; those whose key is gone are
 * removed and returned (atomically, so two sweepers never share one), those
 * still alive are re-scored at their real expiry.
 *
 * The lease keys are built here, not declared: Redis Cluster allows that
 * because they share the declared keys' slot (same hash tag).
 * Returns { taskId, "<token>:<worker>" } pairs, flat.
 */
const EXPIRED = `${NOW}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now), 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for _, id in ipairs(ids) do
  local key = ARGV[2] .. id
  local ms = redis.call('PTTL', key)
  if ms > 0 then
    redis.call('ZADD', KEYS[1], string.format('%d', now + ms), id)
  else -- gone (-2); a key without TTL (-1) is not one of ours: drop it too
    redis.call('ZREM', KEYS[1], id)
    redis.call('DEL', key)
    local h = redis.call('HGET', KEYS[2], id)
    if h then
      redis.call('HDEL', KEYS[2], id)
      out[#out + 1] = id
      out[#out + 1] = h
    end
  end
end
return out
`;

/**
 * The commands `defineLeaseScripts` adds; the first argument is the number
 * of keys, then the keys, then the other arguments (see each script).
 *
 * @example
 * ```ts
 * const flat = await client.weftLeaseExpired(2, keys.expiry, keys.holders, "500", keys.leasePrefix);
 * ```
 */
export interface LeaseScripts {
  weftLeaseAcquire(numKeys: number, ...args: string[]): Promise<[string, string[]]>;
  weftLeaseRenew(numKeys: number, ...args: string[]): Promise<string[]>;
  weftLeaseRelease(numKeys: number, ...args: string[]): Promise<number>;
  weftLeaseExpired(numKeys: number, ...args: string[]): Promise<string[]>;
}

/**
 * A client (single node or cluster) with the lease scripts installed.
 *
 * @example
 * ```ts
 * const client: LeaseClient = defineLeaseScripts(new Cluster(nodes));
 * ```
 */
export type LeaseClient = (Redis | Cluster) & LeaseScripts;

/**
 * Installs the lease scripts on `client` (idempotent) and returns it typed.
 *
 * @example
 * ```ts
 * const client = defineLeaseScripts(new Redis(url));
 * const held = await client.weftLeaseRenew(1 + n, expiryKey, ...keys, String(ttl), ...pairs);
 * ```
 */
export function defineLeaseScripts(client: Redis | Cluster): LeaseClient {
  client.defineCommand("weftLeaseAcquire", { lua: ACQUIRE });
  client.defineCommand("weftLeaseRenew", { lua: RENEW });
  client.defineCommand("weftLeaseRelease", { lua: RELEASE });
  client.defineCommand("weftLeaseExpired", { lua: EXPIRED });
  return client as LeaseClient;
}
