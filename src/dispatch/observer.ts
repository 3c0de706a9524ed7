/**
 * What the dispatcher, its sweeper and the webhook deliverer tell an
 * observer (the metrics) as tasks go out and results come back. The calls
 * sit on the hot path, so an observer must only count: no I/O, no waiting.
 *
 * @example
 *   const dispatcher = createDispatcher({ store, leases, logger, options, observer: metrics.dispatch });
 */
import type { CompletionResult, ClaimedTask, TaskOutcome, WebhookAttempt } from "../store/index.js";
import type { Inflight } from "./session.js";

export interface DispatchObserver {
  /**
   * A claimed task went down a worker stream; `askedAt` is when its claim
   * was asked for (`performance.now()`), so the claim's round trip counts
   * in its schedule-to-start time.
   */
  sent(task: ClaimedTask, askedAt: number, workerId: string): void;
  /**
   * The store settled a result (`accepted` or refused as stale). `held` is
   * this replica's record of the task, when one of its sessions holds it
   * with the outcome's lease token; undefined for tasks of other replicas.
   */
  settled(outcome: TaskOutcome, result: CompletionResult, held: Inflight | undefined): void;
  /** The sweeper took back this many tasks whose lease ran out (no heartbeat, or the lease vanished). */
  leasesExpired(count: number): void;
}

export interface WebhookObserver {
  /** One delivery attempt of a run webhook ended this way. */
  webhookAttempt(outcome: WebhookAttempt["outcome"]): void;
}

/** The default: observes nothing. */
export const NO_DISPATCH_OBSERVER: DispatchObserver = {
  sent() {},
  settled() {},
  leasesExpired() {},
};
