/**
 * The `Store` interface: everything the control plane keeps durably.
 *
 * One implementation (Kysely) serves both a real Postgres and embedded PGlite.
 * Records use the engine's domain types; snake_case rows never leave `src/store/`.
 */
import type { Failure, JsonValue, RunStatus, StepStatus, WorkflowDef } from "../engine/model.js";
import type { AccessStore } from "./access-types.js";
import type { LiveWorkflow } from "./trigger-queries.js";

export type { LiveWorkflow } from "./trigger-queries.js";

export interface WorkflowRecord {
  id: string;
  version: number;
  /** The spec exactly as clients see it (proto JSON of `weft.v1.WorkflowSpec`). */
  spec: JsonValue;
  /** The same spec in the engine's form. */
  def: WorkflowDef;
  createdAt: Date;
  deletedAt?: Date;
}

export interface StepRunRecord {
  stepId: string;
  action: string;
  status: StepStatus;
  attempts: number;
  output?: JsonValue;
  error?: Failure;
  workerId?: string;
  createdAt: Date;
  /** When the step last became QUEUED (ready to be claimed). */
  queuedAt?: Date;
  startedAt?: Date;
  endedAt?: Date;
}

export interface RunRecord {
  id: string;
  workflowId: string;
  workflowVersion: number;
  status: RunStatus;
  input: JsonValue;
  output?: JsonValue;
  error?: Failure;
  idempotencyKey?: string;
  createdAt: Date;
  startedAt?: Date;
  endedAt?: Date;
  /** When the run times out: trigger time + the workflow's `timeoutMs`, if it has one. */
  deadlineAt?: Date;
  /** Filled by `getRun`; empty from `listRuns`. */
  steps: StepRunRecord[];
}

export interface RunEventRecord {
  /** Global, increasing; orders a run's events. */
  id: bigint;
  runId: string;
  time: Date;
  type: "RUN_STATUS" | "STEP_STATUS" | "STALE_RESULT" | "WEBHOOK";
  runStatus?: RunStatus;
  stepId?: string;
  stepStatus?: StepStatus;
  attempt?: number;
  workerId?: string;
  error?: Failure;
  message?: string;
}

/** One run-webhook delivery taken from the outbox, with what its body needs. */
export interface WebhookDelivery {
  id: string;
  runId: string;
  workflowId: string;
  workflowVersion: number;
  kind: "run.finished" | "run.failed" | "step.finished";
  url: string;
  /** 1 for the first try. */
  attempt: number;
  /** The workflow's own signing secret, if it has one. */
  secret?: string;
  runStatus?: RunStatus;
  runOutput?: JsonValue | null;
  runError?: Failure;
  stepId?: string;
  stepStatus?: StepStatus;
  stepAttempt?: number;
  stepOutput?: JsonValue | null;
  /** The error recorded with the event that enqueued it. */
  error?: Failure;
}

/** How one delivery attempt ended. */
export interface WebhookAttempt {
  id: string;
  outcome: "delivered" | "retry" | "gave_up";
  retryInMs?: number;
  /** For the run's history, e.g. `POST http://… → 503 (attempt 2)`. */
  message: string;
}

export interface CreateWorkflowInput {
  id: string;
  spec: JsonValue;
  def: WorkflowDef;
  /** Hash of the canonical spec: the same hash for the same id returns the existing version. */
  specHash: string;
}

export interface TriggerInput {
  workflowId: string;
  /** 0 or undefined = latest. */
  version?: number;
  input: JsonValue;
  idempotencyKey?: string;
  /** W3C trace context of the trigger's span, stored on the run (only when the server traces). */
  traceparent?: string;
}

export type TriggerResult =
  | { ok: true; runId: string; created: boolean }
  | { ok: false; reason: "WORKFLOW_NOT_FOUND" | "VERSION_NOT_FOUND"; message: string };

export interface Page<T> {
  items: T[];
  /** Opaque cursor for the next page; undefined on the last one. */
  next?: string;
}

/**
 * Everything the control plane keeps durably: definitions and runs, plus the
 * execution side (`ExecutionStore`, below): claiming, completing, cancelling,
 * retrying, and the signals between replicas.
 */
