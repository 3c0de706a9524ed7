/**
 * What a task's result does to its step and run. Workers' results arrive
 * here, and so do the server's own verdicts on a task: a lost lease and a
 * step timeout are error results (`LEASE_LOST`, `TIMEOUT`, retryable) with
 * `source: "server"`, so they go through the step's retry policy like any
 * error.
 *
 * The fence: a result counts only while its step is RUNNING with the
 * result's lease token. Anything else is stale: refused, with a
 * `STALE_RESULT` history event for a worker's result and nothing at all for
 * the server's (its verdict lost a race to a result, or another replica
 * decided first).
 */
import type { LoadedRun, LiveStep } from "./live-state.js";
import {
  DEFAULT_RETRY,
  FINISHED_RUN_STATUSES,
  type Failure,
  type JsonValue,
  type RetryPolicy,
  type WorkflowDef,
} from "./model.js";
import {
  NONE,
  runMove,
  stepMove,
  type Decision,
  type HistoryEvent,
  type Move,
  type MoveNote,
  type StepMove,
  type StepPatch,
} from "./moves.js";
import { planGraph, stepAction } from "./plan-graph.js";
import { decideRetry, RETURNED_ERROR_TYPES, type RetryDecision } from "./retry.js";
import { INVALID_OUTPUT, nulFailure } from "./storable.js";

/**
 * A task's result as the engine reads it.
 *
 * @example
 * const r: TaskResult = { taskId, leaseToken: 42n, workerId: "w1", outcome: { kind: "output", output: { ok: true } } };
 */
export interface TaskResult {
  taskId: string;
  leaseToken: bigint;
  workerId?: string;
  /** "server": the control plane's own verdict (a lost lease, a timeout); stale ones leave no trace. */
  source?: "worker" | "server";
  outcome:
    | { kind: "output"; output: JsonValue }
    | { kind: "error"; error: Failure }
    /** Built-ins only: back to QUEUED until `until` (a durable timer), no attempt used up. */
    | { kind: "sleep"; until: Date }
    /** Built-ins only: back to QUEUED now, no attempt used up. */
    | { kind: "requeue"; reason: string };
}

/** The answer to the result's sender. */
export interface ResultAnswer {
  taskId: string;
  accepted: boolean;
  reason?: string;
}

/**
 * A result's decision: its moves (a PENDING run proven RUNNING, then the
 * step's move) or a STALE_RESULT event, the answer, and whether the run is
 * to be planned again (the step changed in an unfinished run).
 *
 * @example
 * if (decision.replan) hints.push(stepId);
 */
export interface ResultDecision extends Decision {
  answer: ResultAnswer;
  replan: boolean;
}

const NO_RETRY_FINAL: RetryDecision = { retry: false, reason: "the result cannot be stored" };

/**
 * Decides what the result of the task of step `stepId` in `loaded` does.
 * `random` (in [0, 1)) is drawn only for an error the retry policy decides.
 *
 * @example
 * ```ts
 * const decision = decideResult(loaded, def, "charge", outcome, Math.random);
 * changes.add(decision);
 * applyToState(loaded, decision);
 * return decision.answer;
 * ```
 */
export function decideResult(
  loaded: LoadedRun,
  def: WorkflowDef | undefined,
  stepId: string,
  result: TaskResult,
  random: () => number,
): ResultDecision {
  const { run } = loaded;
  const step = loaded.steps.get(stepId);
  if (step === undefined || step.status !== "RUNNING" || step.leaseToken !== result.leaseToken) {
    return stale(run.id, stepId, step, result);
  }
  const moves: Move[] = [];
  const active = !FINISHED_RUN_STATUSES.includes(run.status);
  // A claim that found the run locked left it PENDING; a result proves it runs.
  if (run.status === "PENDING") moves.push(runMove(run.id, "PENDING", "RUNNING"));
  const note: MoveNote = { attempt: step.attempts, workerId: result.workerId ?? step.workerId, message: undefined };
  const token = result.leaseToken;
  const outcome = result.outcome;
  let failure: Failure | undefined;
  let final = false;
  if (outcome.kind === "sleep" || outcome.kind === "requeue") {
    moves.push(parkMove(run.id, stepId, def, token, outcome, note));
  } else if (outcome.kind === "output") {
    failure = nulFailure(outcome.output, "output", INVALID_OUTPUT);
    final = failure !== undefined;
    if (!final) {
      const patch: StepPatch = { token, output: outcome.output, errorClear: true };
      moves.push(stepMove(run.id, stepId, "RUNNING", "SUCCEEDED", patch, note));
    }
  } else {
    const error = toFailure(outcome.error);
    const bad = nulFailure(error as unknown as JsonValue, "error", INVALID_OUTPUT);
    final = bad !== undefined;
    failure = bad ?? error;
  }
  let retries: readonly (string | undefined)[] = NONE;
  if (failure !== undefined) {
    const decision: RetryDecision = final
      ? NO_RETRY_FINAL
      : active
        ? decideRetry(policyOf(def, stepId), step.attempts, failure, random())
        : { retry: false, reason: `the run is ${run.status}` };
    const move = failureMove(run.id, stepId, def, token, failure, decision, note);
    moves.push(move);
    // A task its worker handed back (draining, no slot) has not failed: not a retry for the metrics.
    if (decision.retry && !RETURNED_ERROR_TYPES.includes(failure.type)) retries = [move.patch.action];
  }
  const answer: ResultAnswer = { taskId: result.taskId, accepted: true };
  return { moves, events: NONE, retries, cancel: NONE, answer, replan: active };
}

