/**
 * `weft.v1.WorkerService.Connect`: one bidirectional stream per worker.
 * `hello` → `welcome`; then tasks, cancels and acks go down, results and
 * heartbeats come up. The dispatcher owns the scheduling; this file only
 * translates between protobuf and it.
 *
 * @example
 *   registerWorkerService(router, { dispatcher, checks, heartbeatIntervalMs: 1000 });
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { uuidv7 } from "uuidv7";
import {
  HelloSchema,
  ServerMessageSchema,
  WorkerService,
  type WorkerMessage,
} from "../../gen/weft/v1/worker_service_pb.js";
import type { Dispatcher } from "../dispatch/dispatcher.js";
import { WorkerSession, type Outgoing } from "../dispatch/session.js";
import type { Logger } from "../log.js";
import { jsonToValue, valueToJson } from "./convert.js";
import { invalidArgument } from "./errors.js";
import type { RequestChecks } from "./request-checks.js";

export interface WorkerServiceDeps {
  dispatcher: Dispatcher;
  checks: RequestChecks;
  logger: Logger;
  heartbeatIntervalMs: number;
}

function encode(msg: Outgoing): MessageInitShape<typeof ServerMessageSchema> {
  switch (msg.kind) {
    case "task": {
      const t = msg.task;
      return {
        msg: {
          case: "task",
          value: {
            taskId: t.taskId,
            runId: t.runId,
            stepId: t.stepId,
            workflowId: t.workflowId,
            action: t.action,
            input: jsonToValue(t.input),
            attempt: t.attempt,
            leaseToken: t.leaseToken,
            deadline: t.deadlineAt ? timestampFromDate(t.deadlineAt) : undefined,
            heartbeatTimeout: t.heartbeatTimeoutMs ? durationFromMs(t.heartbeatTimeoutMs) : undefined,
          },
        },
      };
    }
    case "cancel":
      return { msg: { case: "cancel", value: { taskId: msg.taskId, reason: msg.reason } } };
    case "ack":
      return { msg: { case: "ack", value: { taskId: msg.taskId, accepted: msg.accepted, reason: msg.reason ?? "" } } };
  }
}

export function registerWorkerService(router: ConnectRouter, deps: WorkerServiceDeps): void {
  const { dispatcher, checks, logger } = deps;
  router.service(WorkerService, {
    async *connect(requests, ctx) {
      const it = requests[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done || first.value.msg.case !== "hello") {
        throw new ConnectError("the first message on the stream must be hello", Code.InvalidArgument);
      }
      const hello = first.value.msg.value;
      const violations = checks.check(HelloSchema, hello, "hello");
      if (violations.length > 0) throw invalidArgument(violations);

      const session = new WorkerSession(uuidv7(), hello.workerName, [...hello.actions], hello.slots, { ...hello.labels });
      const log = logger.child({ workerId: session.id, worker: session.name });
      log.info({ actions: session.actions, slots: session.slots }, "worker connected");
      yield create(ServerMessageSchema, {
        msg: { case: "welcome", value: { workerId: session.id, heartbeatInterval: durationFromMs(deps.heartbeatIntervalMs) } },
      });
      dispatcher.attach(session);

      const handle = (m: WorkerMessage): void => {
        dispatcher.heard(session);
        switch (m.msg.case) {
          case "result": {
            const r = m.msg.value;
            const outcome =
              r.outcome.case === "output"
                ? { kind: "output" as const, output: valueToJson(r.outcome.value) }
                : r.outcome.case === "error"
                  ? { kind: "error" as const, error: { message: r.outcome.value.message, type: r.outcome.value.type || "Error", retryable: r.outcome.value.retryable } }
                  : { kind: "output" as const, output: null };
            dispatcher
              .submit(session, { taskId: r.taskId, leaseToken: r.leaseToken, workerId: session.id, outcome })
              .then(
                (res) => session.send({ kind: "ack", taskId: r.taskId, accepted: res.accepted, reason: res.reason }),
                (err: unknown) => log.error({ err, taskId: r.taskId }, "could not record result; the worker will resend it"),
              );
            break;
          }
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
        for await (const msg of session.outbox) {
          yield create(ServerMessageSchema, encode(msg));
        }
      } finally {
        await dispatcher.detach(session);
      }
    },
  });
}
