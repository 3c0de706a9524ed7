/**
 * Results the server has not acknowledged yet, by task id. Every result is
 * written here before it is sent; an `ack` removes it; after each reconnect
 * (new `welcome`) everything still here is sent again, and the lease token
 * inside decides on the server whether it still counts.
 *
 * One entry per task id: a newer result for the same task (a later attempt)
 * replaces the older one, which the server would refuse as stale anyway.
 *
 * While the stream stays open, `due()` hands out the results waiting longer
 * than a resend period since they were last sent (a result or its ack lost
 * on the way, a server that dropped it), and at once those the server asked
 * for again (`later()`: an ack with `retry_later`, the database unreachable).
 *
 * @example
 * ```ts
 * const book = createResultBook();
 * book.put(result);               // before sending
 * book.ack(ack.taskId);           // on ack
 * for (const r of book.values()) link.send(r); // after welcome
 * for (const r of book.due(Date.now(), 5_000)) link.send(r); // on a timer
 * await book.whenEmpty(5_000);    // on stop
 * ```
 */
import type { WorkerMessage } from "../gen/weft/v1/worker_service_pb.js";

/** A `WorkerMessage` whose oneof is a `result`. */
export type ResultMessage = WorkerMessage & { msg: { case: "result" } };

export interface ResultBook {
  /** Records a result as sent now (`now`: ms, default `Date.now()`). */
  put(result: ResultMessage, now?: number): void;
  /** Remove the task's result; false when none was waiting. */
  ack(taskId: string): boolean;
  /** The server could not record it: due again at the next `due()`. False when none was waiting. */
  later(taskId: string): boolean;
  /** Results last sent at least `resendMs` ago (or asked for again), marked as sent at `now`. */
  due(now: number, resendMs: number): ResultMessage[];
  /** Forget a result without an ack (the server re-leased the task). */
  drop(taskId: string): void;
  values(): ResultMessage[];
  readonly size: number;
  /** True once empty; false when `timeoutMs` passed first. */
  whenEmpty(timeoutMs: number): Promise<boolean>;
}

/**
 * Create an empty book.
 *
 * @example
 * ```ts
 * const book = createResultBook();
 * book.size; // 0
 * ```
 */
export function createResultBook(): ResultBook {
  const pending = new Map<string, { result: ResultMessage; sentAt: number }>();
  const waiters = new Set<() => void>();

  const settle = (): void => {
    if (pending.size > 0) return;
    for (const w of [...waiters]) w();
  };

  return {
    put(result, now = Date.now()) {
      pending.set(result.msg.value.taskId, { result, sentAt: now });
    },
    ack(taskId) {
      const had = pending.delete(taskId);
      settle();
      return had;
    },
    later(taskId) {
      const entry = pending.get(taskId);
      if (entry) entry.sentAt = Number.NEGATIVE_INFINITY;
      return entry !== undefined;
    },
    due(now, resendMs) {
      const out: ResultMessage[] = [];
      for (const entry of pending.values()) {
        if (now - entry.sentAt < resendMs) continue;
        entry.sentAt = now;
        out.push(entry.result);
      }
      return out;
    },
    drop(taskId) {
      pending.delete(taskId);
      settle();
    },
    values: () => [...pending.values()].map((e) => e.result),
    get size() {
      return pending.size;
    },
    whenEmpty(timeoutMs) {
      if (pending.size === 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const done = (empty: boolean): void => {
          clearTimeout(timer);
          waiters.delete(onEmpty);
          resolve(empty);
        };
        const onEmpty = (): void => done(true);
        const timer = setTimeout(() => done(false), timeoutMs);
        waiters.add(onEmpty);
      });
    },
  };
}
