/**
 * Results on their way to the server: each is written to the un-acked book
 * (`result-book.ts`) before it is sent, and reported as a `result` event;
 * an `ack` takes it off the book (`retry_later`: the server could not
 * record it, it goes out again on the next resend tick). While connected,
 * the book is resent after each welcome and on a timer: a result not
 * acknowledged within `resultResendMs` goes out again.
 *
 * @example
 * ```ts
 * const outbox = createResultOutbox({ maxResultBytes, resultResendMs: 5_000, send: link.send, events, logger });
 * outbox.deliver(task, outcome);
 * outbox.ack(ack);
 * outbox.connected(1_000); // on welcome: resend now, and every second from now on
 * ```
 */
import type { JsonValue } from "@bufbuild/protobuf";
import type { Ack, Task, WorkerMessage } from "../gen/weft/v1/worker_service_pb.js";
import type { Emitter } from "./events.js";
import { createResultBook, type ResultMessage } from "./result-book.js";
import { resultMessage, type Outcome } from "./task-runner.js";
import { valueToJson } from "./value.js";
import type { WorkerEvents } from "./worker-events.js";
import type { WorkerLogger } from "./worker-options.js";

export interface ResultOutbox {
  /** Books and sends the task's result, and reports it (nothing once closed). */
  deliver(task: Task, outcome: Outcome): void;
  /** The server answered a result. */
  ack(ack: Ack): void;
  /** Forget the task's result without an ack (the server offered the task again). */
  drop(taskId: string): void;
  /** Welcomed: resend the book now, then every `intervalMs` what waited `resultResendMs`. */
  connected(intervalMs: number): void;
  /** No resending while disconnected. */
  disconnected(): void;
  /** No more results (after stop). */
  close(): void;
  /** True once every result is acknowledged; false after `timeoutMs`. */
  whenEmpty(timeoutMs: number): Promise<boolean>;
  /** Results not acknowledged yet. */
  readonly size: number;
}

/**
 * Create the outbox of one task host.
 *
 * @example
 * ```ts
 * const outbox = createResultOutbox({ maxResultBytes: 1 << 22, resultResendMs: 5_000, send, events, logger });
 * ```
 */
export function createResultOutbox(opts: {
  maxResultBytes: number;
  resultResendMs: number;
  /** Queue a message on the stream; false while disconnected. */
  send(msg: WorkerMessage): boolean;
  events: Emitter<WorkerEvents>;
  logger: WorkerLogger;
}): ResultOutbox {
  const { events, logger } = opts;
  const book = createResultBook();
  let closed = false;
  let resendTimer: NodeJS.Timeout | undefined;

  const stopResending = (): void => {
    clearInterval(resendTimer);
    resendTimer = undefined;
  };

  return {
    deliver(task, outcome) {
      if (closed) return;
      const msg: ResultMessage = resultMessage(task, outcome, opts.maxResultBytes);
      book.put(msg);
      opts.send(msg);
      if (events.heard("result")) events.emit("result", resultEvent(task, outcome, msg));
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
    drop: (taskId) => book.drop(taskId),
    connected(intervalMs) {
      const again = book.due(Date.now(), 0);
      for (const msg of again) opts.send(msg);
      if (again.length > 0) logger("info", `resent ${again.length} unacknowledged result(s)`);
      stopResending();
      resendTimer = setInterval(() => {
        for (const msg of book.due(Date.now(), opts.resultResendMs)) opts.send(msg);
      }, intervalMs);
      resendTimer.unref();
    },
    disconnected: stopResending,
    close() {
      closed = true;
      stopResending();
    },
    whenEmpty: (timeoutMs) => book.whenEmpty(timeoutMs),
    get size() {
      return book.size;
    },
  };
}

/** The `result` event of a booked result: its output as JSON, or its failure. */
function resultEvent(task: Task, outcome: Outcome, msg: ResultMessage): WorkerEvents["result"] {
  const o = msg.msg.value.outcome;
  return {
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
  };
}
