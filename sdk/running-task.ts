/**
 * A task while it runs, as the task host keeps it: its abort, whether its
 * result went out, its heartbeat bookkeeping, its deadline timer; and the
 * wait for the host to have none left.
 *
 * @example
 * ```ts
 * const entry = newEntry(task);
 * const idle = await waitIdle(idleWaiters, 10_000);
 * ```
 */
import type { Task } from "../gen/weft/v1/worker_service_pb.js";
import { SdkErrorType, TaskError } from "./context.js";
import type { HeartbeatTarget } from "./heartbeats.js";
import { deadlineMs, heartbeatTimeoutMs } from "./task-runner.js";
import { setLongTimeout } from "./timers.js";

export interface Entry extends HeartbeatTarget {
  task: Task;
  controller: AbortController;
  reported: boolean;
  /** Clears the deadline timer; called when the entry is done with, one way or another. */
  release(): void;
}

/**
 * A running task's entry; its deadline (if any) aborts it.
 *
 * @example
 * ```ts
 * const entry = newEntry(task);
 * entry.release(); // once its result is in: the deadline timer goes
 * ```
 */
export function newEntry(task: Task): Entry {
  const controller = new AbortController();
  const deadline = deadlineMs(task);
  return {
    task,
    controller,
    reported: false,
    taskId: task.taskId,
    heartbeatTimeoutMs: heartbeatTimeoutMs(task),
    lastBeatAt: Date.now(),
    release:
      deadline === undefined
        ? () => {}
        : setLongTimeout(
            () =>
              controller.abort(
                new TaskError(SdkErrorType.DEADLINE_EXCEEDED, "the task's deadline passed", { retryable: true }),
              ),
            deadline - Date.now(),
          ),
  };
}

/**
 * Resolves true once one of `waiters` is called (the host calls them all
 * when its last task ends), false after `timeoutMs` or when `signal` aborts.
 *
 * @example
 * ```ts
 * const idle = await waitIdle(idleWaiters, 10_000, graceEnd.signal);
 * ```
 */
export function waitIdle(
  waiters: Set<() => void>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (idle: boolean): void => {
      clearTimeout(timer);
      waiters.delete(onIdle);
      signal?.removeEventListener("abort", onAbort);
      resolve(idle);
    };
    const onIdle = (): void => done(true);
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(false), timeoutMs);
    waiters.add(onIdle);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
