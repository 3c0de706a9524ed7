/**
 * A sub-millisecond wall clock that two processes on one machine share:
 * `performance.timeOrigin + performance.now()` (epoch ms with a fraction).
 * `Date.now()` alone has 1 ms steps, too coarse for a 3 ms target.
 *
 * @example
 *   const t = wallNow(); // e.g. 1764619200123.456
 */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
