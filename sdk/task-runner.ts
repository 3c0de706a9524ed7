/**
 * One task, start to result: decode the input, build the `TaskContext`,
 * call the handler, and turn whatever happened into the `result` message
 * (output as `google.protobuf.Value`, or a `Failure`). Never throws.
 *
 * @example
 * ```ts
 * const ctx = createTaskContext(task, controller.signal, () => heartbeater.beat(entry));
 * const outcome = await runHandler(handler, task, ctx);
 * book.put(resultMessage(task, outcome, maxResultBytes));
 * ```
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { durationMs, timestampMs, type Value } from "@bufbuild/protobuf/wkt";
import { FailureSchema, type Failure } from "../gen/weft/v1/common_pb.js";
import { WorkerMessageSchema, type Task } from "../gen/weft/v1/worker_service_pb.js";
import { TaskError, toTaskError, type TaskContext, type TaskHandler } from "./context.js";
import { SdkErrorType } from "./failures.js";
import type { ResultMessage } from "./result-book.js";
import { inTaskSpan } from "./tracing.js";
import { jsonToValue, valueToJson } from "./value.js";

/** What a task ended with: the `TaskResult.outcome` oneof. */
/**
 * What a task came to. A handler's return value travels as UTF-8 JSON
 * (`outputJson`, with the text for the worker's own events); the link turns
 * it into a `Value` (`output`) for a server whose welcome did not say
 * `accepts_json`.
 */
export type Outcome =
  | { case: "output"; value: Value }
  | { case: "outputJson"; value: Uint8Array; text: string }
  | { case: "error"; value: Failure };

/**
 * The handler's view of `task`.
 *
 * @example
 * ```ts
 * const ctx = createTaskContext(task, new AbortController().signal, () => {});
 * ctx.attempt; // 1
 * ```
 */
export function createTaskContext(
  task: Task,
  signal: AbortSignal,
  heartbeat: (details?: unknown) => void,
): TaskContext {
  const deadline = deadlineMs(task);
  return Object.freeze({
    taskId: task.taskId,
    runId: task.runId,
    stepId: task.stepId,
    workflowId: task.workflowId,
    action: task.action,
    attempt: task.attempt,
    deadline: deadline === undefined ? undefined : new Date(deadline),
    signal,
    heartbeat,
  });
}

/**
 * Run `handler` on the task's input. A failure after `ctx.signal` aborted is
 * reported with the abort's reason (CANCELLED, DEADLINE_EXCEEDED, …) unless
 * the handler threw a `TaskError` of its own. A task with a `traceparent`
 * runs inside its `weft.task` span (`tracing.ts`).
 *
 * @example
 * ```ts
 * const outcome = await runHandler(async (x) => x, task, ctx);
 * ```
 */
export function runHandler(handler: TaskHandler<never>, task: Task, ctx: TaskContext): Promise<Outcome> {
  return task.traceparent ? inTaskSpan(task, () => runUntraced(handler, task, ctx)) : runUntraced(handler, task, ctx);
}

async function runUntraced(handler: TaskHandler<never>, task: Task, ctx: TaskContext): Promise<Outcome> {
  let input;
  try {
    input =
      task.inputJson.length > 0
        ? JSON.parse(
            Buffer.from(task.inputJson.buffer, task.inputJson.byteOffset, task.inputJson.byteLength).toString("utf8"),
          )
        : valueToJson(task.input);
  } catch (err) {
    return failureOutcome(
      new TaskError(SdkErrorType.BAD_INPUT, `cannot decode the task input: ${String(err)}`, { retryable: false }),
    );
  }
  let output: unknown;
  try {
    output = await (handler as TaskHandler<unknown>)(input, ctx);
  } catch (err) {
    if (err instanceof TaskError || !ctx.signal.aborted) return failureOutcome(toTaskError(err));
    return failureOutcome(toTaskError(ctx.signal.reason));
  }
  try {
    return jsonOutcome(output);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return failureOutcome(
      TaskError.nonRetryable(SdkErrorType.OUTPUT_NOT_SERIALIZABLE, `the handler's return value is not JSON: ${why}`),
    );
  }
}

