/**
 * The WorkerService stream's messages ⇄ the dispatcher's: what is queued on
 * a session becomes server messages (batched for workers that accept
 * batches, inputs as JSON bytes for those that accept JSON), and a worker's
 * result becomes the outcome the store records.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { AckSchema, ServerMessageSchema, TaskResult, TaskSchema } from "../../gen/weft/v1/worker_service_pb.js";
import type { Outgoing } from "../dispatch/session.js";
import type { JsonValue } from "../engine/model.js";
import { invalidOutput, UNTYPED_ERROR } from "../engine/failures.js";
import type { ClaimedTask, TaskOutcome } from "../store/index.js";
import { jsonToValue, valueToJson } from "./convert.js";

/** Most tasks in one `tasks` message (a worker's slots may be many more). */
export const MAX_TASKS_PER_MESSAGE = 256;
/** Most acks in one `acks` message. */
const MAX_ACKS_PER_MESSAGE = 1024;

type TaskInit = MessageInitShape<typeof TaskSchema>;
type AckInit = MessageInitShape<typeof AckSchema>;

function taskInit(t: ClaimedTask, json: boolean): TaskInit {
  return {
    taskId: t.taskId,
    runId: t.runId,
    stepId: t.stepId,
    workflowId: t.workflowId,
    action: t.action,
    ...(json ? { inputJson: Buffer.from(JSON.stringify(t.input ?? null)) } : { input: jsonToValue(t.input) }),
    attempt: t.attempt,
    leaseToken: t.leaseToken,
    deadline: t.deadlineAt ? timestampFromDate(t.deadlineAt) : undefined,
    heartbeatTimeout: t.heartbeatTimeoutMs ? durationFromMs(t.heartbeatTimeoutMs) : undefined,
    traceparent: t.traceparent, // undefined (left empty) unless the server traces
  };
}

function ackInit(msg: Extract<Outgoing, { kind: "ack" }>): AckInit {
  return { taskId: msg.taskId, accepted: msg.accepted, reason: msg.reason ?? "", retryLater: msg.retryLater ?? false };
}

/**
 * The server messages for what is queued on a session, in order. With
 * `batches` (the worker's hello set `accepts_batches`), consecutive tasks
 * become one `tasks` message and consecutive acks one `acks` message, so a
 * claim of 250 tasks or a completion flush of 250 results costs one stream
 * message (one envelope, one socket write) instead of 250.
 *
 * With `json` (the hello set `accepts_json`) a task carries its input as
 * `input_json` bytes instead of a `Value` tree.
 *
 * @example
 *   for (const m of serverMessages(session.outbox.takeAll(), { batches: true, json: true })) yield create(ServerMessageSchema, m);
 */
export function serverMessages(
  queued: readonly Outgoing[],
  caps: { batches: boolean; json: boolean },
): MessageInitShape<typeof ServerMessageSchema>[] {
  const { batches, json } = caps;
  const out: MessageInitShape<typeof ServerMessageSchema>[] = [];
  let tasks: TaskInit[] | undefined;
  let acks: AckInit[] | undefined;
  for (const msg of queued) {
    if (msg.kind !== "task" || tasks?.length === MAX_TASKS_PER_MESSAGE) tasks = undefined;
    if (msg.kind !== "ack" || acks?.length === MAX_ACKS_PER_MESSAGE) acks = undefined;
    switch (msg.kind) {
      case "task":
        if (!batches) out.push({ msg: { case: "task", value: taskInit(msg.task, json) } });
        else if (tasks) tasks.push(taskInit(msg.task, json));
        else {
          tasks = [taskInit(msg.task, json)];
          out.push({ msg: { case: "tasks", value: { tasks } } });
        }
        break;
      case "ack":
        if (!batches) out.push({ msg: { case: "ack", value: ackInit(msg) } });
        else if (acks) acks.push(ackInit(msg));
        else {
          acks = [ackInit(msg)];
          out.push({ msg: { case: "acks", value: { acks } } });
        }
        break;
      case "cancel":
        out.push({ msg: { case: "cancel", value: { taskId: msg.taskId, reason: msg.reason } } });
        break;
    }
  }
  return out;
}

/**
 * What a worker's result says, for the store: an output (JSON) or an error.
 * An `output_json` that is not JSON is the step's error (not retryable).
 *
 * @example
 *   resultOutcome(result); // { kind: "output", output: { n: 1 } }
 */
export function resultOutcome(r: TaskResult): TaskOutcome["outcome"] {
  switch (r.outcome.case) {
    case "output":
      return { kind: "output", output: valueToJson(r.outcome.value) };
    case "outputJson":
      try {
        return { kind: "output", output: JSON.parse(Buffer.from(r.outcome.value).toString("utf8")) as JsonValue };
      } catch (err) {
        return {
          kind: "error",
          error: invalidOutput(`output_json is not JSON: ${err instanceof Error ? err.message : String(err)}`),
        };
      }
    case "error":
      return {
        kind: "error",
        error: {
          message: r.outcome.value.message,
          type: r.outcome.value.type || UNTYPED_ERROR,
          retryable: r.outcome.value.retryable,
        },
      };
    default:
      return { kind: "output", output: null };
  }
}
