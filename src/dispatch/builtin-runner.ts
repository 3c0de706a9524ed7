/**
 * The control plane's own worker: one in-process session per replica that
 * claims the tasks of built-in actions (`src/builtins/`) through the same
 * dispatcher as remote workers, so leases, heartbeats, retries, timeouts,
 * cancels and history are shared. It heartbeats its running tasks like an
 * SDK would, aborts a task on `cancel`, and submits results through the
 * completion buffer. On shutdown, tasks still running after the grace period
 * are aborted and requeued without using up an attempt, so a rolling restart
 * never fails a built-in step.
 *
 * @example
 *   const runner = createBuiltinRunner({ dispatcher, store, registry, logger, slots: 64, heartbeatIntervalMs: 1000, defaultSecret, egress });
 *   await runner.close(5_000); // lets running tasks finish for up to 5 s, then aborts them
 */
import { setTimeout as sleep } from "node:timers/promises";
import { uuidv7 } from "uuidv7";
import type { EgressClient } from "../builtins/egress-client.js";
import type { BuiltinRegistry } from "../builtins/registry.js";
import type { BuiltinOutcome } from "../builtins/types.js";
import { AbortReason, builtinError, cancelReason, SHUTDOWN_ABORT, unknownAction } from "../engine/failures.js";
import type { JsonValue } from "../engine/model.js";
import type { Logger } from "../log.js";
import { isDatabaseUnavailable, type ClaimedTask, type Store, type TaskOutcome } from "../store/index.js";
import type { Dispatcher } from "./dispatcher.js";
import { WorkerSession } from "./session.js";

/** Delays between submissions of a built-in result while the database is unreachable (ms). */
const RESUBMIT_MIN_MS = 250;
const RESUBMIT_MAX_MS = 2_000;

export interface BuiltinRunner {
  readonly session: WorkerSession;
  /** Stops taking tasks; running ones get `graceMs` to finish, then are aborted. */
  close(graceMs: number): Promise<void>;
}

/** What the runner needs: the dispatcher it claims through, the store it reads run context from, its actions. */
export interface BuiltinRunnerDeps {
  dispatcher: Dispatcher;
  store: Pick<Store, "getRun" | "getWorkflow">;
  registry: BuiltinRegistry;
  logger: Logger;
  slots: number;
  heartbeatIntervalMs: number;
  /** The server's default signing secret, for workflows without their own. */
  defaultSecret: string;
  /** `--max-payload-bytes`: built-ins read no larger answers. */
  maxOutputBytes?: number;
  /** Outbound HTTP of `http.request` and `webhook`, held to the egress policy. */
  egress: EgressClient;
}

/** The run's input and the outputs of its succeeded steps. */
async function runContext(store: BuiltinRunnerDeps["store"], runId: string) {
  const run = await store.getRun(runId);
  const steps: Record<string, JsonValue> = {};
  for (const s of run?.steps ?? []) if (s.status === "SUCCEEDED" && s.output !== undefined) steps[s.stepId] = s.output;
  return { input: run?.input ?? null, steps };
}

/** The workflow's own signing secret, else the server's default. */
async function signingSecret(deps: BuiltinRunnerDeps, runId: string, workflowId: string): Promise<string> {
  const run = await deps.store.getRun(runId);
  const wf = run ? await deps.store.getWorkflow(run.namespace, workflowId, run.workflowVersion) : undefined;
  return wf?.def.webhooks.secret || deps.defaultSecret;
}

/** Runs the task's built-in; an unknown action or a throw is a failure, never a rejection. */
async function execute(deps: BuiltinRunnerDeps, task: ClaimedTask, signal: AbortSignal): Promise<BuiltinOutcome> {
  const action = deps.registry.get(task.action);
  if (!action) return { kind: "error", error: unknownAction(`no built-in ${task.action}`) };
  try {
    return await action.run(task.input, {
      runId: task.runId,
      stepId: task.stepId,
      workflowId: task.workflowId,
      attempt: task.attempt,
      signal,
      now: new Date(),
      maxOutputBytes: deps.maxOutputBytes ?? Number.POSITIVE_INFINITY,
      ...(task.timerAt ? { timerAt: task.timerAt } : {}),
      runContext: () => runContext(deps.store, task.runId),
      signingSecret: () => signingSecret(deps, task.runId, task.workflowId),
      egress: deps.egress,
    });
  } catch (err) {
    return {
      kind: "error",
      error: builtinError(`${task.action}: ${err instanceof Error ? err.message : String(err)}`),
    };
  }
}

