/**
 * Trims the audit trail: every `everyMs` (and once soon after start) deletes
 * events older than the retention, in batches, until none is left. A failed
 * pass (the database away) is logged and tried again at the next one.
 *
 * @example
 *   const stop = startAuditRetention({ access: store.access, days: 90, logger });
 *   stop();
 */
import type { Logger } from "../log.js";
import type { AccessStore } from "../store/index.js";

const DAY_MS = 86_400_000;
const BATCH = 5000;

/**
 * @example
 *   startAuditRetention({ access, days: 30, logger, everyMs: 600_000 });
 */
export function startAuditRetention(opts: {
  access: AccessStore;
  days: number;
  logger: Logger;
  everyMs?: number;
  now?: () => number;
}): () => void {
  if (opts.days <= 0) return () => {};
  const now = opts.now ?? Date.now;
  let stopped = false;
  const pass = async (): Promise<void> => {
    const before = new Date(now() - opts.days * DAY_MS);
    let total = 0;
    for (let n = BATCH; n === BATCH && !stopped; total += n) n = await opts.access.purgeAudit(before, BATCH);
    if (total > 0) opts.logger.info({ deleted: total, before }, "audit trail: old events deleted");
  };
  const run = (): void => {
    pass().catch((err: unknown) => opts.logger.warn({ err: String(err) }, "audit trail: retention pass failed"));
  };
  const first = setTimeout(run, 60_000);
  const timer = setInterval(run, opts.everyMs ?? 600_000);
  first.unref();
  timer.unref();
  return () => {
    stopped = true;
    clearTimeout(first);
    clearInterval(timer);
  };
}
