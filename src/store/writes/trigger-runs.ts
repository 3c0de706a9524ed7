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
import { stepAction } from "../../engine/plan-graph.js";
import { queuedSignal } from "./change-set.js";
import { workflowKey, type DefCache } from "../reads/def-cache.js";
import { insertRuns } from "./insert-runs.js";
import { triggerFacts, type CommitFacts } from "../observer.js";
import type { Database } from "../db/schema.js";
import type { SignalBus } from "../signals/signal-bus.js";
import { byIdempotencyKey, chunks, newRows, prepareRun, ROWS_PER_INSERT, type PlannedRun } from "./trigger-rows.js";
import { cachedVersions, loadVersions, type Versions } from "./trigger-versions.js";
import type { StoreSignal, TriggerInput, TriggerResult } from "../types.js";

export interface TriggerDeps {
  defs: DefCache;
  bus: SignalBus;
  /** Largest rendered input or run output (JSON bytes). */
  maxPayloadBytes?: number;
}

/** Each input's outcome: a failure, or the index of the planned run it maps to. */
type Slot = { failure: TriggerResult } | { plan: number; duplicate: boolean };

/** Thrown to roll back a transaction whose runs were planned against a stale version. */
class StaleVersions extends Error {}

/** Tries with fresh versions this many times before giving up (versions changing under every try). */
const MAX_TRIES = 3;

/**
 * Starts a batch of runs; results come back in input order.
 *
 * @example
 * ```ts
 * const { results, signals } = await triggerRuns(db, [{ namespace: "default", workflowId: "billing", input: { n: 1 }, idempotencyKey: "k1" }], deps);
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
    const found = versions.get(workflowKey(input));
    if (found === undefined) {
      return fail("WORKFLOW_NOT_FOUND", `workflow "${input.workflowId}" not found`);
    }
    const version = input.version || found.latest;
    const def = found.versions.has(version) ? deps.defs.get(input.namespace, input.workflowId, version) : undefined;
    if (def === undefined) {
      return fail("VERSION_NOT_FOUND", `workflow "${input.workflowId}" has no version ${version}`);
    }
    const batchKey =
      input.idempotencyKey === undefined ? undefined : `${workflowKey(input)}\u0000${input.idempotencyKey}`;
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

function fail(reason: "WORKFLOW_NOT_FOUND" | "VERSION_NOT_FOUND", message: string): Slot {
  return { failure: { ok: false, reason, message } };
}

/** Points every keyed plan that lost to an existing run at that run. */
async function resolveConflicts(db: Kysely<Database>, plans: PlannedRun[], created: Set<string>) {
  const lost = plans.filter((p) => !created.has(p.runId));
  if (lost.length === 0) return;
  const rows = await db
    .selectFrom("runs")
    .select(["id", "namespace", "workflow_id", "idempotency_key"])
    .where((eb) =>
      eb(
        eb.refTuple("namespace", "workflow_id", "idempotency_key"),
        "in",
        lost.map((p) => eb.tuple(p.namespace, p.workflowId, p.key ?? "")),
      ),
    )
    .execute();
  const keyOf = (r: { namespace: string; workflowId: string }, key: string | null | undefined) =>
    `${workflowKey(r)}\u0000${key}`;
  const existing = new Map(
    rows.map((r) => [keyOf({ namespace: r.namespace, workflowId: r.workflow_id }, r.idempotency_key), r.id]),
  );
  for (const plan of lost) {
    const id = existing.get(keyOf(plan, plan.key));
    if (id === undefined) {
      throw new Error(`run ${plan.runId} was not inserted and no run holds its idempotency key`);
    }
    plan.runId = id;
  }
}
