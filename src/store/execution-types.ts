/**
 * The execution side of the `Store`: claiming, completing and steering
 * steps, and the signals between replicas. Task id = `${runId}/${stepId}`.
 *
 * Callers outside the store import these through `types.ts`.
 */
import type { JsonValue } from "../engine/model.js";
import type { ResultAnswer, TaskResult } from "../engine/result.js";
import type { RunEventRecord, RunRecord } from "./records.js";

/** A step handed to a worker (or a built-in): what the `task` message carries. */
export interface ClaimedTask {
  taskId: string;
  runId: string;
  stepId: string;
  namespace: string;
  workflowId: string;
  action: string;
  input: JsonValue;
  /** 1 for the first delivery. */
  attempt: number;
  /** Fencing token, from a Postgres sequence; also stored on the step row. */
  leaseToken: bigint;
  /** When the step's start-to-close timeout ends this attempt. */
  deadlineAt?: Date;
  /** The step's heartbeat timeout, if it has one. */
  heartbeatTimeoutMs?: number;
  /** A durable timer a built-in set on this step (a `sleep` outcome), if any. */
  timerAt?: Date;
  /** How long the step had been ready (QUEUED and due) when claimed, in ms by the database's clock. */
  queuedMs?: number;
  /** The run's W3C trace context (`runs.traceparent`), read only by a claim asked for `traceparents`. */
  runTraceparent?: string;
  /** The trace context sent to the worker (`Task.traceparent`): the step span's, set by the dispatcher's tracer. */
  traceparent?: string;
}

/**
 * What a worker (or the control plane itself) reports for a leased task, and the answer it gets: the engine's
 * types (`decideResult` reads the one and returns the other), under the store's names.
 */
export type TaskOutcome = TaskResult;
export type CompletionResult = ResultAnswer;

/** A task that was running when its run was cancelled or finished: its worker should get `cancel`. */
export interface RunningTaskRef {
  taskId: string;
  workerId?: string;
  leaseToken: bigint;
}

/** Something changed that other replicas may care about (sent as NOTIFY). */
export type StoreSignal =
  | { kind: "queued"; actions?: string[] } // steps of these actions became QUEUED (wake their dispatchers); no list: any action
  | { kind: "cancel"; tasks: RunningTaskRef[]; reason: string } // push cancel to these tasks' workers
  | { kind: "run"; runIds: string[] }; // runs changed (wake WatchRun streams)

/** What `claimTasks` is asked for. */
export interface ClaimOptions {
  workerId: string;
  /** The worker's namespace; undefined claims in every namespace (the in-process built-ins). */
  namespace: string | undefined;
  actions: string[];
  limit: number;
  /** Also read each run's `traceparent` (only a tracing server asks: the claim statement is unchanged without). */
  traceparents?: boolean;
}

export interface ExecutionStore {
  /**
   * Claims up to `limit` QUEUED steps of the given actions whose not_before has
   * passed, oldest first (`FOR UPDATE SKIP LOCKED`, one statement): marks them
   * RUNNING, bumps attempts, sets a new lease token, worker, started_at and the
   * attempt deadline, moves their runs PENDING → RUNNING, appends history.
   * With `traceparents` (a tracing server) each task also carries its run's trace context.
   */
  claimTasks(opts: ClaimOptions): Promise<ClaimedTask[]>;
  /**
   * Completes many tasks in one transaction: checks each token against the step
   * row, records outputs/errors (retry with a durable not_before when the policy
   * allows), plans the DAG, queues/skips next steps, finishes runs, appends history.
   * Error outcomes go through the step's retry policy (LEASE_LOST and TIMEOUT too).
   */
  completeTasks(outcomes: TaskOutcome[]): Promise<CompletionResult[]>;
  /**
   * Runs past their workflow timeout (`deadlineAt`) → TIMED_OUT, their unfinished
   * steps → CANCELLED (error type TIMED_OUT), in one transaction for up to `limit`
   * runs. Returns the runs and the tasks that were running (send them `cancel`;
   * their tokens are stale). Signals `run` and `cancel`.
   */
  timeOutRuns(now: Date, limit: number): Promise<{ runIds: string[]; running: RunningTaskRef[] }>;
  /** RUNNING tasks whose attempt deadline passed (for the timeout sweep). */
  timedOutTasks(now: Date, limit: number): Promise<RunningTaskRef[]>;
  /** RUNNING tasks, oldest first, started before `startedBefore` (for the lease safety-net scan). */
  runningTasks(opts: { startedBefore: Date; limit: number; afterTaskId?: string }): Promise<RunningTaskRef[]>;
  /** Earliest not_before among QUEUED steps in the future, to wake the dispatcher for due retries. */
  nextDueTime(): Promise<Date | undefined>;
  /**
   * Cancels a run: PENDING/QUEUED/RUNNING steps → CANCELLED, run → CANCELLED. Running tasks are returned.
   * With `namespace`, a run of another namespace is not found.
   */
  cancelRun(
    runId: string,
    reason: string,
    namespace?: string,
  ): Promise<{ run: RunRecord; running: RunningTaskRef[] } | undefined>;
  /** Re-runs the FAILED, CANCELLED and SKIPPED steps of a finished run, keeping succeeded ones (`namespace`: as cancelRun). */
  retryRun(
    runId: string,
    namespace?: string,
  ): Promise<{ run: RunRecord } | { error: "NOT_FOUND" | "NOT_FINISHED" | "SUCCEEDED" }>;
  /** History events of a run after the given event id (exclusive), oldest first. */
  runEventsAfter(runId: string, afterId: bigint, limit: number): Promise<RunEventRecord[]>;
  /** Sends a signal to every replica (NOTIFY on Postgres; in-process on PGlite). */
  signal(s: StoreSignal): Promise<void>;
  /** Subscribes to signals from any replica (this one included). Returns an unsubscribe function. */
  onSignal(listener: (s: StoreSignal) => void): Promise<() => void>;
}
