/**
 * The trigger hot path: a batch of runs, their steps and first history events
 * in one transaction.
 *
 * Round trips per batch, whatever its size (up to `ROWS_PER_INSERT` runs):
 * BEGIN, one SELECT resolving every workflow version, one INSERT of all runs,
 * one statement inserting all steps and events and sending the NOTIFYs
 * (`insert-run-steps.ts`), COMMIT — plus one SELECT of definitions not yet
 * cached (`def-cache.ts`), and one only when idempotency keys collided with
 * existing runs.
 *
 * Initial states come from the planner (`planInitial`): roots are QUEUED with
 * their rendered input stored on the row, or SKIPPED / FAILED (a `when` or
 * input that cannot be evaluated); whatever that decides further is decided
 * too, and a run the plan finishes at once is inserted finished (status,
 * output or error, `started_at` = `ended_at` = now).
 *
 * Idempotency: runs are inserted with `ON CONFLICT (workflow_id,
 * idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING id`.
 * A concurrent transaction inserting the same key makes Postgres wait for it;
 * once it commits our row is skipped (no error), and the follow-up SELECT (a
 * new read-committed snapshot) finds its run. Keyed rows are inserted in key
 * order so two batches sharing keys cannot deadlock.
 */
import { sql, type Kysely, type Transaction } from "kysely";
import { uuidv7 } from "uuidv7";
import { RunStatus, type Failure, type StepStatus, type WorkflowDef } from "../engine/model.js";
import { planInitial, type Plan } from "../engine/planner.js";
import type { EventRow } from "./change-set.js";
import type { DefCache } from "./def-cache.js";
import { insertRunSteps, type NewStepRow } from "./insert-run-steps.js";
import { box, jsonRows, type Box } from "./json-rows.js";
import type { Database } from "./schema.js";
import { settlePlan } from "./settle-plan.js";
import type { SignalBus } from "./signal-bus.js";
import type { StoreSignal, TriggerInput, TriggerResult } from "./types.js";

/** Runs per INSERT at most (one jsonb parameter each: this bounds its size, not a parameter count). */
export const ROWS_PER_INSERT = 4000;

/** Largest value of an `integer` column (heartbeat timeouts are clamped to it). */
const MAX_INT = 2_147_483_647;

/** One `runs` row as it travels in the INSERT's jsonb parameter (`insertRuns`). */
interface RunRow {
  id: string;
  workflow_id: string;
  workflow_version: number;
  status: RunStatus;
  input: Box;
  idempotency_key: string | null;
  /** Workflow timeout: `deadline_at` = now() + this. */
  deadline_ms: number | null;
  /** The plan finished the run at once: `started_at` = `ended_at` = now(). */
  finished: boolean;
  output: Box | null;
  error: Failure | null;
}

interface PlannedRun {
  runId: string;
  workflowId: string;
  key: string | undefined;
  def: WorkflowDef;
  plan: Plan;
  row: RunRow;
}

export interface TriggerDeps {
  defs: DefCache;
  bus: SignalBus;
  /** Largest rendered input or run output (JSON bytes). */
  maxPayloadBytes?: number;
}

/** Each input's outcome: a failure, or the index of the planned run it maps to. */
type Slot = { failure: TriggerResult } | { plan: number; duplicate: boolean };

/**
 * Starts a batch of runs; results come back in input order.
 *
 * @example
 * ```ts
 * const { results, signals } = await triggerRuns(db, [{ workflowId: "billing", input: { n: 1 }, idempotencyKey: "k1" }], deps);
 * bus.committed(signals);
 * ```
 */
