/**
 * Retry decisions and backoff math for a failed step attempt. Pure: the
 * caller passes the random number, so results are reproducible in tests.
 *
 * Jitter only ever adds (up to +20 %), so the gap between two attempts is
 * never shorter than the policy's backoff: a client that measures gaps sees
 * at least `initial_interval * backoff_coefficient^(n-1)` (capped at
 * `max_interval`) and at most 1.2 times that.
 */
import { NO_SLOT, WORKER_DRAINING, WORKER_SHUTDOWN } from "./failures.js";
import type { Failure, RetryPolicy } from "./model.js";

/**
 * The largest share of the backoff that jitter adds.
 *
 * @example
 * const worst = backoffMs(policy, n) * (1 + JITTER_RATIO);
 */
export const JITTER_RATIO = 0.2;

/**
 * Failure types by which a worker hands a task back without a verdict on it:
 * it was draining (`WORKER_DRAINING`), stopped before the handler finished
 * (`WORKER_SHUTDOWN`), or had no free slot (`NO_SLOT`). The SDKs report
 * these so the server re-queues the task at once; they are not the task's
 * failure, so they do not wait for a backoff and are retried even when the
 * policy has no attempts left, up to {@link MAX_RETURNS} extra deliveries
 * (a bound against a worker that hands everything back forever). They still
 * count as deliveries in `attempts`.
 *
 * @example
 * RETURNED_ERROR_TYPES.includes(WORKER_SHUTDOWN); // true
 */
export const RETURNED_ERROR_TYPES: readonly string[] = [WORKER_DRAINING, WORKER_SHUTDOWN, NO_SLOT];

/**
 * How many deliveries beyond `maxAttempts` handed-back tasks may use.
 *
 * @example
 * const lastDelivery = policy.maxAttempts + MAX_RETURNS;
 */
export const MAX_RETURNS = 10;

/**
 * What to do after a failed attempt.
 *
 * @example
 * const d: RetryDecision = decideRetry(policy, attempt, failure, Math.random());
 * if (d.retry) scheduleAt(now + d.delayMs); else failStep(d.reason);
 */
export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: string };

/**
 * The backoff before the attempt after `attempt` (counted from 1), without
 * jitter: `min(initial * coefficient^(attempt-1), max)`, rounded to whole
 * milliseconds. An attempt below 1 counts as 1.
 *
 * @example
 * const policy = { maxAttempts: 5, initialIntervalMs: 1000, backoffCoefficient: 2, maxIntervalMs: 5000, nonRetryableErrors: [] };
 * backoffMs(policy, 1); // 1000
 * backoffMs(policy, 3); // 4000
 * backoffMs(policy, 4); // 5000 (capped)
 */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  const n = Math.max(1, Math.floor(attempt));
  const raw = policy.initialIntervalMs * Math.pow(policy.backoffCoefficient, n - 1);
  const capped = Math.min(raw, policy.maxIntervalMs);
  return Number.isFinite(capped) ? Math.max(0, Math.round(capped)) : 0;
}

/**
 * Decides whether a failed attempt is retried, and after how long.
 *
 * A task handed back by its worker ({@link RETURNED_ERROR_TYPES}, not
 * marked non-retryable) is retried at once, attempts left or not, up to
 * `maxAttempts + MAX_RETURNS` deliveries. Otherwise: no retry when
 * `attempt >= maxAttempts` (max attempts counts every attempt),
 * when `failure.retryable === false`, or when `failure.type` is one of the
 * policy's `nonRetryableErrors` (exact, case-sensitive match). Otherwise the
 * delay is {@link backoffMs} plus jitter of `floor(backoff * 0.2 * random)`,
 * never more than `maxInterval * 1.2`. `random` is in [0, 1); values outside
 * are clamped.
 *
 * @example
 * decideRetry(policy, 1, { message: "503", type: "HTTP_ERROR" }, Math.random());
 * // { retry: true, delayMs: 1000..1200 }
 * decideRetry(policy, 1, { message: "bad", type: "VALIDATION", retryable: false }, 0.5);
 * // { retry: false, reason: "the error is marked not retryable" }
 */
export function decideRetry(policy: RetryPolicy, attempt: number, failure: Failure, random: number): RetryDecision {
  if (
    failure.retryable !== false &&
    RETURNED_ERROR_TYPES.includes(failure.type) &&
    attempt < policy.maxAttempts + MAX_RETURNS
  ) {
    return { retry: true, delayMs: 0 };
  }
  if (attempt >= policy.maxAttempts) {
    return { retry: false, reason: `attempt ${attempt} of ${policy.maxAttempts}: no attempts left` };
  }
  if (failure.retryable === false) return { retry: false, reason: "the error is marked not retryable" };
  if (policy.nonRetryableErrors.includes(failure.type)) {
    return { retry: false, reason: `error type ${JSON.stringify(failure.type)} is not retryable by policy` };
  }
  const base = backoffMs(policy, attempt);
  const r = Number.isFinite(random) ? Math.min(Math.max(random, 0), 1) : 0;
  const jitter = Math.floor(base * JITTER_RATIO * r);
  const ceiling = Math.floor(Math.max(policy.maxIntervalMs, 0) * (1 + JITTER_RATIO));
  return { retry: true, delayMs: Math.max(base, Math.min(base + jitter, ceiling)) };
}
