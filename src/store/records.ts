/**
 * The records the `Store` reads and writes, in the engine's domain types:
 * workflows, runs, steps, history events, webhook deliveries, and the inputs
 * and results of creating a workflow or triggering a run.
 *
 * A leaf of `src/store/`: it imports nothing from the store, so any file
 * there (the row types of `schema.ts` included) may use it without a cycle.
 * Callers outside the store import these through `types.ts`.
 */
import type { Failure, JsonValue, RunStatus, StepStatus, WorkflowDef } from "../engine/model.js";

export interface WorkflowRecord {
  namespace: string;
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
  /** The rendered input of its latest attempt (`getRun` only). */
  input?: JsonValue;
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
  namespace: string;
  workflowId: string;
  workflowVersion: number;
  status: RunStatus;
  input: JsonValue;
  output?: JsonValue;
  error?: Failure;
  idempotencyKey?: string;
  /** Absent for runs started before Weft recorded it. */
  trigger?: RunTrigger;
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
  namespace: string;
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
  namespace: string;
  id: string;
  spec: JsonValue;
  def: WorkflowDef;
  /** Hash of the canonical spec: the same hash for the same id returns the existing version. */
  specHash: string;
}

/** What started a run. */
export type RunTrigger = "api" | "event" | "schedule";

export interface TriggerInput {
  namespace: string;
  /** What starts it; default `api`. */
  trigger?: RunTrigger;
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

/** The latest version of a live workflow, as triggers need it. */
export interface LiveWorkflow {
  namespace: string;
  workflowId: string;
  version: number;
  def: WorkflowDef;
  /** When this version was created (schedules fire only for ticks after it). */
  createdAt: Date;
}

/** What a purge deleted; `bytes` is the deleted rows' size, indexes not counted. */
export interface PurgeCounts {
  runs: number;
  steps: number;
  events: number;
  webhookDeliveries: number;
  bytes: number;
}

/** A purge request's filter, within one namespace. */
export interface PurgeFilter {
  namespace: string;
  /** One workflow; undefined = every workflow of the namespace. */
  workflowId?: string;
  statuses: readonly RunStatus[];
  finishedBefore: Date;
  /** At most this many runs; undefined = no limit. */
  limit?: number;
  /** Count, delete nothing. */
  dryRun?: boolean;
}

/** How a long purge proceeds: batch size, when to stop, who hears of each batch. */
export interface PurgeProgress {
  /** Runs per transaction (default 500). */
  batchSize?: number;
  signal?: AbortSignal;
  onBatch?: (done: PurgeCounts) => void;
}

/** One retention pass: the batch settings, the time, and the server's default retention. */
export type RetentionPassOptions = PurgeProgress & { now: number; defaultRetentionMs?: number };

/** What a retention pass deleted; `busy` when it stopped because another replica's pass was deleting. */
export interface RetentionPassResult {
  counts: PurgeCounts;
  busy: boolean;
}
