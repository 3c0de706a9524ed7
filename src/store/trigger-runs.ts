/**
 * The trigger hot path: a batch of runs, their steps and first history
 * events in ONE statement (`insert-runs.ts`) — one round trip for a lone
 * trigger once its workflow is known.
 *
 * The runs are planned against the workflow versions the definition cache
 * believes current (`DefCache.latest`); the statement checks that belief
 * and inserts nothing if it was wrong (a new version or a delete since), and
 * then, as on a cold cache, the versions are read (one SELECT, plus one for
 * definitions not cached yet) and the batch is planned and sent again. A
 * batch of more than `ROWS_PER_INSERT` runs goes in one transaction, one
 * statement per chunk, so it starts whole or not at all.
 *
 * Initial states come from the planner (`planInitial`): roots are QUEUED with
 * their rendered input stored on the row, or SKIPPED / FAILED (a `when` or
 * input that cannot be evaluated); whatever that decides further is decided
 * too, and a run the plan finishes at once is inserted finished (status,
 * output or error, `started_at` = `ended_at` = now).
 *
 * Idempotency: a run whose key is taken is skipped by the INSERT (see
 * `insert-runs.ts`), and a follow-up SELECT (a new read-committed snapshot)
 * finds the run holding the key.
 */
import type { Kysely } from "kysely";
import { uuidv7 } from "uuidv7";
import { RunStatus, type StepStatus, type WorkflowDef } from "../engine/model.js";
import { stepAction } from "../engine/plan-graph.js";
import { planInitial, type Plan } from "../engine/planner.js";
import { queuedSignal, type EventRow } from "./change-set.js";
import type { DefCache } from "./def-cache.js";
import { insertRuns, type NewRunRow, type NewStepRow } from "./insert-runs.js";
import { box } from "./json-rows.js";
import { triggerFacts, type CommitFacts } from "./observer.js";
import type { Database } from "./schema.js";
import { settlePlan } from "./settle-plan.js";
import type { SignalBus } from "./signal-bus.js";
import type { StoreSignal, TriggerInput, TriggerResult } from "./types.js";

/** Runs per statement at most (one jsonb parameter each: this bounds its size, not a parameter count). */
export const ROWS_PER_INSERT = 4000;

/** Largest value of an `integer` column (heartbeat timeouts are clamped to it). */
const MAX_INT = 2_147_483_647;

interface PlannedRun {
  runId: string;
  workflowId: string;
  key: string | undefined;
  def: WorkflowDef;
  plan: Plan;
  row: NewRunRow;
}

export interface TriggerDeps {
  defs: DefCache;
  bus: SignalBus;
  /** Largest rendered input or run output (JSON bytes). */
  maxPayloadBytes?: number;
}

/** Each input's outcome: a failure, or the index of the planned run it maps to. */
type Slot = { failure: TriggerResult } | { plan: number; duplicate: boolean };

/** What `loadVersions` (or the cache) knows: per workflow, its latest version and the pinned ones that exist. */
type Versions = Map<string, { latest: number; versions: Set<number> }>;

/** Thrown to roll back a transaction whose runs were planned against a stale version. */
class StaleVersions extends Error {}

/** Tries with fresh versions this many times before giving up (versions changing under every try). */
const MAX_TRIES = 3;

/**
 * Starts a batch of runs; results come back in input order.
 *
 * @example
 * ```ts
 * const { results, signals } = await triggerRuns(db, [{ workflowId: "billing", input: { n: 1 }, idempotencyKey: "k1" }], deps);
 * bus.committed(signals);
 * ```
 */
export async function triggerRuns(
  db: Kysely<Database>,
  inputs: TriggerInput[],
  deps: TriggerDeps,
): Promise<{ results: TriggerResult[]; signals: StoreSignal[]; facts?: CommitFacts }> {
  if (inputs.length === 0) return { results: [], signals: [] };
  for (let attempt = 1; attempt <= MAX_TRIES; attempt++) {
    const started =
      inputs.length > ROWS_PER_INSERT
        ? await startInOneTransaction(db, inputs, deps)
        : await startRuns(
            db,
            inputs,
            (attempt === 1 ? cachedVersions(inputs, deps.defs) : undefined) ??
              (await loadVersions(db, inputs, deps.defs)),
            deps,
          );
    if (started !== undefined) return started;
  }
  throw new Error(`workflow versions changed under each of ${MAX_TRIES} tries of the trigger`);
}

/**
 * A batch too large for one statement: every chunk in one transaction, so
 * a chunk that finds a version stale rolls back the chunks before it
 * (undefined: plan again).
 */
async function startInOneTransaction(db: Kysely<Database>, inputs: TriggerInput[], deps: TriggerDeps) {
  try {
    return await db.transaction().execute(async (trx) => {
      const started = await startRuns(trx, inputs, await loadVersions(trx, inputs, deps.defs), deps);
      if (started === undefined) throw new StaleVersions();
      return started;
    });
  } catch (err) {
    if (err instanceof StaleVersions) return undefined;
    throw err;
  }
}

/**
 * Plans and inserts the runs against `versions`; undefined when the
 * statement found a version stale (nothing of that statement was inserted).
 */
