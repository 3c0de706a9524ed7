/**
 * Start-up against a database that may not be up yet (a cluster starting
 * together, a failover in progress): migrations are retried with capped
 * exponential backoff and jitter while the database is unreachable, each
 * try logged, until it answers or `waitMs` has passed. Any other failure (a
 * migration that fails on a reachable database) is thrown at once.
 *
 * @example
 *   await migrateWhenReachable(store, { waitMs: 300_000, logger });
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../../log.js";
import { isDatabaseUnavailable } from "./unavailable.js";

export interface MigrateWhenReachableOptions {
  /** Longest time to keep trying (ms); 0 tries once. */
  waitMs: number;
  logger: Logger;
  /** First delay between tries (ms, default 250); doubles up to `maxDelayMs`. */
  initialDelayMs?: number;
  /** Longest delay between tries (ms, default 5,000). */
  maxDelayMs?: number;
}

/**
 * Runs `store.migrate()` until it succeeds, retrying while the database is unreachable.
 *
 * @example
 *   await migrateWhenReachable(store, { waitMs: 0, logger }); // one try
 */
export async function migrateWhenReachable(
  store: { migrate(): Promise<void> },
  opts: MigrateWhenReachableOptions,
): Promise<void> {
  const start = Date.now();
  const maxDelay = opts.maxDelayMs ?? 5_000;
  let delay = opts.initialDelayMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    try {
      await store.migrate();
      if (attempt > 1)
        opts.logger.info({ attempt, waitedMs: Date.now() - start }, "database reachable; migrations applied");
      return;
    } catch (err) {
      const left = opts.waitMs - (Date.now() - start);
      if (!isDatabaseUnavailable(err) || left <= 0) throw err;
      const wait = Math.min(left, delay / 2 + Math.random() * (delay / 2));
      opts.logger.warn(
        { err: String(err), attempt, retryInMs: Math.round(wait), giveUpInMs: Math.round(left) },
        "database unreachable; waiting for it",
      );
      await sleep(wait);
      delay = Math.min(maxDelay, delay * 2);
    }
  }
}
