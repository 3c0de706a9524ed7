/**
 * The worker registry: the `WorkerRegistry` interface, its Redis
 * implementation and the in-process one for single-node mode.
 *
 * @example
 * ```ts
 * import { openWorkerRegistry, type WorkerRegistry } from "./registry/index.js";
 * const registry: WorkerRegistry = openWorkerRegistry({ redisUrl: process.env.REDIS_URL }, logger);
 * ```
 */
export type { WorkerEntry, WorkerPage, WorkerQuery, WorkerRegistry } from "./types.js";
export { RegistryUnavailableError } from "./types.js";
export { createMemoryRegistry, type MemoryRegistryOptions } from "./memory-registry.js";
export { createRedisRegistry, type RedisRegistryOptions } from "./redis-registry.js";
export { openWorkerRegistry, type RegistryLogger } from "./open.js";
export { listenAddress, replicaId } from "./replica.js";
