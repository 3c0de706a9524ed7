/**
 * Task leases with fencing tokens: the `LeaseStore` interface, its Redis
 * implementation and the in-process one for single-node mode.
 *
 * @example
 * ```ts
 * import { openLeaseStore, type LeaseStore } from "./leases/index.js";
 * const leases: LeaseStore = await openLeaseStore({ redisUrl: process.env.REDIS_URL }, logger);
 * ```
 */
export type { AcquireItem, ExpiredLease, HeldLease, LeaseGrant, LeaseStore } from "./types.js";
export { createMemoryLeaseStore, type MemoryLeaseStoreOptions } from "./memory-lease-store.js";
export { createRedisLeaseStore, type RedisLeaseStore, type RedisLeaseStoreOptions } from "./redis-lease-store.js";
export { createLeaseRedisClient, leaseRedisOptions, type LeaseRedisClientOptions } from "./redis-client.js";
export { openLeaseStore, type LeaseConfig, type LeaseLogger } from "./open.js";
export { MAX_LEASE_TOKEN } from "./tokens.js";
