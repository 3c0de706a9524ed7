/**
 * Reconnect delays: exponential backoff with full jitter (AWS architecture
 * blog, "Exponential Backoff and Jitter"): the n-th delay is uniform in
 * `[0, min(maxDelayMs, initialDelayMs * 2^n))`, so a fleet of workers that
 * lost the same server does not come back in lockstep.
 *
 * @example
 * ```ts
 * const backoff = createBackoff({ initialDelayMs: 100, maxDelayMs: 5000 });
 * await sleep(backoff.next()); // 0–100 ms, then 0–200 ms, … capped at 5 s
 * backoff.reset();             // after a successful connect
 * ```
 */

export interface BackoffOptions {
  initialDelayMs: number;
  maxDelayMs: number;
  /** Uniform in [0, 1); injectable for tests. Default `Math.random`. */
  random?: () => number;
}

export interface Backoff {
  /** The next delay in milliseconds; each call doubles the ceiling. */
  next(): number;
  /** Start again from `initialDelayMs`. */
  reset(): void;
  /** Delays handed out since the last reset. */
  readonly attempts: number;
}

/**
 * Create a backoff sequence.
 *
 * @example
 * ```ts
 * const b = createBackoff({ initialDelayMs: 10, maxDelayMs: 40, random: () => 0.999 });
 * [b.next(), b.next(), b.next(), b.next()]; // ≈ [10, 20, 40, 40]
 * ```
 */
export function createBackoff(opts: BackoffOptions): Backoff {
  const random = opts.random ?? Math.random;
  const initial = Math.max(1, opts.initialDelayMs);
  const max = Math.max(initial, opts.maxDelayMs);
  let attempts = 0;
  return {
    next() {
      // 2^n overflows to Infinity long after it passed max; min() handles it.
      const ceiling = Math.min(max, initial * 2 ** attempts);
      attempts++;
      return Math.floor(random() * ceiling);
    },
    reset() {
      attempts = 0;
    },
    get attempts() {
      return attempts;
    },
  };
}
