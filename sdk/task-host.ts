/**
 * Where tasks live while they run: accepts or refuses each `task`, guards
 * the slots, aborts on `cancel` and deadline, heartbeats, writes every
 * result to the un-acked book before sending it, and resends the book after
 * each welcome, and on a timer while connected: a result not acknowledged
 * within `resultResendMs`, or one the server asked for again (`retry_later`:
 * it could not record it), goes out again. An idle worker sends an empty
 * heartbeat every few intervals, so the server always hears from a live one.
 * Connection-agnostic: it only calls `send()`.
 *
 * Refusals (reported at once as a failed result, so the server frees the
 * slot and re-queues or fails the step):
 * - action not registered → UNKNOWN_ACTION, not retryable;
 * - draining → WORKER_DRAINING, retryable;
 * - every slot busy → NO_SLOT, retryable. The server never sends more than
 *   `slots` on one stream, but handlers that outlived a reconnect still hold
 *   their slots, and this guard keeps the promise to the host either way.
 *
 * @example
 * ```ts
 * const host = createTaskHost({ handlers, slots: 4, maxResultBytes, send: link.send, events, logger });
 * host.accept(task); host.cancel(cancel); host.ack(ack);
 * host.connected(1_000); // on welcome: heartbeats on, un-acked results resent
 * ```
 */
import { create } from "@bufbuild/protobuf";
import {
  HeartbeatSchema,
  WorkerMessageSchema,
  type Ack,
  type Cancel,
  type Task,
  type WorkerMessage,
} from "../gen/weft/v1/worker_service_pb.js";
import { SdkErrorType, TaskError, type TaskHandler } from "./context.js";
import type { Emitter } from "./events.js";
import { createHeartbeater, type HeartbeatTarget } from "./heartbeats.js";
import { createResultBook, type ResultMessage } from "./result-book.js";
import {
  createTaskContext,
  deadlineMs,
  failureOutcome,
  heartbeatTimeoutMs,
  resultMessage,
  runHandler,
  type Outcome,
} from "./task-runner.js";
import { setLongTimeout } from "./timers.js";
import { valueToJson } from "./value.js";
import type { JsonValue } from "@bufbuild/protobuf";
import type { WorkerEvents } from "./worker-events.js";
import type { WorkerLogger } from "./worker-options.js";

export interface TaskHostOptions {
  handlers: ReadonlyMap<string, TaskHandler<never>>;
  slots: number;
  maxResultBytes: number;
  /** A result not acknowledged this long is sent again while connected. */
  resultResendMs: number;
  /** Queue a message on the stream; false while disconnected. */
  send(msg: WorkerMessage): boolean;
  events: Emitter<WorkerEvents>;
  logger: WorkerLogger;
}

