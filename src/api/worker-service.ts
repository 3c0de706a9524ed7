/**
 * `weft.v1.WorkerService.Connect`: one bidirectional stream per worker.
 * `hello` → `welcome`; then tasks, cancels and acks go down, results and
 * heartbeats come up. The dispatcher owns the scheduling; this file only
 * translates between protobuf and it. The stream is listed in the worker
 * registry while it is open (`ListWorkers`, see `worker-list.ts`).
 *
 * @example
 *   registerWorkerService(router, { dispatcher, presence, registry, checks, logger, heartbeatIntervalMs: 1000 });
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { uuidv7 } from "uuidv7";
import {
  HelloSchema,
  ServerMessageSchema,
  WorkerService,
  type AckSchema,
  type TaskResult,
  type TaskSchema,
  type WorkerMessage,
} from "../../gen/weft/v1/worker_service_pb.js";
import type { Dispatcher } from "../dispatch/dispatcher.js";
import { WorkerSession, type Outgoing } from "../dispatch/session.js";
import type { WorkerPresence } from "../dispatch/worker-presence.js";
import type { Logger } from "../log.js";
import type { WorkerRegistry } from "../registry/types.js";
import { invalidOutput, UNTYPED_ERROR } from "../engine/failures.js";
import type { JsonValue } from "../engine/model.js";
import type { ClaimedTask, TaskOutcome } from "../store/types.js";
import { isDatabaseUnavailable } from "../store/unavailable.js";
import { jsonToValue, valueToJson } from "./convert.js";
import { invalidArgument } from "./errors.js";
import type { RequestChecks } from "./request-checks.js";
import { listWorkers } from "./worker-list.js";

export interface WorkerServiceDeps {
  dispatcher: Dispatcher;
  /** Lists this replica's open streams in the registry. */
  presence: WorkerPresence;
  /** Every replica's streams, for `ListWorkers`. */
  registry: WorkerRegistry;
  checks: RequestChecks;
  logger: Logger;
  heartbeatIntervalMs: number;
}

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

/** What a worker's result says, for the store: an output (JSON) or an error. */
function resultOutcome(r: TaskResult): TaskOutcome["outcome"] {
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

/**
 * What a worker stream does with each message: a result goes to the
 * dispatcher and is acked once recorded (or asked for again when the
 * database is unreachable), a heartbeat renews leases, a second hello is
 * refused. Every message counts as hearing from the worker.
 *
 * @example
 *   const handle = workerMessageHandler(session, dispatcher, log);
 *   for await (const m of requests) handle(m);
 */
function workerMessageHandler(session: WorkerSession, dispatcher: Dispatcher, log: Logger): (m: WorkerMessage) => void {
  const result = (r: TaskResult): void => {
    // A resend (on the worker's timer) of a result still being committed: the commit's ack answers both.
    if (session.committing(r.taskId, r.leaseToken)) return;
    const outcome = resultOutcome(r);
    dispatcher.submit(session, { taskId: r.taskId, leaseToken: r.leaseToken, workerId: session.id, outcome }).then(
      (res) => session.send({ kind: "ack", taskId: r.taskId, accepted: res.accepted, reason: res.reason }),
      (err: unknown) => {
        // Not recorded: the worker keeps the result and sends it again; its lease token still decides.
        if (isDatabaseUnavailable(err))
          log.debug({ err, taskId: r.taskId }, "could not record result: database unreachable");
        else log.error({ err, taskId: r.taskId }, "could not record result");
        session.send({
          kind: "ack",
          taskId: r.taskId,
          accepted: false,
          retryLater: true,
          reason: "the result could not be recorded now; send it again",
        });
      },
    );
  };
  return (m: WorkerMessage): void => {
    dispatcher.heard(session);
    switch (m.msg.case) {
      case "result":
        result(m.msg.value);
        break;
      case "results":
        for (const r of m.msg.value.results) result(r);
        break;
      case "heartbeat":
        void dispatcher.heartbeat(session, m.msg.value.taskIds);
        break;
      case "hello":
        session.send({ kind: "ack", taskId: "", accepted: false, reason: "hello may only be sent once" });
        break;
      default:
        break;
    }
  };
}

export function registerWorkerService(router: ConnectRouter, deps: WorkerServiceDeps): void {
  const { dispatcher, checks, logger } = deps;
  router.service(WorkerService, {
    listWorkers: (req) => listWorkers(deps.registry, req),
    async *connect(requests, ctx) {
      const it = requests[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done || first.value.msg.case !== "hello") {
        throw new ConnectError("the first message on the stream must be hello", Code.InvalidArgument);
      }
      const hello = first.value.msg.value;
      const violations = checks.check(HelloSchema, hello, "hello");
      if (violations.length > 0) throw invalidArgument(violations);

      const session = new WorkerSession(uuidv7(), hello.workerName, [...hello.actions], hello.slots, {
        ...hello.labels,
      });
      const caps = { batches: hello.acceptsBatches, json: hello.acceptsJson };
      const log = logger.child({ workerId: session.id, worker: session.name });
      log.info({ actions: session.actions, slots: session.slots }, "worker connected");
      yield create(ServerMessageSchema, {
        msg: {
          case: "welcome",
          value: {
            workerId: session.id,
            heartbeatInterval: durationFromMs(deps.heartbeatIntervalMs),
            acceptsBatches: true,
            acceptsJson: true,
          },
        },
      });
      dispatcher.attach(session);
      deps.presence.attached(session);

      const handle = workerMessageHandler(session, dispatcher, log);
      const reader = (async () => {
        for (;;) {
          const next = await it.next();
          if (next.done) break;
          handle(next.value);
        }
      })();
      const ended = reader.then(
        () => "client closed",
        (err: unknown) => `stream error: ${err instanceof Error ? err.message : String(err)}`,
      );
      void ended.then((why) => {
        log.info({ why }, "worker disconnected");
        session.close();
      });
      ctx.signal.addEventListener("abort", () => session.close(), { once: true });
      try {
        for await (const first of session.outbox) {
          // Everything queued meanwhile goes with it (a claim's tasks, a flush's acks).
          const queued = [first, ...session.outbox.takeAll()];
          session.sending(queued);
          for (const m of serverMessages(queued, caps)) yield create(ServerMessageSchema, m);
        }
      } finally {
        deps.presence.detached(session);
        await dispatcher.detach(session);
      }
      if (session.dropped !== undefined) throw new ConnectError(session.dropped, Code.Unavailable);
    },
  });
}