export function triggerRuns(
  db: Kysely<Database>,
  inputs: TriggerInput[],
  deps: TriggerDeps,
): Promise<{ results: TriggerResult[]; signals: StoreSignal[] }> {
  if (inputs.length === 0) return Promise.resolve({ results: [], signals: [] });
  return db.transaction().execute(async (trx) => {
    const versions = await loadVersions(trx, inputs, deps.defs);
    const plans: PlannedRun[] = [];
    const byKey = new Map<string, number>();
    const slots = inputs.map((input): Slot => {
      const found = versions.get(input.workflowId);
      if (found === undefined) {
        return fail("WORKFLOW_NOT_FOUND", `workflow "${input.workflowId}" not found`);
      }
      const version = input.version || found.latest;
      const def = found.versions.has(version) ? deps.defs.get(input.workflowId, version) : undefined;
      if (def === undefined) {
        return fail("VERSION_NOT_FOUND", `workflow "${input.workflowId}" has no version ${version}`);
      }
      const batchKey = input.idempotencyKey === undefined ? undefined : `${input.workflowId}\u0000${input.idempotencyKey}`;
      const seen = batchKey === undefined ? undefined : byKey.get(batchKey);
      if (seen !== undefined) return { plan: seen, duplicate: true };
      if (batchKey !== undefined) byKey.set(batchKey, plans.length);
      plans.push(prepareRun(input, version, def, deps.maxPayloadBytes));
      return { plan: plans.length - 1, duplicate: false };
    });

    const created = await insertRuns(trx, plans);
    await resolveConflicts(trx, plans, created);
    const fresh = plans.filter((p) => created.has(p.runId));
    const signals: StoreSignal[] = [];
    if (fresh.some((p) => p.plan.queue.length > 0)) signals.push({ kind: "queued" });
    if (fresh.length > 0) signals.push({ kind: "run", runIds: fresh.map((p) => p.runId) });
    await insertSteps(trx, fresh, deps.bus.payloads(signals));

    const results = slots.map((slot): TriggerResult => {
      if ("failure" in slot) return slot.failure;
      const plan = plans[slot.plan]!;
      return { ok: true, runId: plan.runId, created: !slot.duplicate && created.has(plan.runId) };
    });
    return { results, signals };
  });
}

function fail(reason: "WORKFLOW_NOT_FOUND" | "VERSION_NOT_FOUND", message: string): Slot {
  return { failure: { ok: false, reason, message } };
}

/** A new run with its initial plan; a plan that finishes the run at once makes the row finished. */
function prepareRun(input: TriggerInput, version: number, def: WorkflowDef, maxPayloadBytes?: number): PlannedRun {
  const runId = uuidv7();
  const state = { runId, workflowId: input.workflowId, workflowVersion: version, status: RunStatus.PENDING, input: input.input };
  const plan = settlePlan(def, { ...state, steps: {} }, planInitial(def, state), maxPayloadBytes);
  const finish = plan.finish;
  return {
    runId,
    workflowId: input.workflowId,
    key: input.idempotencyKey,
    def,
    plan,
    row: {
      id: runId,
      workflow_id: input.workflowId,
      workflow_version: version,
      status: finish?.status ?? RunStatus.PENDING,
      input: box(input.input),
      idempotency_key: input.idempotencyKey ?? null,
      deadline_ms: def.timeoutMs ? def.timeoutMs : null,
      finished: finish !== undefined,
      output: finish?.output === undefined ? null : box(finish.output),
      error: finish?.error ?? null,
    },
  };
}

/**
 * One query for every distinct workflow of the batch: each live workflow's
 * latest version plus any pinned versions asked for.
 */
async function loadVersions(trx: Transaction<Database>, inputs: TriggerInput[], defs: DefCache) {
  const ids = [...new Set(inputs.map((i) => i.workflowId))];
  const pinned = [...new Set(inputs.map((i) => i.version ?? 0).filter((v) => v > 0))];
  const rows = await trx
    .selectFrom("workflows as w")
    .innerJoin("workflow_versions as v", "v.workflow_id", "w.id")
    .select(["w.id", "w.latest_version", "v.version"])
    .where("w.id", "in", ids)
    .where("w.deleted_at", "is", null)
    .where((eb) => {
      const latest = eb("v.version", "=", eb.ref("w.latest_version"));
      return pinned.length === 0 ? latest : eb.or([latest, eb("v.version", "in", pinned)]);
    })
    .execute();
  const versions = new Map<string, { latest: number; versions: Set<number> }>();
  for (const row of rows) {
    let entry = versions.get(row.id);
    if (entry === undefined) versions.set(row.id, (entry = { latest: row.latest_version, versions: new Set() }));
    entry.versions.add(row.version);
  }
  // Definitions are immutable per version: read only the ones not cached yet.
  await defs.load(trx, rows.map((r) => ({ workflowId: r.id, version: r.version })));
  return versions;
}

/**
 * Inserts the runs; returns the ids actually inserted (an idempotency
 * conflict skips a row). One statement with one jsonb parameter, rows in
 * the given order (`seq`): keyed rows go in key order, so two
 * batches sharing keys cannot deadlock. (A Kysely `values()` of 1,000 rows
 * was 12,000 bind parameters and ~5 % of the server's CPU in S1 building and
 * compiling the query.)
 */
