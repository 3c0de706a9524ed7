/**
 * The one `Store` implementation, over any Kysely instance speaking Postgres
 * (a `pg` pool or embedded PGlite). Each method delegates to a query module;
 * mutations hand their signals to the `SignalBus` (NOTIFY inside their
 * transaction, in-process delivery after the commit).
 *
 * With PGlite there is a single connection: code inside
 * `db.transaction().execute(trx => ...)` must use `trx` only (a query on `db`
 * would wait for the connection the transaction holds, forever). Every query
 * function here takes the handle it should use, so pass `trx` down.
 */
import { performance } from "node:perf_hooks";
import { sql, type Kysely } from "kysely";
import type { RunStatus } from "../engine/model.js";
import { createAccessStore } from "./writes/access-queries.js";
import type { AccessStore } from "./access-types.js";
import { cancelRun } from "./writes/cancel-run.js";
import { claimTasks } from "./writes/claim-tasks.js";
import { completeTasks } from "./writes/complete-tasks.js";
import { DefCache } from "./reads/def-cache.js";
import { migrateToLatest, pendingMigrations } from "./migrations/index.js";
import { NO_STORE_OBSERVER, type CommitFacts, type StoreObserver, type StoreStatement } from "./observer.js";
import { observed, purgeRuns, retentionPass } from "./writes/purge-runs.js";
import { retryRun } from "./writes/retry-run.js";
import { getRun, getRunHistory, listRuns } from "./reads/run-queries.js";
import type { Database } from "./db/schema.js";
import { readVacuumSettings, type VacuumSettings } from "./db/vacuum-settings.js";
import { createLocalSignalBus, type SignalBus } from "./signals/signal-bus.js";
import { nextDueTime, readyTaskCounts, runEventsAfter, runningTasks, timedOutTasks } from "./reads/task-queries.js";
import { timeOutRuns } from "./writes/time-out-runs.js";
import { eventListeners, scheduledWorkflows } from "./reads/trigger-queries.js";
import { triggerRuns } from "./writes/trigger-runs.js";
import { claimWebhookDeliveries, finishWebhookDelivery } from "./writes/webhook-outbox.js";
import type {
  ClaimedTask,
  ClaimOptions,
  CompletionResult,
  CreateWorkflowInput,
  LiveWorkflow,
  Page,
  RunEventRecord,
  RunningTaskRef,
  RunRecord,
  Store,
  StoreSignal,
  TaskOutcome,
  TriggerInput,
  TriggerResult,
  WebhookAttempt,
  WebhookDelivery,
  WorkflowRecord,
} from "./types.js";
import {
  createWorkflow,
  deleteWorkflow,
  getWorkflow,
  listWorkflows,
  listWorkflowVersions,
} from "./reads/workflow-queries.js";

export interface KyselyStoreOptions {
  /** How signals travel (default: in-process, for a single process such as PGlite). */
  signals?: SignalBus;
  /** Jitter source for retry delays (default `Math.random`; tests pin it). */
  random?: () => number;
  /** Largest rendered step input or run output (JSON bytes); larger ones fail with PAYLOAD_TOO_LARGE. */
  maxPayloadBytes?: number;
  /** Told about each write's duration, batch size and committed facts (the metrics); default none. */
  observer?: StoreObserver;
  /** Embedded PGlite: no autovacuum to check. */
  embedded?: boolean;
}

/**
 * A `Store` over a Kysely instance; `close` releases what the factory opened.
 *
 * @example
 * ```ts
 * const store = new KyselyStore(new Kysely<Database>({ dialect }));
 * await store.migrate();
 * const tasks = await store.claimTasks({ workerId: "w1", actions: ["email.send"], limit: 10 });
 * ```
 */
