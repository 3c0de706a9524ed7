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
 * 3. In memory, in input order: fence each result by its token (the step must
 *    be RUNNING with that lease token; anything else is stale → accepted
 *    false plus a STALE_RESULT event, never an error); record outputs; send
 *    errors through the step's retry policy (retry → QUEUED with a durable
 *    `not_before`; else FAILED). A value Postgres cannot store (NUL) fails
 *    the step with INVALID_OUTPUT instead of failing the transaction.
 * 4. Plan every affected run still active once, with the changed step ids as
 *    the planner's hint, and record its queue / skip / fail / finish.
 * 5. Write it all with `writeChanges` (one statement) including the signals.
 */
import type { Kysely } from "kysely";
import {
  DEFAULT_RETRY,
  FINISHED_RUN_STATUSES,
  type Failure,
  type JsonValue,
  type WorkflowDef,
} from "../engine/model.js";
import { stepAction } from "../engine/plan-graph.js";
import { planRun } from "../engine/planner.js";
import { decideRetry, RETURNED_ERROR_TYPES } from "../engine/retry.js";
import { applyPlan } from "./apply-plan.js";
import { ChangeSet } from "./change-set.js";
import type { DefCache } from "./def-cache.js";
import { box } from "./json-rows.js";
import { INVALID_OUTPUT, nulFailure } from "./nul-text.js";
import { finishedRuns, type CommitFacts } from "./observer.js";
import { loadSteps, lockRuns, runState, type LockedRun, type StepRowState } from "./run-state.js";
import type { Database } from "./schema.js";
import { settlePlan } from "./settle-plan.js";
import type { SignalBus } from "./signal-bus.js";
import { parseTaskId } from "./task-id.js";
import type { CompletionResult, StoreSignal, TaskOutcome } from "./types.js";
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
  runs: Map<string, LockedRun>;
  steps: Map<string, Map<string, StepRowState>>;
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
    const runs = await lockRuns(trx, runIds);
    const steps = await loadSteps(trx, [...runs.keys()]);
    const batch: Batch = {
      runs,
      steps,
      changes: new ChangeSet(),
      changed: new Map(),
      random: deps.random ?? Math.random,
      retries: [],
      ...(deps.maxPayloadBytes ? { maxPayloadBytes: deps.maxPayloadBytes } : {}),
    };
    await deps.defs.load(
      trx,
      [...runs.values()].map((r) => ({ workflowId: r.workflowId, version: r.workflowVersion })),
    );

    const results = outcomes.map((outcome, i): CompletionResult => {
      const at = parsed[i];
      const run = at && runs.get(at.runId);
      if (!at || !run) return { taskId: outcome.taskId, accepted: false, reason: "unknown task" };
      const def = deps.defs.get(run.workflowId, run.workflowVersion);
      return record(batch, run, def, at.stepId, outcome);
    });
    planRuns(batch, deps.defs);

    const signals = batch.changes.signals();
    await writeChanges(trx, batch.changes, deps.bus.payloads(signals));
    return {
      results,
      signals,
      facts: { finished: finishedRuns(batch.changes, runs.values()), retries: batch.retries },
    };
  });
}

