/**
 * The `Store` interface: everything the control plane keeps durably, and
 * the one place outside callers import the store's types from.
 *
 * One implementation (Kysely) serves both a real Postgres and embedded PGlite.
 * Records use the engine's domain types; snake_case rows never leave `src/store/`.
 * The records live in `records.ts` and the execution side in
 * `execution-types.ts`, which import nothing of this file (no cycle).
 */
import type { RunStatus } from "../engine/model.js";
import type { AccessStore } from "./access-types.js";
import type { VacuumSettings } from "./db/vacuum-settings.js";
import type { ExecutionStore } from "./execution-types.js";
import type {
  CreateWorkflowInput,
  LiveWorkflow,
  Page,
  PurgeCounts,
  PurgeFilter,
  PurgeProgress,
  RetentionPassOptions,
  RetentionPassResult,
  RunEventRecord,
  RunRecord,
  TriggerInput,
  TriggerResult,
  WebhookAttempt,
  WebhookDelivery,
  WorkflowRecord,
} from "./records.js";

export type * from "./execution-types.js";
export type * from "./records.js";

/**
 * Everything the control plane keeps durably: definitions and runs, plus the
 * execution side (`ExecutionStore`, in `execution-types.ts`): claiming, completing, cancelling,
 * retrying, and the signals between replicas.
 */
export interface Store extends ExecutionStore {
  /** API keys and the audit trail (`access-queries.ts`). */
  readonly access: AccessStore;
  /** Applies pending migrations. Idempotent; safe with several processes starting at once. */
  migrate(): Promise<void>;
  /** True when the database answers and every migration is applied. */
  ready(): Promise<boolean>;
  /** Whether autovacuum looks after the tables; undefined on embedded PGlite, which runs none. */
  vacuumSettings(): Promise<VacuumSettings | undefined>;
  createWorkflow(input: CreateWorkflowInput): Promise<{ workflow: WorkflowRecord; created: boolean }>;
  /** A live (not deleted) workflow of the namespace; version 0/undefined = latest. */
  getWorkflow(namespace: string, id: string, version?: number): Promise<WorkflowRecord | undefined>;
  listWorkflowVersions(namespace: string, id: string): Promise<number[]>;
  /** Latest version of each live workflow of the namespace, ordered by id. */
  listWorkflows(opts: { namespace: string; pageSize: number; pageToken?: string }): Promise<Page<WorkflowRecord>>;
  /** False when no live workflow of the namespace has that id. */
  deleteWorkflow(namespace: string, id: string): Promise<boolean>;
  /**
   * Records runs, their steps and first history events in one transaction.
   * A repeated idempotency key (per namespace and workflow) returns the first run, also under concurrency.
   * Initial step states come from the planner: QUEUED roots carry their rendered input;
   * a run the plan settles at once is stored finished. Signals `queued` and `run`.
   */
  triggerRuns(inputs: TriggerInput[]): Promise<TriggerResult[]>;
  /** A run by id, in any namespace (the caller checks `namespace`). */
  getRun(id: string): Promise<RunRecord | undefined>;
  /** The namespace's runs, newest first. */
  listRuns(opts: {
    namespace: string;
    workflowId?: string;
    status?: RunStatus;
    pageSize: number;
    pageToken?: string;
  }): Promise<Page<RunRecord>>;
  getRunHistory(runId: string): Promise<RunEventRecord[]>;
  /** Latest versions of the namespace's live workflows listening for the event (by `on.events` or `on.eventTriggers`). */
  eventListeners(namespace: string, name: string): Promise<LiveWorkflow[]>;
  /** Latest versions of live workflows with cron schedules, in every namespace. */
  scheduledWorkflows(): Promise<LiveWorkflow[]>;
  /** Due run-webhook deliveries from the outbox, leased to this caller for `leaseMs`. */
  claimWebhookDeliveries(limit: number, leaseMs: number): Promise<WebhookDelivery[]>;
  /** Records a delivery attempt (and a WEBHOOK history event). */
  finishWebhookDelivery(attempt: WebhookAttempt): Promise<void>;
  /** Ready tasks (QUEUED and due) per namespace and action: one grouped query, for the queue-depth gauge. */
  readyTaskCounts(): Promise<{ namespace: string; action: string; count: number }[]>;
  /**
   * Deletes the finished runs `filter` matches with their steps, history and
   * webhook deliveries, in batches (`PurgeRuns`); counts only with `dryRun`.
   */
  purgeRuns(filter: PurgeFilter, progress?: PurgeProgress): Promise<PurgeCounts>;
  /**
   * One retention pass over every workflow (its retention, else
   * `defaultRetentionMs`); `busy` when another replica's pass is deleting.
   */
  retentionPass(opts: RetentionPassOptions): Promise<RetentionPassResult>;
  /** Ends the signal listener, then the database connections. */
  close(): Promise<void>;
}

/** Thrown for a malformed page token. */
export class InvalidPageTokenError extends Error {
  override readonly name = "InvalidPageTokenError";
}