/**
 * A failure outcome.
 *
 * @example
 * ```ts
 * failureOutcome(TaskError.retryable(SdkErrorType.NO_SLOT, "all slots busy"));
 * ```
 */
export function failureOutcome(err: TaskError): Outcome {
  const e = toTaskError(err);
  return { case: "error", value: create(FailureSchema, { type: e.type, message: e.message, retryable: e.retryable }) };
}

/**
 * The `result` message for `task`. An encoding larger than `maxBytes`
 * becomes a non-retryable OUTPUT_TOO_LARGE failure: sent as it is, the
 * server would refuse the whole stream, and the resend after the reconnect
 * would do the same forever.
 *
 * @example
 * ```ts
 * link.send(resultMessage(task, outcome, 4_000_000));
 * ```
 */
export function resultMessage(task: Task, outcome: Outcome, maxBytes: number): ResultMessage {
  const msg = build(task, outcome);
  if (outcome.case === "error") return msg;
  // JSON bytes: their length plus the id and token (a few bytes of framing over); no second encoding.
  const size =
    outcome.case === "outputJson"
      ? outcome.value.length + task.taskId.length + 24
      : toBinary(WorkerMessageSchema, msg).length;
  if (size <= maxBytes) return msg;
  return build(
    task,
    failureOutcome(
      TaskError.nonRetryable(
        SdkErrorType.OUTPUT_TOO_LARGE,
        `the output encodes to ${size} bytes; the limit is ${maxBytes}`,
      ),
    ),
  );
}

/**
 * A handler's return value as an `outputJson` outcome, with JSON's own
 * rules (`undefined` → `null`, `toJSON()` honoured). Throws a `TypeError`
 * for what JSON cannot hold (a BigInt, a cycle).
 *
 * @example
 * ```ts
 * jsonOutcome({ n: 1 }); // { case: "outputJson", value: <bytes of {"n":1}>, text: '{"n":1}' }
 * ```
 */
export function jsonOutcome(output: unknown): Outcome {
  const text = JSON.stringify(output) ?? "null";
  return { case: "outputJson", value: Buffer.from(text, "utf8"), text };
}

/**
 * The same result with its output as a `google.protobuf.Value`, for a server
 * that does not take `output_json`.
 *
 * @example
 * ```ts
 * link.send(welcome.acceptsJson ? msg : withValueOutput(msg));
 * ```
 */
export function withValueOutput(msg: ResultMessage): ResultMessage {
  const r = msg.msg.value;
  if (r.outcome.case !== "outputJson") return msg;
  const output = JSON.parse(Buffer.from(r.outcome.value).toString("utf8")) as unknown;
  return build({ taskId: r.taskId, leaseToken: r.leaseToken } as Task, { case: "output", value: jsonToValue(output) });
}

/** The task's deadline in epoch milliseconds, if it has one. */
export function deadlineMs(task: Task): number | undefined {
  return task.deadline ? timestampMs(task.deadline) : undefined;
}

/** The task's heartbeat timeout in milliseconds; unset or zero → undefined. */
export function heartbeatTimeoutMs(task: Task): number | undefined {
  const ms = task.heartbeatTimeout ? durationMs(task.heartbeatTimeout) : 0;
  return ms > 0 ? ms : undefined;
}

function build(task: Pick<Task, "taskId" | "leaseToken">, outcome: Outcome): ResultMessage {
  const o = outcome.case === "outputJson" ? { case: "outputJson" as const, value: outcome.value } : outcome;
  return create(WorkerMessageSchema, {
    msg: { case: "result", value: { taskId: task.taskId, leaseToken: task.leaseToken, outcome: o } },
  }) as ResultMessage;
}