/**
 * What an attempt reports once its signal aborted (unless it produced an
 * output anyway). Cut short by our own shutdown: back to the queue for
 * another replica, attempt not used up. Otherwise a cancel decided it (its
 * result is usually stale by now): it reports the cancel's type, so a race
 * with the sweeper's TIMEOUT records the same type, and is retryable, as the
 * lease the sweeper takes back with it would be.
 */
function abortedOutcome(action: string, signal: AbortSignal, closing: boolean): TaskOutcome["outcome"] {
  if (closing) return { kind: "requeue", reason: "the server shut down during the attempt" };
  const reason = AbortReason.of(signal.reason);
  return { kind: "error", error: { type: reason.type, message: `${action}: ${reason.message}`, retryable: true } };
}

/**
 * Submits a result, again and again while the database is unreachable (as
 * an SDK resends): the task stays running, so it is heartbeated and its
 * lease kept meanwhile. Given up on another error or at shutdown: the lease
 * then runs out and the task is offered again.
 */
async function record(dispatcher: Dispatcher, session: WorkerSession, log: Logger, result: TaskOutcome): Promise<void> {
  for (let delay = RESUBMIT_MIN_MS; ; delay = Math.min(delay * 2, RESUBMIT_MAX_MS)) {
    try {
      await dispatcher.submit(session, result);
      return;
    } catch (err) {
      if (!isDatabaseUnavailable(err) || session.closed) {
        log.error({ err, taskId: result.taskId }, "could not record a built-in result");
        return;
      }
      log.debug(
        { err, taskId: result.taskId, retryInMs: delay },
        "could not record a built-in result yet: database unreachable",
      );
      await sleep(delay);
    }
  }
}

export function createBuiltinRunner(deps: BuiltinRunnerDeps): BuiltinRunner {
  const { dispatcher, registry, logger } = deps;
  const session = new WorkerSession(`builtin-${uuidv7()}`, "builtin", registry.names(), deps.slots, {}, undefined);
  const running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  const log = logger.child({ workerId: session.id, worker: "builtin" });
  let closing = false;

  const start = (task: ClaimedTask): void => {
    const abort = new AbortController();
    const done = (async () => {
      let outcome: TaskOutcome["outcome"] = await execute(deps, task, abort.signal);
      if (abort.signal.aborted && outcome.kind !== "output")
        outcome = abortedOutcome(task.action, abort.signal, closing);
      await record(dispatcher, session, log, {
        taskId: task.taskId,
        leaseToken: task.leaseToken,
        workerId: session.id,
        outcome,
      });
    })().finally(() => running.delete(task.taskId));
    running.set(task.taskId, { abort, done });
  };

  const pump = (async () => {
    for await (const msg of session.outbox) {
      if (msg.kind === "task") start(msg.task);
      else if (msg.kind === "cancel") running.get(msg.taskId)?.abort.abort(cancelReason(msg.reason));
    }
  })();

  const beat = setInterval(() => {
    // In-process, so alive by definition: what a worker's keepalive tells the dispatcher.
    dispatcher.heard(session);
    if (running.size > 0) void dispatcher.heartbeat(session, [...running.keys()]);
  }, deps.heartbeatIntervalMs);
  beat.unref();
  dispatcher.attach(session);

  return {
    session,
    async close(graceMs) {
      session.closed = true; // no new tasks; the outbox still delivers cancels
      const all = () => Promise.all([...running.values()].map((r) => r.done));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([all(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      closing = true;
      for (const r of running.values()) r.abort.abort(SHUTDOWN_ABORT);
      await all();
      clearInterval(beat);
      await dispatcher.detach(session);
      await pump;
    },
  };
}
