/**
 * A steady load: `rate` runs a second for `durationMs`, sent as one
 * TriggerWorkflows batch every 100 ms. A tick that finds the schedule behind
 * (a slow call, a busy event loop) sends what is owed, but never more than a
 * second's worth: anything beyond that is dropped from the schedule
 * (`skipped`) rather than sent as a burst. At most `maxInFlight` calls wait
 * at once; a tick that finds them all busy sends nothing and the next one
 * catches up.
 *
 * @example
 *   const pacer = startPacer({ rate: 800, durationMs: 60_000, send: (n) => trigger(n) });
 *   pacer.counts(); // { issued, triggered, skipped, failed }
 *   await pacer.done;
 */
import { sleep, wallNow } from "./clock.js";

export interface PacerCounts {
  /** Runs asked for so far. */
  issued: number;
  /** Runs the server confirmed. */
  triggered: number;
  /** Runs dropped from the schedule because it was more than a second behind. */
  skipped: number;
  /** Runs whose TriggerWorkflows call failed. */
  failed: number;
}

export interface Pacer {
  counts(): PacerCounts;
  /** Resolves once the duration is over and every call answered; the first call error, if any, in `firstError`. */
  done: Promise<{ firstError: unknown }>;
  /** Ends the schedule early. */
  stop(): void;
}

const TICK_MS = 100;

export function startPacer(opts: {
  rate: number;
  durationMs: number;
  /** Triggers `n` runs; resolves once the server answered. */
  send: (n: number) => Promise<void>;
  maxInFlight?: number;
}): Pacer {
  const maxInFlight = opts.maxInFlight ?? 4;
  const c: PacerCounts = { issued: 0, triggered: 0, skipped: 0, failed: 0 };
  let stopped = false;
  let firstError: unknown;
  const inFlight = new Set<Promise<void>>();
  const done = (async () => {
    const t0 = wallNow();
    for (let tick = 1; !stopped; tick++) {
      const elapsed = wallNow() - t0;
      if (elapsed >= opts.durationMs) break;
      let due = Math.floor((elapsed / 1000) * opts.rate) - c.skipped - c.issued;
      if (due > opts.rate) {
        c.skipped += due - opts.rate;
        due = opts.rate;
      }
      if (due > 0 && inFlight.size < maxInFlight) {
        c.issued += due;
        const n = due;
        const call = opts.send(n).then(
          () => void (c.triggered += n),
          (err: unknown) => {
            c.failed += n;
            firstError ??= err;
          },
        );
        inFlight.add(call);
        void call.finally(() => inFlight.delete(call));
      }
      await sleep(Math.max(0, t0 + tick * TICK_MS - wallNow()));
    }
    await Promise.all(inFlight);
    return { firstError };
  })();
  return {
    counts: () => ({ ...c }),
    done,
    stop: () => void (stopped = true),
  };
}
