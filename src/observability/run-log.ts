/**
 * Logs that tell a run's story: every run and step transition the dispatcher
 * and the store see, at debug, with the run id, step id, attempt and worker;
 * leases lost and stale results at warn with the same ids. Fed by the same
 * observer calls as the metrics (`composeObservers`), so the hot path pays
 * one branch when debug is off.
 *
 * @example
 *   const story = createRunLog(logger);
 *   const observer = composeDispatchObservers(metrics.dispatch, story.dispatch);
 */
import type { DispatchObserver } from "../dispatch/observer.js";
import { LEASE_LOST } from "../engine/failures.js";
import type { Logger } from "../log.js";
import { parseTaskId, type StoreObserver } from "../store/index.js";

/** Failure types by which the control plane takes a task back from its worker. */
const TAKEN_BACK = new Set([LEASE_LOST]);

/**
 * The story-telling observers for one logger.
 *
 * @example
 *   const { dispatch, store } = createRunLog(logger.child({ component: "runs" }));
 */
export function createRunLog(logger: Logger): { dispatch: DispatchObserver; store: StoreObserver } {
  const debug = logger.isLevelEnabled("debug");
  return {
    dispatch: {
      sent(task, _askedAt, workerId) {
        if (!debug) return;
        logger.debug(
          { runId: task.runId, stepId: task.stepId, attempt: task.attempt, workerId, action: task.action },
          "step sent to worker",
        );
      },
      settled(outcome, result, held) {
        const o = outcome.outcome;
        const stale = !result.accepted && outcome.source !== "server";
        const lost =
          result.accepted && o.kind === "error" && outcome.source === "server" && TAKEN_BACK.has(o.error.type);
        if (!stale && !lost && !(debug && result.accepted)) return;
        const ids = { ...parseTaskId(outcome.taskId), attempt: held?.task.attempt, workerId: outcome.workerId };
        if (stale) logger.warn({ ...ids, reason: result.reason }, "stale result refused");
        else if (lost) logger.warn({ ...ids, message: o.error.message }, "lease lost: the task goes back to the queue");
        else {
          const what = o.kind === "error" ? { error: o.error.type, message: o.error.message } : { outcome: o.kind };
          logger.debug({ ...ids, ...what }, "step result recorded");
        }
      },
      leasesExpired() {},
    },
    store: {
      transaction() {},
      batch() {},
      committed(facts) {
        if (!debug) return;
        (facts.startedIds ?? []).forEach((runId, i) =>
          logger.debug({ runId, workflowId: facts.started?.[i] }, "run started"),
        );
        for (const run of facts.finished ?? [])
          logger.debug({ runId: run.runId, workflowId: run.workflowId, status: run.status }, "run finished");
      },
      // Retention passes and PurgeRuns log their totals themselves.
      purged() {},
    },
  };
}

/**
 * One dispatch observer calling several, in order.
 *
 * @example
 *   composeDispatchObservers(metrics.dispatch, story.dispatch);
 */
export function composeDispatchObservers(...all: DispatchObserver[]): DispatchObserver {
  return {
    sent: (task, askedAt, workerId) => all.forEach((o) => o.sent(task, askedAt, workerId)),
    settled: (outcome, result, held) => all.forEach((o) => o.settled(outcome, result, held)),
    leasesExpired: (count) => all.forEach((o) => o.leasesExpired(count)),
  };
}

/**
 * One store observer calling several, in order.
 *
 * @example
 *   composeStoreObservers(metrics.store, story.store);
 */
export function composeStoreObservers(...all: StoreObserver[]): StoreObserver {
  return {
    transaction: (statement, seconds) => all.forEach((o) => o.transaction(statement, seconds)),
    batch: (kind, size) => all.forEach((o) => o.batch(kind, size)),
    committed: (facts) => all.forEach((o) => o.committed(facts)),
    purged: (reason, counts) => all.forEach((o) => o.purged(reason, counts)),
  };
}