export interface Store extends ExecutionStore {
  /** API keys and the audit trail (`access-queries.ts`). */
  readonly access: AccessStore;
  /** Applies pending migrations. Idempotent; safe with several processes starting at once. */
  migrate(): Promise<void>;
  /** True when the database answers and every migration is applied. */
  ready(): Promise<boolean>;
  createWorkflow(input: CreateWorkflowInput): Promise<{ workflow: WorkflowRecord; created: boolean }>;
  /** A live (not deleted) workflow; version 0/undefined = latest. */
  getWorkflow(id: string, version?: number): Promise<WorkflowRecord | undefined>;
  listWorkflowVersions(id: string): Promise<number[]>;
  /** Latest version of each live workflow, ordered by id. */
  listWorkflows(opts: { pageSize: number; pageToken?: string }): Promise<Page<WorkflowRecord>>;
  /** False when no live workflow has that id. */
  deleteWorkflow(id: string): Promise<boolean>;
  /**
   * Records runs, their steps and first history events in one transaction.
   * A repeated idempotency key (per workflow) returns the first run, also under concurrency.
   * Initial step states come from the planner: QUEUED roots carry their rendered input;
   * a run the plan settles at once is stored finished. Signals `queued` and `run`.
   */
  triggerRuns(inputs: TriggerInput[]): Promise<TriggerResult[]>;
  getRun(id: string): Promise<RunRecord | undefined>;
  /** Newest first. */
  listRuns(opts: {
    workflowId?: string;
    status?: RunStatus;
    pageSize: number;
    pageToken?: string;
  }): Promise<Page<RunRecord>>;
  getRunHistory(runId: string): Promise<RunEventRecord[]>;
  /** Latest versions of live workflows listening for the event (by `on.events` or `on.eventTriggers`). */
  eventListeners(name: string): Promise<LiveWorkflow[]>;
  /** Latest versions of live workflows with cron schedules. */
  scheduledWorkflows(): Promise<LiveWorkflow[]>;
  /** Due run-webhook deliveries from the outbox, leased to this caller for `leaseMs`. */
  claimWebhookDeliveries(limit: number, leaseMs: number): Promise<WebhookDelivery[]>;
  /** Records a delivery attempt (and a WEBHOOK history event). */
  finishWebhookDelivery(attempt: WebhookAttempt): Promise<void>;
  /** Ready tasks (QUEUED and due) per action: one grouped query, for the queue-depth gauge. */
  readyTaskCounts(): Promise<{ action: string; count: number }[]>;
  /** Ends the signal listener, then the database connections. */
  close(): Promise<void>;
}

/** Thrown for a malformed page token. */
export class InvalidPageTokenError extends Error {
  override readonly name = "InvalidPageTokenError";
}

// ---------------------------------------------------------------------------
// Execution: claiming, completing and steering steps. Task id = `${runId}/${stepId}`.

/** A step handed to a worker (or a built-in): what the `task` message carries. */
export interface ClaimedTask {
  taskId: string;
  runId: string;
  stepId: string;
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

/** What a worker (or the control plane itself) reports for a leased task. */
export interface TaskOutcome {
  taskId: string;
  leaseToken: bigint;
  workerId?: string;
  /**
   * "server" for outcomes the control plane makes itself (a lost lease, a
   * timeout): when stale they are dropped without a STALE_RESULT event, which
   * records late results that workers sent. Default "worker".
   */
  source?: "worker" | "server";
  outcome:
    | { kind: "output"; output: JsonValue }
    | { kind: "error"; error: Failure }
    /** Built-ins only: back to QUEUED until `until` (a durable timer), no attempt used up. */
    | { kind: "sleep"; until: Date }
    /** Built-ins only: back to QUEUED now, no attempt used up (the replica is shutting down). */
    | { kind: "requeue"; reason: string };
}

export interface CompletionResult {
  taskId: string;
  /** False when the token was not current (stale): nothing changed but a STALE_RESULT history event. */
  accepted: boolean;
  reason?: string;
}

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
  /** Cancels a run: PENDING/QUEUED/RUNNING steps → CANCELLED, run → CANCELLED. Running tasks are returned. */
  cancelRun(runId: string, reason: string): Promise<{ run: RunRecord; running: RunningTaskRef[] } | undefined>;
  /** Re-runs the FAILED, CANCELLED and SKIPPED steps of a finished run, keeping succeeded ones. */
  retryRun(runId: string): Promise<{ run: RunRecord } | { error: "NOT_FOUND" | "NOT_FINISHED" | "SUCCEEDED" }>;
  /** History events of a run after the given event id (exclusive), oldest first. */
  runEventsAfter(runId: string, afterId: bigint, limit: number): Promise<RunEventRecord[]>;
  /** Sends a signal to every replica (NOTIFY on Postgres; in-process on PGlite). */
  signal(s: StoreSignal): Promise<void>;
  /** Subscribes to signals from any replica (this one included). Returns an unsubscribe function. */
  onSignal(listener: (s: StoreSignal) => void): Promise<() => void>;
}
