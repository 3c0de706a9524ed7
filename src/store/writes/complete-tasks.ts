/**
 * Completing a batch of task results: ONE transaction, a fixed number of
 * round trips whatever the batch size (docs/benchmarks.md#completion-batching) (BEGIN; lock the runs; read their steps; one
 * statement writing steps, runs, history and NOTIFYs; COMMIT), plus one read
 * of definitions not yet cached.
 *
 * Strategy:
 * 1. Lock every affected run, in id order (`run-state.ts`). Completions of
 *    sibling steps on different replicas thus serialise per run, and the
 *    second one plans with the first one's result: a fan-in is queued exactly
 *    once. Fixed order = no deadlocks between overlapping batches.
 * 2. Read all steps of those runs (after the lock: a fresh snapshot).
 * 3. In memory, in input order, ask the engine what each result does
 *    (`src/engine/result.ts`: the fence by lease token, success, retry or
 *    failure, a built-in's timer) and record its decision; the loaded state
 *    follows from the decision (`applyToState`), so a second result for the
 *    same run reads what the first one decided.
 * 4. Plan every affected run still active once, with the changed step ids as
 *    the planner's hint (`src/engine/next-moves.ts`), and record the moves.
 * 5. Write it all with `writeChanges` (one statement) including the signals.
 */
import type { Kysely } from "kysely";
import { applyToState, type LoadedRun } from "../../engine/live-state.js";
import { planNext } from "../../engine/next-moves.js";
import { decideResult, type ResultDecision } from "../../engine/result.js";
import { ChangeSet } from "./change-set.js";
import type { DefCache } from "../reads/def-cache.js";
import { finishedRuns, type CommitFacts } from "../observer.js";
import { loadRuns, lockRuns } from "./run-state.js";
import type { Database } from "../db/schema.js";
import type { SignalBus } from "../signals/signal-bus.js";
import { parseTaskId } from "../task-id.js";
import type { CompletionResult, StoreSignal, TaskOutcome } from "../types.js";
import { writeChanges } from "./write-changes.js";

export interface CompleteDeps {
  defs: DefCache;
  bus: SignalBus;
  /** Jitter source for retry delays (default `Math.random`). */
  random?: () => number;
  /** Largest rendered input or run output (JSON bytes). */
  maxPayloadBytes?: number;
}

interface Batch {
  runs: Map<string, LoadedRun>;
  changes: ChangeSet;
  /** Per run: the step ids whose status this batch changed (the planner's hint). */
  changed: Map<string, string[]>;
  random: () => number;
  maxPayloadBytes?: number;
  /** The action of each step this batch sends back for a retry (for the metrics). */
  retries: (string | undefined)[];
}

/**
 * Completes the outcomes; results come back in input order.
 *
 * @example
 * ```ts
 * const { results, signals } = await completeTasks(db, outcomes, { defs, bus });
 * bus.committed(signals);
 * ```
 */
export async function completeTasks(
  db: Kysely<Database>,
  outcomes: readonly TaskOutcome[],
  deps: CompleteDeps,
): Promise<{ results: CompletionResult[]; signals: StoreSignal[]; facts?: CommitFacts }> {
  const parsed = outcomes.map((o) => parseTaskId(o.taskId));
  const runIds = [...new Set(parsed.flatMap((p) => (p ? [p.runId] : [])))];
  if (runIds.length === 0) {
    return {
      results: outcomes.map((o) => ({ taskId: o.taskId, accepted: false, reason: "unknown task" })),
      signals: [],
    };
  }
  return db.transaction().execute(async (trx) => {
    const locked = await lockRuns(trx, runIds);
    const runs = await loadRuns(trx, locked);
    const batch: Batch = {
      runs,
      changes: new ChangeSet((id) => runs.get(id)?.run.input),
      changed: new Map(),
      random: deps.random ?? Math.random,
      retries: [],
      ...(deps.maxPayloadBytes ? { maxPayloadBytes: deps.maxPayloadBytes } : {}),
    };
    await deps.defs.load(
      trx,
      [...locked.values()].map((r) => ({
        namespace: r.namespace,
        workflowId: r.workflowId,
        version: r.workflowVersion,
      })),
    );

    const results = outcomes.map((outcome, i): CompletionResult => {
      const at = parsed[i];
      const loaded = at && batch.runs.get(at.runId);
      if (!at || !loaded) return { taskId: outcome.taskId, accepted: false, reason: "unknown task" };
      const def = deps.defs.get(loaded.run.namespace, loaded.run.workflowId, loaded.run.workflowVersion);
      return record(batch, loaded, at.stepId, decideResult(loaded, def, at.stepId, outcome, batch.random));
    });
    planRuns(batch, deps.defs);

    const signals = batch.changes.signals();
    await writeChanges(trx, batch.changes, deps.bus.payloads(signals));
    return {
      results,
      signals,
      facts: { finished: finishedRuns(batch.changes, locked.values()), retries: batch.retries },
    };
  });
}

/** Records one result's decision; the loaded run follows it, and a changed step is the planner's hint. */
function record(batch: Batch, loaded: LoadedRun, stepId: string, decision: ResultDecision): CompletionResult {
  batch.changes.add(decision);
  applyToState(loaded, decision);
  for (const action of decision.retries) batch.retries.push(action);
  if (decision.replan) {
    const hint = batch.changed.get(loaded.run.id);
    if (hint === undefined) batch.changed.set(loaded.run.id, [stepId]);
    else hint.push(stepId);
  }
  return decision.answer;
}

/** Plans each active run that changed, once, and records its moves. */
function planRuns(batch: Batch, defs: DefCache): void {
  for (const [runId, changed] of batch.changed) {
    const loaded = batch.runs.get(runId)!;
    const { namespace, workflowId, workflowVersion } = loaded.run;
    const def = defs.get(namespace, workflowId, workflowVersion);
    if (def === undefined) throw new Error(`run ${runId}: workflow ${workflowId} v${workflowVersion} not found`);
    batch.changes.add(planNext(def, loaded, changed, batch.maxPayloadBytes));
  }
}
