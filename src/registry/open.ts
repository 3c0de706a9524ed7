/**
 * Picks the worker registry from the configuration, like the lease store:
 * Redis when a URL is set (under the lease prefix), else in-process.
 *
 * An unreachable Redis does not stop the server: the registry's client
 * reconnects by itself, writes are retried on the next refresh, and
 * `ListWorkers` answers `UNAVAILABLE` meanwhile.
 *
 * @example
 * ```ts
 * const registry = openWorkerRegistry({ redisUrl: process.env.REDIS_URL, leasePrefix: "weft" }, logger);
 * ```
 */
import type { LeaseConfig } from "../leases/open.js";
import { createMemoryRegistry } from "./memory-registry.js";
import { createRedisRegistry } from "./redis-registry.js";
import type { WorkerRegistry } from "./types.js";

/**
 * The logger calls made here (pino's `Logger` fits).
 *
 * @example
 * ```ts
 * const logger: RegistryLogger = pino();
 * ```
 */
export interface RegistryLogger {
  debug(obj: object, msg: string): void;
}

/**
 * Opens the registry `config` asks for. Connection errors of its client are
 * logged at debug only: the lease store already warns when Redis goes away,
 * and the presence warns when a registry write fails.
 *
 * @example
 * ```ts
 * const registry = openWorkerRegistry(config, logger);
 * try { ... } finally { await registry.close(); }
 * ```
 */
export function openWorkerRegistry(config: LeaseConfig, logger: RegistryLogger): WorkerRegistry {
  if (!config.redisUrl) return createMemoryRegistry();
  return createRedisRegistry({
    url: config.redisUrl,
    prefix: config.leasePrefix,
    onError: (err) => logger.debug({ err }, "worker registry: Redis connection error"),
  });
}
