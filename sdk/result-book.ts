/**
 * Results the server has not acknowledged yet, by task id. Every result is
 * written here before it is sent; an `ack` removes it; after each reconnect
 * (new `welcome`) everything still here is sent again, and the lease token
 * inside decides on the server whether it still counts.
 *
 * One entry per task id: a newer result for the same task (a later attempt)
 * replaces the older one, which the server would refuse as stale anyway.
 *
 * @example
 * ```ts
 * const book = createResultBook();
 * book.put(result);               // before sending
 * book.ack(ack.taskId);           // on ack
 * for (const r of book.values()) link.send(r); // after welcome
 * await book.whenEmpty(5_000);    // on stop
 * ```
 */
import type { WorkerMessage } from "../gen/weft/v1/worker_service_pb.js";

/** A `WorkerMessage` whose oneof is a `result`. */
export type ResultMessage = WorkerMessage & { msg: { case: "result" } };

export interface ResultBook {
  put(result: ResultMessage): void;
  /** Remove the task's result; false when none was waiting. */
  ack(taskId: string): boolean;
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
  const pending = new Map<string, ResultMessage>();
  const waiters = new Set<() => void>();

  const settle = (): void => {
    if (pending.size > 0) return;
    for (const w of [...waiters]) w();
  };

  return {
    put(result) {
      pending.set(result.msg.value.taskId, result);
    },
    ack(taskId) {
      const had = pending.delete(taskId);
      settle();
      return had;
    },
    drop(taskId) {
      pending.delete(taskId);
      settle();
    },
    values: () => [...pending.values()],
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
