/**
 * Failed authentications, throttled per client address: each address has a
 * budget of `burst` failures that refills at `perSecond`. An address with no
 * budget left is refused before its key is looked up, so a flood of bad keys
 * costs one map read per call. Addresses are forgotten once their budget is
 * full again, and the table is bounded (the oldest entry goes first).
 *
 * @example
 *   const throttle = createAuthThrottle({ burst: 20, perSecond: 1 });
 *   if (throttle.blocked(peer, Date.now())) refuse();
 *   else if (!ok) throttle.failed(peer, Date.now());
 */

export interface AuthThrottle {
  /** Seconds until `peer` may try again, or 0 when it may now. */
  blocked(peer: string, nowMs: number): number;
  /** Records one failed authentication of `peer`. */
  failed(peer: string, nowMs: number): void;
  /**
   * Before a lookup whose outcome is not known yet: 0 and one failure charged in advance (so calls in flight
   * together cannot all pass a budget of one), or the seconds to wait, charging nothing.
   */
  take(peer: string, nowMs: number): number;
  /** Gives back what `take` charged, once the key proved good. */
  refund(peer: string, nowMs: number): void;
}

export interface ThrottleOptions {
  /** Failures an address may make in a row. */
  burst: number;
  /** Failures per second an address earns back. */
  perSecond: number;
  /** Most addresses tracked at once (default 100,000). */
  maxPeers?: number;
}

/** Failures still allowed and when that was counted. */
interface Budget {
  left: number;
  at: number;
}

/**
 * A throttle (no timers: budgets refill when read).
 *
 * @example
 *   createAuthThrottle({ burst: 20, perSecond: 1 }).blocked("10.0.0.7", Date.now()); // 0
 */
export function createAuthThrottle(opts: ThrottleOptions): AuthThrottle {
  const budgets = new Map<string, Budget>();
  const maxPeers = opts.maxPeers ?? 100_000;
  const refill = (b: Budget, nowMs: number): number =>
    Math.min(opts.burst, b.left + (Math.max(0, nowMs - b.at) / 1000) * opts.perSecond);
  const throttle: AuthThrottle = {
    blocked(peer, nowMs) {
      const b = budgets.get(peer);
      if (b === undefined) return 0;
      const left = refill(b, nowMs);
      if (left >= opts.burst) budgets.delete(peer);
      return left >= 1 ? 0 : Math.ceil((1 - left) / opts.perSecond);
    },
    failed(peer, nowMs) {
      const b = budgets.get(peer);
      const left = b === undefined ? opts.burst : refill(b, nowMs);
      budgets.delete(peer);
      if (budgets.size >= maxPeers) budgets.delete(budgets.keys().next().value!);
      budgets.set(peer, { left: Math.max(0, left - 1), at: nowMs });
    },
    take(peer, nowMs) {
      const wait = throttle.blocked(peer, nowMs);
      if (wait === 0) throttle.failed(peer, nowMs);
      return wait;
    },
    refund(peer, nowMs) {
      const b = budgets.get(peer);
      if (b === undefined) return;
      const left = Math.min(opts.burst, refill(b, nowMs) + 1);
      if (left >= opts.burst) budgets.delete(peer);
      else budgets.set(peer, { left, at: nowMs });
    },
  };
  return throttle;
}
