/**
 * The dispatcher of one replica: knows its connected workers and their free
 * slots, claims ready steps for them in batches, leases them, pushes them down
 * the streams, and group-commits their results. It composes its parts:
 *
 * - `session-table.ts`: the sessions, who holds which task, the stall watch;
 * - `claim-policy.ts`: when to claim and for whom (the modes of an action set);
 * - `claim-loop.ts`: a claim's statement, leases and sends;
 * - `task-results.ts`: results and tasks taken back, through the group commit;
 * - `task-leases.ts`: the lease-store side of the tasks;
 * - `sweeper.ts`: the safety net on a timer.
 *
 * Wake-ups come from this replica (triggers, completions, new sessions) and
 * from others (store signals); a slow timer is only the safety net.
 *
 * @example
 *   const dispatcher = createDispatcher({ store, leases, logger, options });
 *   dispatcher.attach(session);
 *   const { accepted } = await dispatcher.submit(session, outcome);
 */
import type { LeaseStore } from "../leases/types.js";
import type { Logger } from "../log.js";
import type { CompletionResult, ExecutionStore, RunningTaskRef, TaskOutcome } from "../store/index.js";
import { ClaimPolicy } from "./claim-policy.js";
import { createClaimLoop } from "./claim-loop.js";
import { NO_DISPATCH_OBSERVER, type DispatchObserver } from "./observer.js";
import type { DispatchOptions } from "./options.js";
import { beating, type WorkerSession } from "./session.js";
import { SessionTable } from "./session-table.js";
import { createSweeper, type Sweeper } from "./sweeper.js";
import { createTaskLeases, type TaskLeases } from "./task-leases.js";
import { createTaskResults, type TaskResults } from "./task-results.js";
import { NO_DISPATCH_TRACER, type DispatchTracer } from "./tracer.js";

export interface Dispatcher {
  attach(session: WorkerSession): void;
  /** The stream ended: its tasks' leases end now and they go back to the queue. */
  detach(session: WorkerSession): Promise<void>;
  /** Look for work now (coalesced): for the action sets sharing an action with `actions`, or for all. */
  wake(actions?: readonly string[]): void;
  /** Records a result; resolves once durable (accepted) or refused (stale). */
  submit(session: WorkerSession | undefined, outcome: TaskOutcome): Promise<CompletionResult>;
  /** The worker sent something: a session suspected stalled gets tasks again. */
  heard(session: WorkerSession): void;

  /** Heartbeat: extends the leases of these tasks held by the session. */
  heartbeat(session: WorkerSession, taskIds: string[]): Promise<void>;
  /** Pushes `cancel` for tasks held by sessions of this replica. */
  cancelLocal(tasks: RunningTaskRef[], reason: string): void;
  /** Stops handing out tasks (drain). */
  pause(): void;
  sessions(): ReadonlySet<WorkerSession>;
  close(): Promise<void>;
}

export interface DispatcherDeps {
  store: ExecutionStore;
  leases: LeaseStore;
  logger: Logger;
  options: DispatchOptions;
  /** Largest step output (JSON bytes); a larger one fails its step (`payload-limit.ts`). */
  maxPayloadBytes?: number;
  observer?: DispatchObserver;
  tracer?: DispatchTracer;
}

/**
 * Create the dispatcher of this replica; its sweeper and stall watch run until `close()`.
 *
 * @example
 *   const dispatcher = createDispatcher({ store, leases, logger, options: DEFAULT_DISPATCH_OPTIONS });
 */
export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { logger, options, observer = NO_DISPATCH_OBSERVER, tracer = NO_DISPATCH_TRACER } = deps;
  const table = new SessionTable();
  const taskLeases = createTaskLeases(deps);
  const results = createTaskResults({ ...deps, observer, tracer, taskLeases, freed: (s) => policy.freed(s) });
  const claims = createClaimLoop({
    ...deps,
    observer,
    tracer,
    taskLeases,
    lose: results.lose,
    returned: (s, got) => policy.returned(s, got),
  });
  const policy = new ClaimPolicy<WorkerSession>({
    batchSize: options.claimBatchSize,
    concurrency: options.claimConcurrency,
    claim: claims.start,
  });
  const wake = (actions?: readonly string[]): void => policy.woke(actions);
  const stopStallWatch = table.watchStalls();
  const sweeper = startSweeper(deps, { table, results, taskLeases, wake });

  return {
    attach(session) {
      table.add(session);
      policy.attached(session);
    },
    async detach(session) {
      table.remove(session);
      policy.detached(session);
      session.close();
      const held = [...session.inflight.values()];
      await Promise.all(
        held.map((h) =>
          results
            .lose(session, h.task.taskId, h.task.leaseToken, "worker stream closed")
            .catch((err: unknown) => logger.error({ err }, "could not requeue task")),
        ),
      );
      session.inflight.clear();
      wake();
    },
    wake,
    submit: results.submit,
    heard(session) {
      session.heardAt = Date.now();
      if (!session.suspect) return;
      session.suspect = false;
      wake();
    },
    heartbeat: (session, taskIds) => taskLeases.heartbeat(session, taskIds),
    cancelLocal: (tasks, reason) => table.cancel(tasks, reason),
    pause: () => policy.pause(),
    sessions: () => table.sessions,
    async close() {
      policy.pause();
      sweeper.stop();
      stopStallWatch();
      await results.drain();
    },
  };
}

/** The sweeper of this dispatcher, wired to its sessions, results and leases. */
function startSweeper(
  deps: DispatcherDeps,
  parts: { table: SessionTable; results: TaskResults; taskLeases: TaskLeases; wake: () => void },
): Sweeper {
  const { store, logger, options } = deps;
  const { table, results, taskLeases } = parts;
  return createSweeper({
    ...deps,
    dispatcher: {
      lose: (t, why, type) => {
        const session = table.get(t.workerId ?? "");
        // Lost for silence (not for a timeout): stop feeding this stream until it speaks again.
        const held = session?.inflight.get(t.taskId);
        if (
          session &&
          held &&
          held.task.leaseToken === t.leaseToken &&
          type === undefined &&
          !beating(held, Date.now())
        )
          session.suspect = true;
        return results.lose(session, t.taskId, t.leaseToken, why, type);
      },
      wake: parts.wake,
      dropSilent: (now) => table.dropSilent(now, options.leaseTtlMs, logger),
      cancel: (tasks, reason) => store.signal({ kind: "cancel", tasks, reason }),
      relet: (tasks) => taskLeases.relet(tasks, (workerId) => table.get(workerId)),
    },
    localHolder: (taskId, workerId) => table.heartbeating(taskId, workerId, Date.now()),
    stalled: (now) => table.stalled(now),
  });
}
