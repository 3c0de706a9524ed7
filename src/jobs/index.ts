/**
 * The background loops each replica runs on a timer, off every request
 * path: the cron scheduler (`on.schedules`: each tick starts exactly one run
 * across all replicas), the webhook deliverer (the Postgres outbox,
 * signed POSTs, retries with backoff) and retention (finished runs deleted
 * after `--retention` or their workflow's `retention`). The composition root starts them
 * and stops them on shutdown.
 *
 * @example
 * ```ts
 * import { createScheduler, createWebhookDeliverer } from "./jobs/index.js";
 * const scheduler = createScheduler({ store, logger, intervalMs: 1_000 });
 * ```
 */
export { createRunRetention, type RunRetention } from "./run-retention.js";
export { createScheduler, type Scheduler } from "./scheduler.js";
export {
  attemptOutcome,
  createWebhookDeliverer,
  MAX_ATTEMPTS,
  webhookBody,
  type WebhookDeliverer,
} from "./webhook-deliverer.js";
