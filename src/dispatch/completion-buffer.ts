/**
 * Group commit for task outcomes: results arriving within a short window (or
 * up to a batch size) complete in one store transaction. Each caller's promise
 * resolves only after that transaction committed, so nothing is acknowledged
 * before it is durable.
 *
 * @example
 *   const buffer = createCompletionBuffer({ complete: (o) => store.completeTasks(o), windowMs: 2, maxBatch: 500 });
 *   const { accepted } = await buffer.submit(outcome);
 */
import type { CompletionResult, TaskOutcome } from "../store/index.js";

export interface CompletionBuffer {
  submit(outcome: TaskOutcome): Promise<CompletionResult>;
  /** Flushes what is pending and waits for in-flight flushes. */
  drain(): Promise<void>;
}

interface Pending {
  outcome: TaskOutcome;
  resolve: (r: CompletionResult) => void;
  reject: (e: unknown) => void;
}

export function createCompletionBuffer(opts: {
  complete: (outcomes: TaskOutcome[]) => Promise<CompletionResult[]>;
  windowMs: number;
  maxBatch: number;
  /** How many flushes may run at once (Postgres: a few; PGlite: 1). */
  concurrency?: number;
}): CompletionBuffer {
  let pending: Pending[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running = 0;
  const inflight = new Set<Promise<void>>();
  const concurrency = opts.concurrency ?? 2;

  const flush = (): void => {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (pending.length === 0 || running >= concurrency) return;
    const batch = pending.slice(0, opts.maxBatch);
    pending = pending.slice(batch.length);
    running++;
    const p = opts
      .complete(batch.map((b) => b.outcome))
      .then(
        (results) => {
          // The store answers in input order.
          batch.forEach((b, i) =>
            b.resolve(results[i] ?? { taskId: b.outcome.taskId, accepted: false, reason: "not processed" }),
          );
        },
        (err: unknown) => batch.forEach((b) => b.reject(err)),
      )
      .finally(() => {
        running--;
        inflight.delete(p);
        if (pending.length >= opts.maxBatch) flush();
        else if (pending.length > 0) schedule();
      });
    inflight.add(p);
    if (pending.length > 0) schedule();
  };

  const schedule = (): void => {
    if (timer) return;
    timer = setTimeout(flush, opts.windowMs);
  };

  return {
    submit(outcome) {
      return new Promise<CompletionResult>((resolve, reject) => {
        // One task may be reported twice in one window (a resend): keep both, the store decides.
        pending.push({ outcome, resolve, reject });
        if (pending.length >= opts.maxBatch) flush();
        else schedule();
      });
    },
    async drain() {
      while (pending.length > 0 || inflight.size > 0) {
        flush();
        await Promise.allSettled([...inflight]);
      }
    },
  };
}