async function insertRuns(trx: Transaction<Database>, plans: PlannedRun[]): Promise<Set<string>> {
  const ordered = [...plans].sort(byIdempotencyKey);
  const created = new Set<string>();
  for (const batch of chunks(ordered.map((p) => p.row))) {
    const { rows } = await sql<{ id: string }>`
      insert into runs (id, workflow_id, workflow_version, status, input, idempotency_key, deadline_at, output, error, started_at, ended_at)
      select v.id, v.workflow_id, v.workflow_version, v.status, v.input -> 'v', v.idempotency_key,
             case when v.deadline_ms is not null then now() + v.deadline_ms * interval '1 millisecond' end,
             v.output -> 'v', v.error,
             case when v.finished then now() end, case when v.finished then now() end
      from jsonb_to_recordset(${jsonRows(batch.map((r, seq) => ({ ...r, seq })))}) as v(
        id uuid, workflow_id text, workflow_version integer, status text, input jsonb, idempotency_key text,
        deadline_ms double precision, finished boolean, output jsonb, error jsonb, seq integer)
      order by v.seq
      on conflict (workflow_id, idempotency_key) where idempotency_key is not null do nothing
      returning id
    `.execute(trx);
    for (const row of rows) created.add(row.id);
  }
  return created;
}

/** Points every keyed plan that lost to an existing run at that run. */
async function resolveConflicts(trx: Transaction<Database>, plans: PlannedRun[], created: Set<string>) {
  const lost = plans.filter((p) => !created.has(p.runId));
  if (lost.length === 0) return;
  const rows = await trx
    .selectFrom("runs")
    .select(["id", "workflow_id", "idempotency_key"])
    .where((eb) =>
      eb(
        eb.refTuple("workflow_id", "idempotency_key"),
        "in",
        lost.map((p) => eb.tuple(p.workflowId, p.key ?? "")),
      ),
    )
    .execute();
  const existing = new Map(rows.map((r) => [`${r.workflow_id}\u0000${r.idempotency_key}`, r.id]));
  for (const plan of lost) {
    const id = existing.get(`${plan.workflowId}\u0000${plan.key}`);
    if (id === undefined) {
      throw new Error(`run ${plan.runId} was not inserted and no run holds its idempotency key`);
    }
    plan.runId = id;
  }
}

/** One step row per step of each new run (in the state its plan decided), and their first events. */
async function insertSteps(trx: Transaction<Database>, runs: PlannedRun[], payloads: string[]) {
  const steps: NewStepRow[] = [];
  const events: EventRow[] = [];
  for (const run of runs) {
    const { plan, runId } = run;
    const status = new Map<string, StepStatus>();
    const inputs = new Map(plan.queue.map((q) => [q.stepId, q.input]));
    const errors = new Map(plan.fail.map((f) => [f.stepId, f.error]));
    events.push({ run_id: runId, type: "RUN_STATUS", run_status: RunStatus.PENDING });
    for (const q of plan.queue) {
      status.set(q.stepId, "QUEUED");
      events.push({ run_id: runId, type: "STEP_STATUS", step_id: q.stepId, step_status: "QUEUED" });
    }
    for (const s of plan.skip) {
      status.set(s.stepId, "SKIPPED");
      events.push({ run_id: runId, type: "STEP_STATUS", step_id: s.stepId, step_status: "SKIPPED", message: s.reason });
    }
    for (const f of plan.fail) {
      status.set(f.stepId, "FAILED");
      events.push({ run_id: runId, type: "STEP_STATUS", step_id: f.stepId, step_status: "FAILED", error: f.error });
    }
    if (plan.finish !== undefined) {
      const { status: runStatus, error } = plan.finish;
      events.push({ run_id: runId, type: "RUN_STATUS", run_status: runStatus, ...(error ? { error } : {}) });
    }
    for (const step of run.def.steps) {
      const row: NewStepRow = { run_id: runId, step_id: step.id, action: step.action, status: status.get(step.id) ?? "PENDING" };
      if (inputs.has(step.id)) row.input = box(inputs.get(step.id)!);
      const error = errors.get(step.id);
      if (error !== undefined) row.error = error;
      if (step.timeoutMs) row.timeout_ms = Math.ceil(step.timeoutMs);
      if (step.heartbeatTimeoutMs) row.heartbeat_timeout_ms = Math.min(MAX_INT, Math.ceil(step.heartbeatTimeoutMs));
      steps.push(row);
    }
  }
  await insertRunSteps(trx, steps, events, payloads);
}

/** Keyed runs first, by (workflow id, key); unkeyed ones after, in any order. */
function byIdempotencyKey(a: PlannedRun, b: PlannedRun): number {
  if (a.key === undefined || b.key === undefined) return Number(a.key === undefined) - Number(b.key === undefined);
  return compare(a.workflowId, b.workflowId) || compare(a.key, b.key);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function* chunks<T>(rows: T[]): Generator<T[]> {
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) yield rows.slice(i, i + ROWS_PER_INSERT);
}
