/**
 * `weft.v1.WorkerService.Connect`: one bidirectional stream per worker.
 * `hello` → `welcome`; then tasks, cancels and acks go down, results and
 * heartbeats come up. The dispatcher owns the scheduling; this file only
 * translates between protobuf and it (the messages themselves: see
 * `worker-messages.ts`). The stream is listed in the worker registry while
 * it is open (`ListWorkers`, see `worker-list.ts`).
 *
 * @example
 *   registerWorkerService(router, { dispatcher, presence, registry, checks, logger, heartbeatIntervalMs: 1000 });
 */
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { uuidv7 } from "uuidv7";
import {
  HelloSchema,
  ServerMessageSchema,
  WorkerService,
  type Hello,
  type ServerMessage,
  type TaskResult,
  type WorkerMessage,
} from "../../gen/weft/v1/worker_service_pb.js";
import type { Dispatcher } from "../dispatch/dispatcher.js";
import { WorkerSession } from "../dispatch/session.js";
import type { WorkerPresence } from "../dispatch/worker-presence.js";
import type { Logger } from "../log.js";
import type { WorkerRegistry } from "../registry/types.js";
import { actionsOutside, namespaceKey, principalKey } from "../security/index.js";
import { isDatabaseUnavailable } from "../store/index.js";
import { invalidArgument } from "./errors.js";
import type { RequestChecks } from "./request-checks.js";
import { resultOutcome, serverMessages } from "./worker-messages.js";
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

/**
 * Registers `Connect` and `ListWorkers`.
 *
 * @example
 *   registerWorkerService(router, deps);
 */
export function registerWorkerService(router: ConnectRouter, deps: WorkerServiceDeps): void {
  router.service(WorkerService, {
    listWorkers: (req, ctx) => listWorkers(deps.registry, req, ctx.values.get(namespaceKey)),
    connect: (requests, ctx) => connect(requests, ctx, deps),
  });
}

/**
 * One worker's stream: its hello answered with welcome, then what the
 * dispatcher queues on its session goes down while its messages are read,
 * until either side ends it.
 */
async function* connect(
  requests: AsyncIterable<WorkerMessage>,
  ctx: HandlerContext,
  deps: WorkerServiceDeps,
): AsyncGenerator<ServerMessage> {
  const { dispatcher } = deps;
  const it = requests[Symbol.asyncIterator]();
  const hello = await readHello(it, deps.checks);
  mayServe(ctx, hello.actions);
  const namespace = ctx.values.get(namespaceKey);
  const labels = { ...hello.labels };
  const session = new WorkerSession(uuidv7(), hello.workerName, [...hello.actions], hello.slots, labels, namespace);
  const caps = { batches: hello.acceptsBatches, json: hello.acceptsJson };
  const log = deps.logger.child({ workerId: session.id, worker: session.name, namespace });
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

  void readAll(it, messageHandler(session, dispatcher, log)).then((why) => {
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
}

/** The stream's first message, which must be a valid hello. */
async function readHello(it: AsyncIterator<WorkerMessage>, checks: RequestChecks): Promise<Hello> {
  const first = await it.next();
  if (first.done || first.value.msg.case !== "hello") {
    throw new ConnectError("the first message on the stream must be hello", Code.InvalidArgument);
  }
  const hello = first.value.msg.value;
  const violations = checks.check(HelloSchema, hello, "hello");
  if (violations.length > 0) throw invalidArgument(violations);
  return hello;
}

/** A worker key serves only the actions its patterns allow (without auth there is no caller, and no limit). */
function mayServe(ctx: HandlerContext, actions: readonly string[]): void {
  const caller = ctx.values.get(principalKey);
  if (caller?.role !== "worker") return;
  const outside = actionsOutside(caller.actionPatterns, actions);
  if (outside.length === 0) return;
  throw new ConnectError(
    `API key ${caller.keyId} may serve only actions matching ${caller.actionPatterns.join(", ")}; the hello names ${outside.join(", ")}`,
    Code.PermissionDenied,
  );
}

/** Hands each message after the hello to `handle`; resolves with why the stream ended (never rejects). */
async function readAll(it: AsyncIterator<WorkerMessage>, handle: (m: WorkerMessage) => void): Promise<string> {
  try {
    for (;;) {
      const next = await it.next();
      if (next.done) return "client closed";
      handle(next.value);
    }
  } catch (err) {
    return `stream error: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** What a worker sends after its hello: results to record, heartbeats; a second hello is refused. */
function messageHandler(session: WorkerSession, dispatcher: Dispatcher, log: Logger): (m: WorkerMessage) => void {
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
  return (m) => {
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