async function startRuns(
  db: Kysely<Database>,
  inputs: TriggerInput[],
  versions: Versions,
  deps: TriggerDeps,
): Promise<{ results: TriggerResult[]; signals: StoreSignal[]; facts: CommitFacts } | undefined> {
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
    const batchKey =
      input.idempotencyKey === undefined ? undefined : `${input.workflowId}\u0000${input.idempotencyKey}`;
    const seen = batchKey === undefined ? undefined : byKey.get(batchKey);
    if (seen !== undefined) return { plan: seen, duplicate: true };
    if (batchKey !== undefined) byKey.set(batchKey, plans.length);
    plans.push(prepareRun(input, version, def, deps.maxPayloadBytes));
    return { plan: plans.length - 1, duplicate: false };
  });

  // Keyed rows go in key order, so two batches sharing keys cannot deadlock.
  const ordered = [...plans].sort(byIdempotencyKey);
  const created = new Set<string>();
  const signals: StoreSignal[] = [];
  for (const chunk of chunks(ordered)) {
    // Signals name every run of the chunk; one whose key was taken is not
    // inserted, and a signal about it finds nothing to report.
    const chunkSignals: StoreSignal[] = [];
    const queued = chunk.flatMap((p) => p.plan.queue.map((q) => stepAction(p.def, q.stepId)));
    if (queued.length > 0) chunkSignals.push(queuedSignal(queued));
    chunkSignals.push({ kind: "run", runIds: chunk.map((p) => p.runId) });
    const inserted = await insertRuns(db, { ...newRows(chunk), payloads: deps.bus.payloads(chunkSignals) });
    if (inserted.stale > 0) return undefined;
    for (const id of inserted.created) created.add(id);
    if (inserted.created.size > 0) signals.push(...chunkSignals);
  }
  await resolveConflicts(db, plans, created);

  const results = slots.map((slot): TriggerResult => {
    if ("failure" in slot) return slot.failure;
    const plan = plans[slot.plan]!;
    return { ok: true, runId: plan.runId, created: !slot.duplicate && created.has(plan.runId) };
  });
  return { results, signals, facts: triggerFacts(plans, created) };
}

/**
 * The versions as the cache believes them, or undefined if it does not know
 * every workflow of the batch (or a definition is not cached).
 */
function cachedVersions(inputs: TriggerInput[], defs: DefCache): Versions | undefined {
  const versions: Versions = new Map();
  for (const input of inputs) {
    let entry = versions.get(input.workflowId);
    if (entry === undefined) {
      const latest = defs.latest(input.workflowId);
      if (latest === undefined || defs.get(input.workflowId, latest) === undefined) return undefined;
      versions.set(input.workflowId, (entry = { latest, versions: new Set([latest]) }));
    }
    if (input.version) {
      if (defs.get(input.workflowId, input.version) === undefined) return undefined;
      entry.versions.add(input.version);
    }
  }
  return versions;
}

function fail(reason: "WORKFLOW_NOT_FOUND" | "VERSION_NOT_FOUND", message: string): Slot {
  return { failure: { ok: false, reason, message } };
}

/** A new run with its initial plan; a plan that finishes the run at once makes the row finished. */
function prepareRun(input: TriggerInput, version: number, def: WorkflowDef, maxPayloadBytes?: number): PlannedRun {
  const runId = uuidv7();
  const state = {
    runId,
    workflowId: input.workflowId,
    workflowVersion: version,
    status: RunStatus.PENDING,
    input: input.input,
  };
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
      pinned: Boolean(input.version),
      status: finish?.status ?? RunStatus.PENDING,
      input: box(input.input),
      idempotency_key: input.idempotencyKey ?? null,
      deadline_ms: def.timeoutMs ? def.timeoutMs : null,
      finished: finish !== undefined,
      output: finish?.output === undefined ? null : box(finish.output),
      error: finish?.error ?? null,
      ...(input.traceparent === undefined ? {} : { traceparent: input.traceparent }),
    },
  };
}

/**
 * One query for every distinct workflow of the batch: each live workflow's
 * latest version plus any pinned versions asked for.
 */
async function loadVersions(db: Kysely<Database>, inputs: TriggerInput[], defs: DefCache): Promise<Versions> {
  const ids = [...new Set(inputs.map((i) => i.workflowId))];
  const pinned = [...new Set(inputs.map((i) => i.version ?? 0).filter((v) => v > 0))];
  const rows = await db
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
  const versions: Versions = new Map();
  for (const row of rows) {
    let entry = versions.get(row.id);
    if (entry === undefined) versions.set(row.id, (entry = { latest: row.latest_version, versions: new Set() }));
    entry.versions.add(row.version);
  }
  for (const id of ids) defs.noteLatest(id, versions.get(id)?.latest);
  // Definitions are immutable per version: read only the ones not cached yet.
  await defs.load(
    db,
    rows.map((r) => ({ workflowId: r.id, version: r.version })),
  );
  return versions;
}

/** Points every keyed plan that lost to an existing run at that run. */
async function resolveConflicts(db: Kysely<Database>, plans: PlannedRun[], created: Set<string>) {
  const lost = plans.filter((p) => !created.has(p.runId));
  if (lost.length === 0) return;
  const rows = await db
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

/** The run rows, one step row per step of each run (in the state its plan decided), and their first events. */
function newRows(runs: PlannedRun[]): { runs: NewRunRow[]; steps: NewStepRow[]; events: EventRow[] } {
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
      const row: NewStepRow = {
        run_id: runId,
        step_id: step.id,
        action: step.action,
        status: status.get(step.id) ?? "PENDING",
      };
      if (inputs.has(step.id)) row.input = box(inputs.get(step.id)!);
      const error = errors.get(step.id);
      if (error !== undefined) row.error = error;
      if (step.timeoutMs) row.timeout_ms = Math.ceil(step.timeoutMs);
      if (step.heartbeatTimeoutMs) row.heartbeat_timeout_ms = Math.min(MAX_INT, Math.ceil(step.heartbeatTimeoutMs));
      steps.push(row);
    }
  }
  return { runs: runs.map((r) => r.row), steps, events };
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
