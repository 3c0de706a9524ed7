/**
 * Redis key names of the lease store. Every key carries the same hash tag,
 * `{<prefix>}`, so each Lua script touches one cluster slot and runs
 * unchanged on Redis Cluster.
 *
 * Trade-off: one slot means all lease traffic lands on one shard (and its
 * replicas). A cluster then buys failover, not lease throughput. That is
 * deliberate: the fencing counter must be one key that every acquire
 * increments atomically with the lease it grants, and one shard has room:
 * a grant costs about 5 µs of script time (1,000 in one EVALSHA: ~5 ms on
 * the server, ~7 ms end to end, measured on Redis 7.0), some 190k grants a
 * second. Spreading leases over N tags would need N counters, each still
 * kept above the Postgres token by `minToken`.
 *
 * | key | type | holds |
 * |---|---|---|
 * | `{p}:lease:<taskId>` | string, PX = TTL | `"<token>:<workerId>"` while the lease lives |
 * | `{p}:leases:seq` | string (integer), no TTL | the fencing counter |
 * | `{p}:leases:expiry` | sorted set | task id → expiry (ms, Redis clock) |
 * | `{p}:leases:holders` | hash | task id → `"<token>:<workerId>"`, kept until released or reported expired |
 *
 * `lease:` and `leases:` never collide, whatever the task id. The worker
 * registry (`src/registry/`) shares the tag with `{p}:worker:<workerId>`
 * (hash, PX) and `{p}:workers` (sorted set), which collide with neither.
 *
 * @example
 * ```ts
 * const keys = leaseKeys("weft");
 * keys.lease("run/step"); // "{weft}:lease:run/step"
 * ```
 */

/**
 * The key names for one prefix.
 *
 * @example
 * ```ts
 * const { seq, expiry, holders } = leaseKeys("weft");
 * ```
 */
export interface LeaseKeys {
  /** Prefix of every lease key, e.g. `{weft}:lease:` (scripts append the task id). */
  leasePrefix: string;
  seq: string;
  expiry: string;
  holders: string;
  lease(taskId: string): string;
}

/**
 * Builds the key names for `prefix` (braces in it are dropped: it becomes
 * the hash tag).
 *
 * @example
 * ```ts
 * leaseKeys("weft").seq; // "{weft}:leases:seq"
 * ```
 */
export function leaseKeys(prefix: string): LeaseKeys {
  const tag = hashTag(prefix);
  const leasePrefix = `${tag}:lease:`;
  return {
    leasePrefix,
    seq: `${tag}:leases:seq`,
    expiry: `${tag}:leases:expiry`,
    holders: `${tag}:leases:holders`,
    lease: (taskId) => leasePrefix + taskId,
  };
}

/**
 * The hash tag of a deployment's keys, `{<prefix>}` (braces in the prefix
 * dropped). Other Redis-backed stores of live state (the worker registry)
 * put their keys under the same tag, so every key of a deployment lives in
 * one cluster slot and any script may touch any of them.
 *
 * @example
 * ```ts
 * hashTag("weft"); // "{weft}"
 * ```
 */
export function hashTag(prefix: string): string {
  const tag = `{${prefix.replace(/[{}]/g, "")}}`;
  if (tag === "{}") throw new Error("lease key prefix must not be empty");
  return tag;
}
