/**
 * The dispatcher's side of the metrics: schedule-to-start latency, step
 * attempt durations by outcome, stale results, expired leases, and run
 * webhook attempts. Only counters and histograms on cached children: these
 * calls run for every task.
 *
 * @example
 *   const observer = createDispatchMetrics(registry, actions);
 *   const dispatcher = createDispatcher({ store, leases, logger, options, observer });
 */
import { Counter, Histogram, type Registry } from "prom-client";
import type { DispatchObserver, WebhookObserver } from "../dispatch/observer.js";
import { TIMEOUT } from "../engine/failures.js";
import { RETURNED_ERROR_TYPES } from "../engine/retry.js";
import type { TaskOutcome } from "../store/index.js";
import { Children, childPairs, type LabelBudget } from "./labels.js";

/** From a task that waited for nothing (milliseconds) to a backlog of hours. */
const WAIT_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
/** From a transform (milliseconds) to a long job (an hour). */
const STEP_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/** How a step attempt ended, from the result that ended it. */
export type AttemptOutcome = "succeeded" | "failed" | "returned" | "lease_lost" | "timed_out";

/**
 * The attempt outcome of a result, or undefined for a built-in's `sleep` or
 * `requeue`, which hand the attempt back rather than end it.
 *
 * @example
 *   attemptOutcome({ taskId, leaseToken, outcome: { kind: "output", output: 1 } }); // "succeeded"
 */
export function attemptOutcome(outcome: TaskOutcome): AttemptOutcome | undefined {
  const o = outcome.outcome;
  if (o.kind === "output") return "succeeded";
  if (o.kind !== "error") return undefined;
  // The server's own outcomes: the sweeper's step timeout, or a lease lost (silence, a closed stream).
  if (outcome.source === "server") return o.error.type === TIMEOUT ? "timed_out" : "lease_lost";
  return RETURNED_ERROR_TYPES.includes(o.error.type) ? "returned" : "failed";
}

/**
 * Creates the dispatch metrics on `registry`.
 *
 * @example
 *   const observer = createDispatchMetrics(new Registry(), new LabelBudget());
 *   observer.leasesExpired(2);
 */
export function createDispatchMetrics(registry: Registry, actions: LabelBudget): DispatchObserver & WebhookObserver {
  const registers = [registry];
  const scheduleToStart = new Histogram({
    name: "weft_step_schedule_to_start_seconds",
    help: "From a step becoming ready (QUEUED and due) to its task being sent to a worker, by action.",
    labelNames: ["action"],
    buckets: WAIT_SECONDS,
    registers,
  });
  const attempts = new Histogram({
    name: "weft_step_attempt_duration_seconds",
    help: "Step attempts ended by a result, from the task being sent to the result committed, by action and outcome.",
    labelNames: ["action", "outcome"],
    buckets: STEP_SECONDS,
    registers,
  });
  const stale = new Counter({
    name: "weft_stale_results_total",
    help: "Worker results refused because their lease token was no longer current (or the task was unknown).",
    registers,
  });
  const leases = new Counter({
    name: "weft_leases_expired_total",
    help: "Tasks taken back by the sweeper because their lease ran out (no heartbeat in time) or vanished from Redis.",
    registers,
  });
  const webhooks = new Counter({
    name: "weft_webhook_deliveries_total",
    help: "Run webhook delivery attempts, by outcome: delivered, retry (failed, tried again later), gave_up.",
    labelNames: ["outcome"],
    registers,
  });

  const waits = new Children(actions, (action) => scheduleToStart.labels(action));
  const ended = childPairs(actions, (action, outcome) => attempts.labels(action, outcome));

  return {
    sent(task, askedAt) {
      if (task.queuedMs === undefined) return;
      waits.get(task.action).observe((task.queuedMs + (performance.now() - askedAt)) / 1000);
    },
    settled(outcome, result, held) {
      if (!result.accepted) {
        // The server's own requeue of a task that moved on is no worker's late result.
        if (outcome.source !== "server") stale.inc();
        return;
      }
      if (held?.sentAt === undefined || held.task.leaseToken !== outcome.leaseToken) return;
      const how = attemptOutcome(outcome);
      if (how !== undefined) ended(held.task.action, how).observe((performance.now() - held.sentAt) / 1000);
    },
    leasesExpired(count) {
      if (count > 0) leases.inc(count);
    },
    webhookAttempt(outcome) {
      webhooks.labels(outcome).inc();
    },
  };
}