export interface TaskHost {
  accept(task: Task): void;
  cancel(cancel: Cancel): void;
  ack(ack: Ack): void;
  /** Welcomed: heartbeats every `heartbeatIntervalMs`, un-acked results resent (now and on a timer). */
  connected(heartbeatIntervalMs: number): void;
  disconnected(): void;
  /** From now on every task is refused with WORKER_DRAINING. */
  drain(): void;
  /** True once no task is owed a result; false after `timeoutMs` or when `signal` aborts. */
  whenIdle(timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  /** Abort every running handler and report it failed with `reason` now; returns how many. */
  abortAll(reason: TaskError): number;
  /** True once every result is acknowledged; false after `timeoutMs`. */
  whenAcked(timeoutMs: number): Promise<boolean>;
  /** Heartbeats off and no more results (after stop). */
  close(): void;
  /** Tasks owed a result. */
  readonly running: number;
  /** Handlers that have not returned (aborted ones included). */
  readonly busySlots: number;
  readonly pendingAcks: number;
}

/** An idle worker sends an empty heartbeat (a keepalive) every this many heartbeat intervals. */
const KEEPALIVE_BEATS = 5;

interface Entry extends HeartbeatTarget {
  task: Task;
  controller: AbortController;
  reported: boolean;
  /** Clears the deadline timer; called when the entry is done with, one way or another. */
  release(): void;
}

/**
 * Create a task host.
 *
 * @example
 * ```ts
 * const host = createTaskHost(opts);
 * host.running; // 0
 * ```
 */
export function createTaskHost(opts: TaskHostOptions): TaskHost {
  const { events, logger } = opts;
  const running = new Map<string, Entry>();
  const book = createResultBook();
  const idleWaiters = new Set<() => void>();
  let busy = 0;
  let draining = false;
  let closed = false;
  let resendTimer: NodeJS.Timeout | undefined;

  const stopResending = (): void => {
    clearInterval(resendTimer);
    resendTimer = undefined;
  };

  const heartbeater = createHeartbeater({
    targets: () => running.values(),
    keepaliveEvery: KEEPALIVE_BEATS,
    send: (taskIds) =>
      opts.send(
        create(WorkerMessageSchema, { msg: { case: "heartbeat", value: create(HeartbeatSchema, { taskIds }) } }),
      ),
  });

  const deliver = (task: Task, outcome: Outcome): void => {
    if (closed) return;
    const msg: ResultMessage = resultMessage(task, outcome, opts.maxResultBytes);
    book.put(msg);
    opts.send(msg);
    if (!events.heard("result")) return;
    const o = msg.msg.value.outcome;
    events.emit("result", {
      taskId: task.taskId,
      leaseToken: task.leaseToken,
      ...(o.case === "error"
        ? { error: { type: o.value.type, message: o.value.message, retryable: o.value.retryable } }
        : {
            output:
              outcome.case === "outputJson"
                ? (JSON.parse(outcome.text) as JsonValue)
                : o.case === "output"
                  ? valueToJson(o.value)
                  : null,
          }),
    });
  };

  const finish = (entry: Entry, outcome: Outcome): void => {
    entry.release();
    if (entry.reported) return;
    entry.reported = true;
    if (running.get(entry.task.taskId) === entry) running.delete(entry.task.taskId);
    deliver(entry.task, outcome);
    if (running.size === 0) for (const w of [...idleWaiters]) w();
  };

  const refuse = (task: Task, type: string, message: string, retryable: boolean): void => {
    logger("debug", `refusing task: ${message}`, { taskId: task.taskId, type });
    deliver(task, failureOutcome(new TaskError(type, message, { retryable })));
  };

  const start = (task: Task, handler: TaskHandler<never>): void => {
    const controller = new AbortController();
    const deadline = deadlineMs(task);
    const entry: Entry = {
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
    running.set(task.taskId, entry);
    busy++;
    heartbeater.retune();
    const ctx = createTaskContext(task, controller.signal, () => {
      if (!entry.reported) heartbeater.beat(entry);
    });
    void runHandler(handler, task, ctx).then((outcome) => {
      busy--;
      finish(entry, outcome);
    });
  };

  return {
    accept(task) {
      events.emit("task", {
        taskId: task.taskId,
        runId: task.runId,
        stepId: task.stepId,
        workflowId: task.workflowId,
        action: task.action,
        attempt: task.attempt,
      });
      const handler = opts.handlers.get(task.action);
      if (!handler) return refuse(task, SdkErrorType.UNKNOWN_ACTION, `no handler for action "${task.action}"`, false);
      if (draining) return refuse(task, SdkErrorType.WORKER_DRAINING, "the worker is draining", true);
      // Offered again: the server re-leased it, so the older run and any
      // un-acked result of it are stale. Abandon them.
      book.drop(task.taskId);
      const older = running.get(task.taskId);
      if (older) {
        older.release();
        older.reported = true;
        running.delete(task.taskId);
        older.controller.abort(
          new TaskError(SdkErrorType.SUPERSEDED, "the server offered this task again", { retryable: true }),
        );
      }
      if (busy >= opts.slots) {
        return refuse(task, SdkErrorType.NO_SLOT, `all ${opts.slots} slots are busy`, true);
      }
      start(task, handler);
    },
    cancel(c) {
      const entry = running.get(c.taskId);
      if (!entry) return logger("debug", "cancel for a task that is not running", { taskId: c.taskId });
      entry.controller.abort(
        new TaskError(SdkErrorType.CANCELLED, c.reason || "cancelled by the server", { retryable: false }),
      );
    },
    ack(a) {
      if (a.retryLater) {
        // Not recorded (the server's database is unreachable): kept, and sent again on the next resend tick.
        if (book.later(a.taskId))
          logger("debug", "the server could not record a result yet; it is sent again shortly", { taskId: a.taskId });
        return;
      }
      const known = book.ack(a.taskId);
      if (!known) logger("debug", "ack for no waiting result", { taskId: a.taskId });
      else if (!a.accepted)
        logger("warn", "the server refused a result as stale", { taskId: a.taskId, reason: a.reason });
      events.emit("ack", { taskId: a.taskId, accepted: a.accepted, reason: a.reason });
    },
    connected(intervalMs) {
      heartbeater.start(intervalMs);
      const again = book.due(Date.now(), 0);
      for (const msg of again) opts.send(msg);
      if (again.length > 0) logger("info", `resent ${again.length} unacknowledged result(s)`);
      stopResending();
      resendTimer = setInterval(() => {
        for (const msg of book.due(Date.now(), opts.resultResendMs)) opts.send(msg);
      }, intervalMs);
      resendTimer.unref();
    },
    disconnected() {
      heartbeater.stop();
      stopResending();
    },
    drain() {
      draining = true;
    },
    whenIdle(timeoutMs, signal) {
      if (running.size === 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const done = (idle: boolean): void => {
          clearTimeout(timer);
          idleWaiters.delete(onIdle);
          signal?.removeEventListener("abort", onAbort);
          resolve(idle);
        };
        const onIdle = (): void => done(true);
        const onAbort = (): void => done(false);
        const timer = setTimeout(() => done(false), timeoutMs);
        idleWaiters.add(onIdle);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
    abortAll(reason) {
      const entries = [...running.values()];
      for (const entry of entries) {
        entry.controller.abort(reason);
        finish(entry, failureOutcome(reason));
      }
      return entries.length;
    },
    whenAcked: (timeoutMs) => book.whenEmpty(timeoutMs),
    close() {
      closed = true;
      heartbeater.stop();
      stopResending();
    },
    get running() {
      return running.size;
    },
    get busySlots() {
      return busy;
    },
    get pendingAcks() {
      return book.size;
    },
  };
}
