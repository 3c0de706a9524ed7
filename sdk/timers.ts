/**
 * Timer helpers that never leak: every timer can be cancelled, and delays
 * longer than Node's 2^31-1 ms limit (about 24.8 days, beyond which
 * `setTimeout` fires at once) are re-armed in steps.
 *
 * @example
 * ```ts
 * const cancel = setLongTimeout(() => controller.abort(), deadlineMs - Date.now());
 * const slept = await sleep(250, stopSignal); // false when stopSignal fired first
 * ```
 */

const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Call `fn` after `ms` (clamped at 0), however long that is. Returns a
 * function that cancels it.
 *
 * @example
 * ```ts
 * const cancel = setLongTimeout(() => console.log("deadline"), 30 * 86_400_000);
 * cancel();
 * ```
 */
export function setLongTimeout(fn: () => void, ms: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = (left: number): void => {
    const step = Math.min(Math.max(0, left), MAX_TIMEOUT_MS);
    timer = setTimeout(() => (left > step ? arm(left - step) : fn()), step);
  };
  arm(ms);
  return () => clearTimeout(timer);
}

/**
 * Wait `ms`; resolves `true` when the time passed, `false` as soon as
 * `signal` aborts (never rejects).
 *
 * @example
 * ```ts
 * if (!(await sleep(backoff.next(), closing.signal))) return;
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener("abort", onAbort);
        resolve(true);
      },
      Math.max(0, ms),
    );
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
