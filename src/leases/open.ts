/**
 * Picks the lease store from the configuration: Redis when a URL is set,
 * else the in-process one (single-node mode).
 *
 * An unreachable Redis does not stop the server: startup logs it, lease
 * calls fail fast until it is back (the dispatcher keeps going on Postgres
 * fencing), and the client reconnects by itself. Only the first failure
 * and the recovery are logged, not every retry.
 *
 * @example
 * ```ts
 * const leases = await openLeaseStore({ redisUrl: process.env.REDIS_URL }, logger);
 * ```
 */
import { createMemoryLeaseStore } from "./memory-lease-store.js";
import { createRedisLeaseStore } from "./redis-lease-store.js";
import type { LeaseStore } from "./types.js";

/**
 * The part of the configuration the lease store reads (Weft's `Config` fits).
 *
 * @example
 * ```ts
 * const config: LeaseConfig = { redisUrl: process.env.REDIS_URL };
 * ```
 */
export interface LeaseConfig {
  /** Redis URL (database number in the path); undefined = in-process leases. */
  redisUrl?: string;
  /** Key namespace and hash tag in Redis. Default `"weft"`. */
  leasePrefix?: string;
}

/**
 * The logger calls made here (pino's `Logger` fits).
 *
 * @example
 * ```ts
 * const logger: LeaseLogger = pino();
 * ```
 */
export interface LeaseLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** How long startup waits to learn whether Redis answers (it does not wait beyond that). */
const STARTUP_PING_MS = 2_000;

/**
 * Opens the lease store `config` asks for.
 *
 * @example
 * ```ts
 * const leases = await openLeaseStore(config, logger);
 * try { ... } finally { await leases.close(); }
 * ```
 */
export async function openLeaseStore(config: LeaseConfig, logger: LeaseLogger): Promise<LeaseStore> {
  if (!config.redisUrl) {
    logger.info({ leases: "memory" }, "leases kept in process (single node)");
    return createMemoryLeaseStore();
  }
  const redis = redactUrl(config.redisUrl);
  const store = createRedisLeaseStore({
    url: config.redisUrl,
    prefix: config.leasePrefix,
    onConnection: (state, err) =>
      state === "down"
        ? logger.warn({ err, redis }, "lease store: Redis unreachable; lease calls fail until it is back")
        : logger.info({ redis }, "lease store: Redis reachable again"),
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${STARTUP_PING_MS} ms`)), STARTUP_PING_MS);
  });
  try {
    await Promise.race([store.client.ping(), timeout]);
    logger.info({ leases: "redis", redis }, "leases kept in Redis");
  } catch (err) {
    logger.warn({ err, redis }, "lease store: Redis did not answer at startup; continuing, it reconnects by itself");
  } finally {
    clearTimeout(timer);
  }
  return store;
}

/** The URL without its password, for logs. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}
