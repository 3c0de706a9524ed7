/**
 * Results on their way to Postgres: a worker's answer, or a task this
 * replica takes back (`lose`: its stream ended, its lease expired, its step
 * timed out). Each goes through the completion buffer's group commit; once
 * durable the session's slot frees, the lease is released and the claim
 * policy hears of the freed slot.
 *
 * @example
 *   const results = createTaskResults({ store, options, taskLeases, freed: (s) => policy.freed(s) });
 *   const { accepted } = await results.submit(session, outcome);
 *   await results.lose(session, taskId, leaseToken, "worker stream closed");
 */
import type { CompletionResult, ExecutionStore, TaskOutcome } from "../store/index.js";
import { createCompletionBuffer } from "./completion-buffer.js";
import { NO_DISPATCH_OBSERVER, type DispatchObserver } from "./observer.js";
import type { DispatchOptions } from "./options.js";
import { limitOutput } from "./payload-limit.js";
import type { WorkerSession } from "./session.js";
import type { TaskLeases } from "./task-leases.js";
import { NO_DISPATCH_TRACER, type DispatchTracer } from "./tracer.js";
import { LEASE_LOST, leaseLost } from "../engine/failures.js";

export interface TaskResults {
  /** Records a result; resolves once durable (accepted) or refused (stale). */
  submit(session: WorkerSession | undefined, outcome: TaskOutcome): Promise<CompletionResult>;
  /** Takes the task back: a retryable failure of `type` (a lost lease by default) from the server. */
  lose(
    session: WorkerSession | undefined,
    taskId: string,
    token: bigint,
    why: string,
    type?: string,
  ): Promise<CompletionResult>;
  /** Waits for the results submitted so far to be committed. */
  drain(): Promise<void>;
}

/**
 * Create the result path of one dispatcher.
 *
 * @example
 *   const results = createTaskResults({ store, options, taskLeases, freed: () => undefined });
 */
export function createTaskResults(deps: {
  store: ExecutionStore;
  options: DispatchOptions;
  taskLeases: TaskLeases;
  /** A session's slot freed (its task answered under the token it holds). */
  freed(session: WorkerSession): void;
  /** Largest step output (JSON bytes); a larger one fails its step (`payload-limit.ts`). */
  maxPayloadBytes?: number;
  observer?: DispatchObserver;
  tracer?: DispatchTracer;
}): TaskResults {
  const { store, options, taskLeases, observer = NO_DISPATCH_OBSERVER, tracer = NO_DISPATCH_TRACER } = deps;
  const maxPayloadBytes = deps.maxPayloadBytes ?? Number.POSITIVE_INFINITY;
  const buffer = createCompletionBuffer({
    complete: (outcomes) => store.completeTasks(outcomes),
    windowMs: options.completionWindowMs,
    maxBatch: options.completionBatchSize,
    concurrency: options.completionConcurrency,
  });

  const afterResult = (session: WorkerSession | undefined, outcome: TaskOutcome): void => {
    const held = session?.inflight.get(outcome.taskId);
    if (session && held && held.task.leaseToken === outcome.leaseToken) {
      session.inflight.delete(outcome.taskId);
      taskLeases.release(outcome.taskId);
      deps.freed(session);
    }
  };

  const submit = async (session: WorkerSession | undefined, outcome: TaskOutcome): Promise<CompletionResult> => {
    // Before the commit (which wakes the claims): the re-queued task must not go straight back to this worker.
    const fromWorker = outcome.source !== "server";
    if (session && fromWorker)
      session.noteResult(
        outcome.taskId,
        outcome.leaseToken,
        outcome.outcome.kind === "error" ? outcome.outcome.error.type : undefined,
      );
    let result: CompletionResult;
    try {
      result = await buffer.submit(limitOutput(outcome, maxPayloadBytes));
    } catch (err) {
      if (session && fromWorker) session.resultLost(outcome.taskId, outcome.leaseToken);
      throw err;
    }
    observer.settled(outcome, result, session?.inflight.get(outcome.taskId));
    tracer.settled(outcome, result);
    afterResult(session, outcome);
    return result;
  };

  return {
    submit,
    lose: (session, taskId, token, why, type = LEASE_LOST) =>
      submit(session, {
        taskId,
        leaseToken: token,
        workerId: session?.id,
        source: "server",
        outcome: {
          kind: "error",
          error: type === LEASE_LOST ? leaseLost(why) : { type, message: why, retryable: true },
        },
      }),
    drain: () => buffer.drain(),
  };
}