/** The refusal of a result whose step is not RUNNING with its token. */
function stale(runId: string, stepId: string, step: LiveStep | undefined, result: TaskResult): ResultDecision {
  const reason = step === undefined ? "unknown step" : staleReason(step, result.leaseToken);
  const answer: ResultAnswer = { taskId: result.taskId, accepted: false, reason };
  if (result.source === "server")
    return { moves: NONE, events: NONE, retries: NONE, cancel: NONE, answer, replan: false };
  const event: HistoryEvent = { run_id: runId, type: "STALE_RESULT", step_id: stepId };
  if (step !== undefined) event.attempt = step.attempts;
  if (result.workerId) event.worker_id = result.workerId;
  event.message = reason;
  return { moves: NONE, events: [event], retries: NONE, cancel: NONE, answer, replan: false };
}

function staleReason(step: LiveStep, token: bigint): string {
  const current = step.leaseToken === undefined ? "none" : String(step.leaseToken);
  return `stale result: lease token ${token} is not current (step ${step.status}, attempt ${step.attempts}, current token ${current})`;
}

/** A built-in's sleep or requeue: back to QUEUED, the attempt handed back. */
function parkMove(
  runId: string,
  stepId: string,
  def: WorkflowDef | undefined,
  token: bigint,
  outcome: { kind: "sleep"; until: Date } | { kind: "requeue"; reason: string },
  note: MoveNote,
): StepMove {
  const patch: StepPatch = { token, giveBack: true };
  setAction(patch, def, stepId);
  if (outcome.kind === "sleep") {
    patch.timerAt = outcome.until.toISOString();
    note.message = `timer set: due at ${patch.timerAt}`;
  } else {
    note.message = `requeued: ${outcome.reason}`;
  }
  return stepMove(runId, stepId, "RUNNING", "QUEUED", patch, note);
}

/** The step's move after a failed attempt: back to QUEUED after the retry delay, or FAILED. */
function failureMove(
  runId: string,
  stepId: string,
  def: WorkflowDef | undefined,
  token: bigint,
  error: Failure,
  decision: RetryDecision,
  note: MoveNote,
): StepMove {
  if (!decision.retry) {
    note.message = decision.reason;
    return stepMove(runId, stepId, "RUNNING", "FAILED", { token, error }, note);
  }
  note.message = `retry in ${decision.delayMs} ms`;
  const patch: StepPatch = { token, error, delayMs: decision.delayMs };
  setAction(patch, def, stepId);
  return stepMove(runId, stepId, "RUNNING", "QUEUED", patch, note);
}

/** A worker's error as a Failure of its own (strings forced, `retryable` only when given). */
function toFailure(reported: Failure): Failure {
  const { message, type, retryable } = reported;
  const error: Failure = { message: String(message), type: String(type) };
  if (retryable !== undefined) error.retryable = retryable;
  return error;
}

/** For a move back to QUEUED: the step's action, which the `queued` signal names. */
function setAction(patch: StepPatch, def: WorkflowDef | undefined, stepId: string): void {
  const action = def && stepAction(def, stepId);
  if (action !== undefined) patch.action = action;
}

/** The step's retry policy (the default for an unknown definition or step). */
function policyOf(def: WorkflowDef | undefined, stepId: string): RetryPolicy {
  if (def === undefined) return DEFAULT_RETRY;
  const graph = planGraph(def);
  const k = graph.rank.get(stepId);
  return (k === undefined ? undefined : graph.steps[k]!.retry) ?? DEFAULT_RETRY;
}
