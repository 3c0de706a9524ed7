/**
 * Fixtures for the execution tests: stores on both backends, small workflow
 * definitions, and helpers to claim and complete tasks.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DEFAULT_RETRY,
  type JsonValue,
  type RetryPolicy,
  type StepDef,
  type WorkflowDef,
} from "../../src/engine/model.js";
import type { KyselyStore } from "../../src/store/kysely-store.js";
import { createPgliteStore } from "../../src/store/db/pglite.js";
import { createPostgresStore } from "../../src/store/db/postgres.js";
import type { ClaimedTask, CompletionResult, CreateWorkflowInput, TaskOutcome } from "../../src/store/types.js";
import { createTestDatabase } from "./db.js";

/** An empty database, and a way to open stores on it. */
export interface Fresh {
  /** The Postgres URL; undefined for PGlite. */
  url?: string;
  /** A PGlite data folder; undefined for Postgres. */
  dataDir?: string;
  open(): Promise<KyselyStore>;
  dispose(): Promise<void>;
}

/**
 * Inside a `describe`: a fresh database of the backend and a migrated store
 * on it for the whole suite (handed to `use` before the tests run), closed
 * and dropped after them. Does nothing when the backend is skipped.
 *
 * @example
 * ```ts
 * let store: KyselyStore;
 * useMigratedStore({ skip, fresh }, (_db, s) => (store = s));
 * ```
 */
export function useMigratedStore(
  backend: { skip: boolean; fresh(): Promise<Fresh> },
  use: (db: Fresh, store: KyselyStore) => void,
): void {
  let db: Fresh | undefined;
  let store: KyselyStore | undefined;
  beforeAll(async () => {
    if (backend.skip) return;
    db = await backend.fresh();
    store = await db.open();
    await store.migrate();
    use(db, store);
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await db?.dispose();
  }, 60_000);
}

/**
 * The two backends, as `describe.each` rows.
 *
 * @example
 * ```ts
 * describe.each(backends(hasPostgres))("on $name", ({ fresh }) => { ... });
 * ```
 */
export function backends(
  hasPostgres: boolean,
): { name: "postgres" | "pglite"; skip: boolean; fresh(): Promise<Fresh> }[] {
  return [
    {
      name: "postgres",
      skip: !hasPostgres,
      async fresh() {
        const db = await createTestDatabase();
        return { url: db.url, open: () => createPostgresStore({ url: db.url }), dispose: db.drop };
      },
    },
    {
      name: "pglite",
      skip: false,
      async fresh() {
        const root = mkdtempSync(join(tmpdir(), "weft-exec-"));
        const dataDir = join(root, "data");
        return {
          dataDir,
          open: () => createPgliteStore({ dataDir }),
          dispose: async () => rmSync(root, { recursive: true, force: true }),
        };
      },
    },
  ];
}

let counter = 0;
/**
 * A workflow id unique within the process (tests share a database).
 *
 * @example
 * ```ts
 * const id = uniqueId("diamond");
 * ```
 */
export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
}

/** A step, as the tests write it: dependencies and optional extras. */
export interface StepSketch {
  deps?: string[];
  input?: JsonValue;
  when?: string;
  triggerRule?: StepDef["triggerRule"];
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  heartbeatTimeoutMs?: number;
}

/**
 * A workflow whose step `s` runs action `${id}.${s}` (unique per test).
 *
 * @example
 * ```ts
 * const wf = workflow(uniqueId("chain"), { a: {}, b: { deps: ["a"] } });
 * await store.createWorkflow(wf);
 * ```
 */
export function workflow(
  id: string,
  steps: Record<string, StepSketch>,
  extra: Partial<WorkflowDef> = {},
): CreateWorkflowInput {
  const def: WorkflowDef = {
    id,
    name: id,
    description: "",
    steps: Object.entries(steps).map(([stepId, s]) => {
      const step: StepDef = {
        id: stepId,
        action: `${id}.${stepId}`,
        dependsOn: s.deps ?? [],
        triggerRule: s.triggerRule ?? "ALL_SUCCEEDED",
        retry: { ...DEFAULT_RETRY, ...s.retry },
      };
      if (s.input !== undefined) step.input = s.input;
      if (s.when !== undefined) step.when = s.when;
      if (s.timeoutMs !== undefined) step.timeoutMs = s.timeoutMs;
      if (s.heartbeatTimeoutMs !== undefined) step.heartbeatTimeoutMs = s.heartbeatTimeoutMs;
      return step;
    }),
    on: { events: [], schedules: [] },
    webhooks: { onComplete: [], onFailure: [], onStep: [] },
    ...extra,
  };
  const spec = JSON.parse(JSON.stringify(def)) as JsonValue;
  const specHash = createHash("sha256").update(JSON.stringify(spec)).digest("hex");
  return { namespace: "default", id, spec, def, specHash };
}

/**
 * Creates the workflow and triggers one run per input; returns the run ids.
 *
 * @example
 * ```ts
 * const [runId] = await start(store, wf, [{ n: 1 }]);
 * ```
 */
export async function start(store: KyselyStore, wf: CreateWorkflowInput, inputs: JsonValue[]): Promise<string[]> {
  await store.createWorkflow(wf);
  const results = await store.triggerRuns(inputs.map((input) => ({ namespace: "default", workflowId: wf.id, input })));
  return results.map((r) => {
    if (!r.ok) throw new Error(r.message);
    return r.runId;
  });
}

/**
 * An output outcome for a claimed task.
 *
 * @example
 * ```ts
 * await store.completeTasks([ok(task, { done: true })]);
 * ```
 */
export function ok(task: ClaimedTask, output: JsonValue, workerId = "w1"): TaskOutcome {
  return { taskId: task.taskId, leaseToken: task.leaseToken, workerId, outcome: { kind: "output", output } };
}

/**
 * An error outcome for a claimed task.
 *
 * @example
 * ```ts
 * await store.completeTasks([failed(task, "HTTP_503")]);
 * ```
 */
export function failed(task: ClaimedTask, type: string, message = "boom", retryable?: boolean): TaskOutcome {
  const error = retryable === undefined ? { type, message } : { type, message, retryable };
  return { taskId: task.taskId, leaseToken: task.leaseToken, workerId: "w1", outcome: { kind: "error", error } };
}

/**
 * Claims until nothing is left for the actions.
 *
 * @example
 * ```ts
 * const tasks = await claimAll(store, ["wf.a"]);
 * ```
 */
export async function claimAll(store: KyselyStore, actions: string[], workerId = "w1"): Promise<ClaimedTask[]> {
  const all: ClaimedTask[] = [];
  for (;;) {
    const batch = await store.claimTasks({ workerId, namespace: "default", actions, limit: 100 });
    all.push(...batch);
    if (batch.length < 100) return all;
  }
}

/**
 * Completes outcomes, expecting every one accepted.
 *
 * @example
 * ```ts
 * await completeAll(store, tasks.map((t) => ok(t, 1)));
 * ```
 */
export async function completeAll(store: KyselyStore, outcomes: TaskOutcome[]): Promise<CompletionResult[]> {
  const results = await store.completeTasks(outcomes);
  const refused = results.filter((r) => !r.accepted);
  if (refused.length > 0) throw new Error(`refused: ${JSON.stringify(refused)}`);
  return results;
}

/**
 * Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`.
 *
 * @example
 * ```ts
 * const [task] = await eventually(async () => { const t = await claim(); return t.length ? t : undefined; });
 * ```
 */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 5_000,
  what = "condition",
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