export class KyselyStore implements Store {
  #closing: Promise<void> | undefined;
  readonly #defs = new DefCache();
  readonly #bus: SignalBus;
  readonly #random: (() => number) | undefined;
  readonly #limits: { maxPayloadBytes?: number };
  readonly #observer: StoreObserver;
  readonly #embedded: boolean;
  /** API keys and the audit trail. */
  readonly access: AccessStore;

  /**
   * @param db the database; other `src/store/` modules may query it directly.
   * @param closeDb releases the database (default: `db.destroy()`).
   * @param options the signal bus and retry jitter source.
   */
  constructor(
    readonly db: Kysely<Database>,
    private readonly closeDb: () => Promise<void> = () => db.destroy(),
    options: KyselyStoreOptions = {},
  ) {
    this.#bus = options.signals ?? createLocalSignalBus();
    this.#random = options.random;
    this.#limits = options.maxPayloadBytes ? { maxPayloadBytes: options.maxPayloadBytes } : {};
    this.#observer = options.observer ?? NO_STORE_OBSERVER;
    this.#embedded = options.embedded ?? false;
    this.access = createAccessStore(db);
  }

  /** The same handle, untyped for the migrator (migrations see the schema as it was then). */
  get #untyped(): Kysely<unknown> {
    return this.db as unknown as Kysely<unknown>;
  }

  /**
   * Runs a mutation, timed as `statement`, then delivers its signals
   * in-process and its facts to the observer (after its commit).
   */
  async #mutate<T>(
    statement: StoreStatement,
    work: () => Promise<{ signals: StoreSignal[]; facts?: CommitFacts } & T>,
  ): Promise<T> {
    const done = await this.#timed(statement, work);
    this.#bus.committed(done.signals);
    if (done.facts) this.#observer.committed(done.facts);
    return done;
  }

  /** Runs `work`, telling the observer how long it took (failed or not). */
  async #timed<T>(statement: StoreStatement, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.#observer.transaction(statement, (performance.now() - started) / 1000);
    }
  }

  migrate(): Promise<void> {
    return migrateToLatest(this.#untyped);
  }

  async ready(): Promise<boolean> {
    try {
      await sql`select 1`.execute(this.db);
      return (await pendingMigrations(this.#untyped)).length === 0;
    } catch {
      return false;
    }
  }

  async vacuumSettings(): Promise<VacuumSettings | undefined> {
    return this.#embedded ? undefined : readVacuumSettings(this.db);
  }

  createWorkflow(input: CreateWorkflowInput): Promise<{ workflow: WorkflowRecord; created: boolean }> {
    return createWorkflow(this.db, input);
  }

  getWorkflow(namespace: string, id: string, version?: number): Promise<WorkflowRecord | undefined> {
    return getWorkflow(this.db, namespace, id, version);
  }

  listWorkflowVersions(namespace: string, id: string): Promise<number[]> {
    return listWorkflowVersions(this.db, namespace, id);
  }

  listWorkflows(opts: { namespace: string; pageSize: number; pageToken?: string }): Promise<Page<WorkflowRecord>> {
    return listWorkflows(this.db, opts);
  }

  deleteWorkflow(namespace: string, id: string): Promise<boolean> {
    return deleteWorkflow(this.db, namespace, id);
  }

  async triggerRuns(inputs: TriggerInput[]): Promise<TriggerResult[]> {
    this.#observer.batch("trigger", inputs.length);
    const deps = { defs: this.#defs, bus: this.#bus, ...this.#limits };
    return (await this.#mutate("trigger", () => triggerRuns(this.db, inputs, deps))).results;
  }

  getRun(id: string): Promise<RunRecord | undefined> {
    return getRun(this.db, id);
  }

  listRuns(opts: {
    namespace: string;
    workflowId?: string;
    status?: RunStatus;
    pageSize: number;
    pageToken?: string;
  }): Promise<Page<RunRecord>> {
    return listRuns(this.db, opts);
  }

  getRunHistory(runId: string): Promise<RunEventRecord[]> {
    return getRunHistory(this.db, runId);
  }

  eventListeners(namespace: string, name: string): Promise<LiveWorkflow[]> {
    return eventListeners(this.db, namespace, name);
  }

  scheduledWorkflows(): Promise<LiveWorkflow[]> {
    return scheduledWorkflows(this.db);
  }

  claimWebhookDeliveries(limit: number, leaseMs: number): Promise<WebhookDelivery[]> {
    return claimWebhookDeliveries(this.db, limit, leaseMs);
  }

  finishWebhookDelivery(attempt: WebhookAttempt): Promise<void> {
    return finishWebhookDelivery(this.db, attempt);
  }

  async claimTasks(opts: ClaimOptions): Promise<ClaimedTask[]> {
    const tasks = await this.#timed("claim", () => claimTasks(this.db, opts, this.#bus.origin));
    this.#observer.batch("claim", tasks.length);
    if (tasks.length > 0) this.#bus.committed([{ kind: "run", runIds: [...new Set(tasks.map((t) => t.runId))] }]);
    return tasks;
  }

  async completeTasks(outcomes: TaskOutcome[]): Promise<CompletionResult[]> {
    if (outcomes.length === 0) return [];
    this.#observer.batch("completion", outcomes.length);
    const deps = {
      defs: this.#defs,
      bus: this.#bus,
      ...this.#limits,
      ...(this.#random ? { random: this.#random } : {}),
    };
    return (await this.#mutate("completion", () => completeTasks(this.db, outcomes, deps))).results;
  }

  async timeOutRuns(now: Date, limit: number): Promise<{ runIds: string[]; running: RunningTaskRef[] }> {
    return (await this.#mutate("time_out_runs", () => timeOutRuns(this.db, now, limit, this.#bus))).result;
  }

  timedOutTasks(now: Date, limit: number): Promise<RunningTaskRef[]> {
    return timedOutTasks(this.db, now, limit);
  }

  runningTasks(opts: { startedBefore: Date; limit: number; afterTaskId?: string }): Promise<RunningTaskRef[]> {
    return runningTasks(this.db, opts);
  }

  nextDueTime(): Promise<Date | undefined> {
    return nextDueTime(this.db);
  }

  async cancelRun(
    runId: string,
    reason: string,
    namespace?: string,
  ): Promise<{ run: RunRecord; running: RunningTaskRef[] } | undefined> {
    return (await this.#mutate("cancel_run", () => cancelRun(this.db, runId, reason, this.#bus, namespace))).result;
  }

  async retryRun(
    runId: string,
    namespace?: string,
  ): Promise<{ run: RunRecord } | { error: "NOT_FOUND" | "NOT_FINISHED" | "SUCCEEDED" }> {
    const deps = { defs: this.#defs, bus: this.#bus, ...this.#limits };
    return (await this.#mutate("retry_run", () => retryRun(this.db, runId, deps, namespace))).result;
  }

  readonly purgeRuns: Store["purgeRuns"] = (filter, progress = {}) =>
    purgeRuns(this.db, filter, observed(this.#observer, "request", progress));
  readonly retentionPass: Store["retentionPass"] = (opts) =>
    retentionPass(this.db, observed(this.#observer, "retention", opts));

  readyTaskCounts(): Promise<{ namespace: string; action: string; count: number }[]> {
    return readyTaskCounts(this.db);
  }

  runEventsAfter(runId: string, afterId: bigint, limit: number): Promise<RunEventRecord[]> {
    return runEventsAfter(this.db, runId, afterId, limit);
  }

  signal(s: StoreSignal): Promise<void> {
    return this.#bus.send(this.db, s);
  }

  onSignal(listener: (s: StoreSignal) => void): Promise<() => void> {
    return this.#bus.subscribe(listener);
  }

  /** Idempotent: a second call waits for the first. Ends the signal listener first, then the database. */
  close(): Promise<void> {
    this.#closing ??= this.#bus.close().then(() => this.closeDb());
    return this.#closing;
  }
}
