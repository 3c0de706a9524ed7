/**
 * The ioredis client the lease store opens for itself: it fails fast while
 * Redis is away and reconnects on its own when it returns.
 *
 * While Redis is unreachable a lease call is never parked for long:
 * - commands wait in the offline queue only until the next failed
 *   reconnection attempt (`maxRetriesPerRequest: 0` flushes the queue with a
 *   `MaxRetriesPerRequestError` on every one), i.e. at most the retry delay
 *   (≤ 500 ms) plus the connect timeout (1 s);
 * - a command already sent is rejected when the connection drops, not
 *   resent after the reconnect;
 * - `commandTimeout` (2 s by default) bounds everything else, such as a
 *   Redis that accepts the connection but does not answer.
 * The queue stays on so a call made while the first connection is being
 * set up, or during a blip shorter than one retry, just waits and succeeds.
 * Reconnection never gives up (every 100-500 ms).
 *
 * A command that timed out on the client may still have run on the server
 * (or run later, if it was queued behind a stalled handshake). For the
 * lease scripts that is harmless: stray leases expire, and Postgres fences
 * every result. The one loss is a reply of `expired()` that never arrives:
 * those expiries were taken out of the index, so the dispatcher's lease
 * scan (Postgres running tasks vs `check()`) must notice them instead.
 *
 * @example
 * ```ts
 * const client = createLeaseRedisClient("redis://127.0.0.1:6379/0");
 * ```
 */
import { Redis, type Cluster, type RedisOptions } from "ioredis";

/**
 * Options of `createLeaseRedisClient` (and `createRedisLeaseStore({ url })`).
 *
 * @example
 * ```ts
 * createLeaseRedisClient(url, { commandTimeoutMs: 1_000, connectTimeoutMs: 500 });
 * ```
 */
export interface LeaseRedisClientOptions {
  /** Upper bound for one command, queued time included (ms). Default 2000. */
  commandTimeoutMs?: number;
  /** Connect attempt timeout (ms). Default 1000. */
  connectTimeoutMs?: number;
}

/**
 * The ioredis options behind `createLeaseRedisClient`, for callers that
 * build their own client (Sentinel, TLS) and want the same behaviour.
 *
 * @example
 * ```ts
 * const client = new Redis({ ...leaseRedisOptions(), sentinels, name: "weft" });
 * const leases = createRedisLeaseStore({ client });
 * ```
 */
export function leaseRedisOptions(options: LeaseRedisClientOptions = {}): RedisOptions {
  return {
    maxRetriesPerRequest: 0,
    enableOfflineQueue: true,
    commandTimeout: options.commandTimeoutMs ?? 2_000,
    connectTimeout: options.connectTimeoutMs ?? 1_000,
    retryStrategy: (attempt: number) => Math.min(100 * attempt, 500),
  };
}

/**
 * Opens an ioredis client on `url` (database number in the path) with
 * `leaseRedisOptions`.
 *
 * @example
 * ```ts
 * const client = createLeaseRedisClient("redis://:secret@redis:6379/2", { commandTimeoutMs: 1_000 });
 * ```
 */
export function createLeaseRedisClient(url: string, options: LeaseRedisClientOptions = {}): Redis {
  return new Redis(url, leaseRedisOptions(options));
}

/**
 * Closes a client this process opened: QUIT when connected (pending replies
 * arrive first), else — or when the connection is lost while quitting — a
 * plain disconnect, so closing never waits on a Redis that is gone.
 *
 * @example
 * ```ts
 * await closeRedisClient(client);
 * ```
 */
export async function closeRedisClient(raw: Redis | Cluster): Promise<void> {
  if (raw.status === "ready") {
    try {
      await raw.quit();
      return;
    } catch {
      // Lost the connection while quitting: drop it below.
    }
  }
  raw.disconnect();
}
