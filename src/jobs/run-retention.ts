/**
 * Retention: every `intervalMs` (and soon after start) each replica runs a
 * pass that deletes the finished runs older than their workflow's
 * `retention`, else the server's `--retention`, with every row of theirs
 * (`Store.retentionPass`). One batch runs at a time across replicas: a pass
 * that finds another replica's batch in flight stops and tries again at
 * its next interval. A pass that fails (the database away) is logged and
 * tried again then too. Each pass that deleted something logs its totals;
 * the metrics count every batch (`weft_purged_*`).
 *
 * @example
 *   const retention = createRunRetention({ store, logger, defaultRetentionMs: 30 * 86_400_000, intervalMs: 60_000 });
 *   retention.stop();
 */
import type { Logger } from "../log.js";
import type { Store } from "../store/index.js";

export interface RunRetention {
  /** Stops the loop; a batch in flight finishes, no new one starts. */
  stop(): Promise<void>;
}

/**
 * @example
 *   createRunRetention({ store, logger, defaultRetentionMs: undefined, intervalMs: 60_000 });
 */
export function createRunRetention(deps: {
  store: Pick<Store, "retentionPass">;
  logger: Logger;
  /** The server's `--retention`; undefined: only workflows with their own retention are purged. */
  defaultRetentionMs: number | undefined;
  intervalMs: number;
  /** First pass after this many ms (default: a tenth of the interval, at most 10 s). */
  firstPassMs?: number;
  now?: () => number;
}): RunRetention {
  const { store, logger } = deps;
  const now = deps.now ?? Date.now;
  const stopping = new AbortController();
  let running: Promise<void> = Promise.resolve();

  const pass = async (): Promise<void> => {
    const started = performance.now();
    try {
      const { counts, busy } = await store.retentionPass({
        now: now(),
        ...(deps.defaultRetentionMs !== undefined ? { defaultRetentionMs: deps.defaultRetentionMs } : {}),
        signal: stopping.signal,
      });
      const ms = Math.round(performance.now() - started);
      if (counts.runs > 0) logger.info({ ...counts, ms, busy }, "retention: finished runs deleted");
      else if (busy) logger.debug("retention: another replica is deleting; next pass later");
    } catch (err) {
      logger.warn({ err: String(err) }, "retention: pass failed; trying again at the next one");
    }
  };
  const tick = (): void => {
    if (stopping.signal.aborted) return;
    running = pass().finally(() => {
      if (!stopping.signal.aborted) timer = setTimeout(tick, deps.intervalMs).unref();
    });
  };
  let timer = setTimeout(tick, deps.firstPassMs ?? Math.min(10_000, deps.intervalMs / 10)).unref();

  return {
    async stop() {
      stopping.abort();
      clearTimeout(timer);
      await running;
    },
  };
}
