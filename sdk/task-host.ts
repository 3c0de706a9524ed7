/**
 * Where tasks live while they run: takes the server's messages, accepts or
 * refuses each `task`, guards the slots, aborts on `cancel` and deadline,
 * and heartbeats. Results go out through the outbox (`result-outbox.ts`:
 * the un-acked book, acks, resends). An idle worker sends an empty
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
 * host.receive(serverMessage); // a task, tasks, a cancel, an ack or acks
 * host.connected(1_000); // on welcome: heartbeats on, un-acked results resent
 * ```
 */
import { create } from "@bufbuild/protobuf";
import {
  HeartbeatSchema,
  WorkerMessageSchema,
  type Cancel,
  type ServerMessage,
  type Task,
  type WorkerMessage,
} from "../gen/weft/v1/worker_service_pb.js";
import { SdkErrorType, TaskError, type TaskHandler } from "./context.js";
import type { Emitter } from "./events.js";
import { createHeartbeater, type Heartbeater } from "./heartbeats.js";
import { createResultOutbox, type ResultOutbox } from "./result-outbox.js";
import { newEntry, waitIdle, type Entry } from "./running-task.js";
import { createTaskContext, failureOutcome, runHandler, type Outcome } from "./task-runner.js";
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
  /** A message from the server after the welcome: tasks, cancels, acks. */
  receive(msg: ServerMessage): void;
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
  return new Host(opts);
}

class Host implements TaskHost {
  readonly #opts: TaskHostOptions;
  /** Tasks owed a result, by id. */
  readonly #running = new Map<string, Entry>();
  readonly #outbox: ResultOutbox;
  readonly #heartbeater: Heartbeater;
  readonly #idleWaiters = new Set<() => void>();
  #busy = 0;
  #draining = false;

  constructor(opts: TaskHostOptions) {
    this.#opts = opts;
    this.#outbox = createResultOutbox(opts);
    this.#heartbeater = createHeartbeater({
      targets: () => this.#running.values(),
      keepaliveEvery: KEEPALIVE_BEATS,
      send: (taskIds) =>
        opts.send(
          create(WorkerMessageSchema, { msg: { case: "heartbeat", value: create(HeartbeatSchema, { taskIds }) } }),
        ),
    });
  }

  receive(msg: ServerMessage): void {
    switch (msg.msg.case) {
      case "task":
        return this.#accept(msg.msg.value);
      case "tasks":
        for (const task of msg.msg.value.tasks) this.#accept(task);
        return;
      case "cancel":
        return this.#cancel(msg.msg.value);
      case "ack":
        return this.#outbox.ack(msg.msg.value);
      case "acks":
        for (const ack of msg.msg.value.acks) this.#outbox.ack(ack);
        return;
      case "welcome":
        return this.#opts.logger("warn", "ignoring a second welcome on the same stream");
      default:
        // A message kind from a newer server: nothing to do with it.
        return this.#opts.logger("debug", "ignoring an unknown server message");
    }
  }

  connected(intervalMs: number): void {
    this.#heartbeater.start(intervalMs);
    this.#outbox.connected(intervalMs);
  }

  disconnected(): void {
    this.#heartbeater.stop();
    this.#outbox.disconnected();
  }

  drain(): void {
    this.#draining = true;
  }

  whenIdle(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    return this.#running.size === 0 ? Promise.resolve(true) : waitIdle(this.#idleWaiters, timeoutMs, signal);
  }

  abortAll(reason: TaskError): number {
    const entries = [...this.#running.values()];
    for (const entry of entries) {
      entry.controller.abort(reason);
      this.#finish(entry, failureOutcome(reason));
    }
    return entries.length;
  }

  whenAcked(timeoutMs: number): Promise<boolean> {
    return this.#outbox.whenEmpty(timeoutMs);
  }

  close(): void {
    this.#outbox.close();
    this.#heartbeater.stop();
  }

  get running(): number {
    return this.#running.size;
  }

  get busySlots(): number {
    return this.#busy;
  }

  get pendingAcks(): number {
    return this.#outbox.size;
  }

  #accept(task: Task): void {
    const { handlers, slots, events } = this.#opts;
    events.emit("task", {
      taskId: task.taskId,
      runId: task.runId,
      stepId: task.stepId,
      workflowId: task.workflowId,
      action: task.action,
      attempt: task.attempt,
    });
    const handler = handlers.get(task.action);
    if (!handler) return this.#refuse(task, SdkErrorType.UNKNOWN_ACTION, `no handler for action "${task.action}"`);
    if (this.#draining) return this.#refuse(task, SdkErrorType.WORKER_DRAINING, "the worker is draining", true);
    this.#supersede(task.taskId);
    if (this.#busy >= slots) return this.#refuse(task, SdkErrorType.NO_SLOT, `all ${slots} slots are busy`, true);
    this.#start(task, handler);
  }

  #cancel(c: Cancel): void {
    const entry = this.#running.get(c.taskId);
    if (!entry) return this.#opts.logger("debug", "cancel for a task that is not running", { taskId: c.taskId });
    entry.controller.abort(
      new TaskError(SdkErrorType.CANCELLED, c.reason || "cancelled by the server", { retryable: false }),
    );
  }

  #refuse(task: Task, type: string, message: string, retryable = false): void {
    this.#opts.logger("debug", `refusing task: ${message}`, { taskId: task.taskId, type });
    this.#outbox.deliver(task, failureOutcome(new TaskError(type, message, { retryable })));
  }

  /** Offered again: the server re-leased it, so the older run and any un-acked result of it are stale. */
  #supersede(taskId: string): void {
    this.#outbox.drop(taskId);
    const older = this.#running.get(taskId);
    if (!older) return;
    older.release();
    older.reported = true;
    this.#running.delete(taskId);
    older.controller.abort(
      new TaskError(SdkErrorType.SUPERSEDED, "the server offered this task again", { retryable: true }),
    );
  }

  #start(task: Task, handler: TaskHandler<never>): void {
    const entry = newEntry(task);
    this.#running.set(task.taskId, entry);
    this.#busy++;
    this.#heartbeater.retune();
    const ctx = createTaskContext(task, entry.controller.signal, () => {
      if (!entry.reported) this.#heartbeater.beat(entry);
    });
    void runHandler(handler, task, ctx).then((outcome) => {
      this.#busy--;
      this.#finish(entry, outcome);
    });
  }

  #finish(entry: Entry, outcome: Outcome): void {
    entry.release();
    if (entry.reported) return;
    entry.reported = true;
    if (this.#running.get(entry.task.taskId) === entry) this.#running.delete(entry.task.taskId);
    this.#outbox.deliver(entry.task, outcome);
    if (this.#running.size === 0) for (const w of [...this.#idleWaiters]) w();
  }
}