/** Fences one outcome and records its effect on the step (and on a still-PENDING run). */
function record(
  batch: Batch,
  run: LockedRun,
  def: WorkflowDef | undefined,
  stepId: string,
  outcome: TaskOutcome,
): CompletionResult {
  const { changes } = batch;
  const taskId = outcome.taskId;
  const step = batch.steps.get(run.id)?.get(stepId);
  if (step === undefined || step.status !== "RUNNING" || step.leaseToken !== outcome.leaseToken) {
    const reason = step === undefined ? "unknown step" : staleReason(step, outcome.leaseToken);
    // The server's own requeue of a task that has moved on (its result won a race, another replica lost it first): nothing happened.
    if (outcome.source === "server") return { taskId, accepted: false, reason };
    changes.event({
      run_id: run.id,
      type: "STALE_RESULT",
      step_id: stepId,
      ...(step ? { attempt: step.attempts } : {}),
      ...(outcome.workerId ? { worker_id: outcome.workerId } : {}),
      message: reason,
    });
    return { taskId, accepted: false, reason };
  }

  const active = !FINISHED_RUN_STATUSES.includes(run.status);
  if (run.status === "PENDING") {
    // A claim that found the run locked left it PENDING; a result proves it runs.
    changes.moveRun(run.id, "PENDING", "RUNNING");
    changes.event({ run_id: run.id, type: "RUN_STATUS", run_status: "RUNNING" });
    run.status = "RUNNING";
  }
  const token = String(outcome.leaseToken);
  /** For a move back to QUEUED: the step's action, which the `queued` signal names. */
  const named = (): { action?: string } => {
    const action = def && stepAction(def, stepId);
    return action === undefined ? {} : { action };
  };
  const workerId = outcome.workerId ?? step.workerId;
  const base = {
    run_id: run.id,
    type: "STEP_STATUS" as const,
    step_id: stepId,
    attempt: step.attempts,
    ...(workerId ? { worker_id: workerId } : {}),
  };
  if (outcome.outcome.kind === "sleep" || outcome.outcome.kind === "requeue") {
    const sleep = outcome.outcome.kind === "sleep" ? outcome.outcome.until.toISOString() : undefined;
    changes.moveStep(run.id, stepId, "RUNNING", "QUEUED", {
      token,
      giveBack: true,
      ...named(),
      ...(sleep ? { timerAt: sleep } : {}),
    });
    const message = sleep
      ? `timer set: due at ${sleep}`
      : `requeued: ${(outcome.outcome as { reason: string }).reason}`;
    changes.event({ ...base, step_status: "QUEUED", message });
    Object.assign(step, { status: "QUEUED", leaseToken: undefined });
    return { taskId, accepted: true };
  }
  const settled = settleOutcome(outcome);

  if ("output" in settled) {
    changes.moveStep(run.id, stepId, "RUNNING", "SUCCEEDED", { token, output: box(settled.output), errorClear: true });
    changes.event({ ...base, step_status: "SUCCEEDED" });
    Object.assign(step, { status: "SUCCEEDED", output: settled.output, error: undefined, leaseToken: undefined });
  } else {
    const policy = def?.steps.find((s) => s.id === stepId)?.retry ?? DEFAULT_RETRY;
    const decision = settled.final
      ? { retry: false as const, reason: "the result cannot be stored" }
      : active
        ? decideRetry(policy, step.attempts, settled.error, batch.random())
        : { retry: false as const, reason: `the run is ${run.status}` };
    if (decision.retry) {
      changes.moveStep(run.id, stepId, "RUNNING", "QUEUED", {
        token,
        error: settled.error,
        delayMs: decision.delayMs,
        ...named(),
      });
      changes.event({
        ...base,
        step_status: "QUEUED",
        error: settled.error,
        message: `retry in ${decision.delayMs} ms`,
      });
      // A task its worker handed back (draining, no slot) has not failed: not a retry for the metrics.
      if (!RETURNED_ERROR_TYPES.includes(settled.error.type)) batch.retries.push(named().action);
      Object.assign(step, { status: "QUEUED", error: settled.error, leaseToken: undefined });
    } else {
      changes.moveStep(run.id, stepId, "RUNNING", "FAILED", { token, error: settled.error });
      changes.event({ ...base, step_status: "FAILED", error: settled.error, message: decision.reason });
      Object.assign(step, { status: "FAILED", error: settled.error, leaseToken: undefined });
    }
  }
  if (active) {
    const list = batch.changed.get(run.id) ?? [];
    list.push(stepId);
    batch.changed.set(run.id, list);
  }
  return { taskId, accepted: true };
}

function staleReason(step: StepRowState, token: bigint): string {
  const current = step.leaseToken === undefined ? "none" : String(step.leaseToken);
  return `stale result: lease token ${token} is not current (step ${step.status}, attempt ${step.attempts}, current token ${current})`;
}

/** The outcome as something storable: an output, or an error (`final`: not to be retried). */
function settleOutcome(outcome: TaskOutcome): { output: JsonValue } | { error: Failure; final: boolean } {
  if (outcome.outcome.kind === "sleep" || outcome.outcome.kind === "requeue")
    throw new Error(`${outcome.outcome.kind} outcomes are recorded before settling`);
  if (outcome.outcome.kind === "output") {
    const bad = nulFailure(outcome.outcome.output, "output", INVALID_OUTPUT);
    return bad ? { error: bad, final: true } : { output: outcome.outcome.output };
  }
  const { message, type, retryable } = outcome.outcome.error;
  const error: Failure = { message: String(message), type: String(type) };
  if (retryable !== undefined) error.retryable = retryable;
  const bad = nulFailure(error as unknown as JsonValue, "error", INVALID_OUTPUT);
  return bad ? { error: bad, final: true } : { error, final: false };
}

/** Plans each active run that changed, once, and records the plan. */
function planRuns(batch: Batch, defs: DefCache): void {
  for (const [runId, changed] of batch.changed) {
    const run = batch.runs.get(runId)!;
    const def = defs.get(run.workflowId, run.workflowVersion);
    if (def === undefined)
      throw new Error(`run ${runId}: workflow ${run.workflowId} v${run.workflowVersion} not found`);
    const state = runState(run, run.status, batch.steps.get(runId) ?? new Map());
    applyPlan(
      batch.changes,
      def,
      runId,
      run.status,
      settlePlan(def, state, planRun(def, state, changed), batch.maxPayloadBytes),
    );
  }
}
