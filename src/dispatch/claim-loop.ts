/**
 * Runs the claims the claim policy decides on (`claim-policy.ts`): claims
 * ready steps for one session in one statement, leases them, queues them on
 * the session's stream, and reports how many went out. A failed claim counts
 * as one that found nothing.
 *
 * @example
 *   const claims = createClaimLoop({ store, taskLeases, logger, options, lose, returned: (s, n) => policy.returned(s, n) });
 *   const policy = new ClaimPolicy({ batchSize: 250, concurrency: 2, claim: claims.start });
 */
import type { Logger } from "../log.js";
import type { ExecutionStore } from "../store/index.js";
import { NO_DISPATCH_OBSERVER, type DispatchObserver } from "./observer.js";
import type { DispatchOptions } from "./options.js";
import type { WorkerSession } from "./session.js";
import type { TaskLeases } from "./task-leases.js";
import type { TaskResults } from "./task-results.js";
import { NO_DISPATCH_TRACER, type DispatchTracer } from "./tracer.js";

export interface ClaimLoop {
  /** Claims up to `limit` tasks for the session now; `returned` hears how many went out. */
  start(session: WorkerSession, limit: number): void;
}

/**
 * Create the claim runner of one dispatcher.
 *
 * @example
 *   const claims = createClaimLoop({ store, taskLeases, logger, options, lose: results.lose, returned });
 *   claims.start(session, 10);
 */
export function createClaimLoop(deps: {
  store: ExecutionStore;
  taskLeases: TaskLeases;
  logger: Logger;
  options: DispatchOptions;
  lose: TaskResults["lose"];
  /** The claim for `session` came back with `got` tasks sent (0 when it failed). */
  returned(session: WorkerSession, got: number): void;
  observer?: DispatchObserver;
  tracer?: DispatchTracer;
}): ClaimLoop {
  const {
    store,
    taskLeases,
    logger,
    options,
    lose,
    observer = NO_DISPATCH_OBSERVER,
    tracer = NO_DISPATCH_TRACER,
  } = deps;

  /** Claims, leases and sends up to `limit` tasks for one session; returns how many went out. */
  const claimFor = async (session: WorkerSession, limit: number): Promise<number> => {
    const askedAt = performance.now();
    const claim = {
      workerId: session.id,
      namespace: session.namespace,
      actions: session.actions,
      limit,
      traceparents: tracer.enabled,
    };
    const tasks = await store.claimTasks(claim);
    if (tasks.length === 0) return 0;
    const ttls = tasks.map((t) => t.heartbeatTimeoutMs ?? options.leaseTtlMs);
    await taskLeases.acquire(session, tasks, Math.max(...ttls));
    tasks.forEach((task, i) => {
      if (session.closed) return;
      session.inflight.set(task.taskId, { task, ttlMs: ttls[i]!, lastBeatAt: Date.now(), sentAt: performance.now() });
      tracer.sending(task, session.id);
      session.send({ kind: "task", task });
      observer.sent(task, askedAt, session.id);
    });
    if (session.closed) {
      // The stream ended while we claimed: these tasks go straight back.
      void Promise.all(tasks.map((t) => lose(session, t.taskId, t.leaseToken, "worker stream closed")));
    }
    return tasks.length;
  };

  return {
    start(session, limit) {
      let got = 0;
      claimFor(session, limit)
        .then(
          (n) => (got = n),
          (err: unknown) => logger.error({ err }, "dispatch pass failed"),
        )
        .finally(() => deps.returned(session, got));
    },
  };
}
