/**
 * The loaded state of a run as the decision functions read it (the locked
 * run row and its step rows), and the one function that moves it forward:
 * {@link applyToState} turns a decision's moves into the rows they write, so
 * a later decision of the same transaction (a second result for the same run
 * in one batch, the planner after the results) reads what the first one
 * decided, with no copy of the move kept anywhere else.
 */
import type { Failure, JsonValue, RunStatus, StepStatus } from "./model.js";
import type { Move } from "./moves.js";
import type { RunState, StepState } from "./plan-types.js";

/**
 * A run row as the decisions need it.
 *
 * @example
 * const run: LiveRun = { id, namespace: "default", workflowId: "billing", workflowVersion: 3, status: "RUNNING", input: {} };
 */
export interface LiveRun {
  id: string;
  namespace: string;
  workflowId: string;
  workflowVersion: number;
  status: RunStatus;
  input: JsonValue;
}

/**
 * A step row as the decisions need it (no `input`: it may be large and is not planned on).
 *
 * @example
 * const step: LiveStep = { stepId: "charge", status: "RUNNING", attempts: 1, leaseToken: 42n, workerId: "w1" };
 */
export interface LiveStep {
  stepId: string;
  status: StepStatus;
  attempts: number;
  output?: JsonValue;
  error?: Failure;
  /** Set only while the step is RUNNING: no other token is current. */
  leaseToken?: bigint;
  workerId?: string;
}

/**
 * A run and all its steps, by step id.
 *
 * @example
 * const loaded: LoadedRun = { run, steps: new Map([["charge", step]]) };
 */
export interface LoadedRun {
  run: LiveRun;
  steps: Map<string, LiveStep>;
}

/**
 * Moves `loaded` to the state the decision's moves write (moves of other
 * runs are ignored): statuses, attempts (a reset to 0, a give-back minus
 * one), outputs, errors; a step that is not RUNNING has no current lease
 * token, and a reset forgets its worker.
 *
 * @example
 * const decision = decideResult(loaded, def, "charge", outcome, Math.random);
 * applyToState(loaded, decision);
 * loaded.steps.get("charge")!.status; // "SUCCEEDED"
 */
export function applyToState(loaded: LoadedRun, decision: { readonly moves: readonly Move[] }): void {
  for (const move of decision.moves) {
    if (move.runId !== loaded.run.id) continue;
    if (move.kind === "run") {
      loaded.run.status = move.to;
      continue;
    }
    let step = loaded.steps.get(move.stepId);
    if (step === undefined)
      loaded.steps.set(move.stepId, (step = { stepId: move.stepId, status: move.to, attempts: 0 }));
    const p = move.patch;
    step.status = move.to;
    if (p.reset) step.attempts = 0;
    else if (p.giveBack) step.attempts = Math.max(step.attempts - 1, 0);
    if (p.output !== undefined) step.output = p.output;
    else if (p.outputClear) step.output = undefined;
    if (p.error !== undefined) step.error = p.error;
    else if (p.errorClear) step.error = undefined;
    if (move.to !== "RUNNING") step.leaseToken = undefined;
    if (p.reset) step.workerId = undefined;
  }
}

/**
 * The planner's view of a loaded run.
 *
 * @example
 * const plan = planRun(def, toRunState(loaded), ["charge"]);
 */
export function toRunState(loaded: LoadedRun): RunState {
  const { run } = loaded;
  const states: Record<string, StepState> = {};
  for (const [id, s] of loaded.steps) {
    const state: StepState = { status: s.status, attempts: s.attempts };
    if (s.output !== undefined) state.output = s.output;
    if (s.error !== undefined) state.error = s.error;
    states[id] = state;
  }
  return {
    runId: run.id,
    workflowId: run.workflowId,
    workflowVersion: run.workflowVersion,
    status: run.status,
    input: run.input,
    steps: states,
  };
}

/**
 * A copy of a loaded run that decisions may move without touching the original.
 *
 * @example
 * const after = copyLoaded(loaded);
 * applyToState(after, resets);
 */
export function copyLoaded(loaded: LoadedRun): LoadedRun {
  const steps = new Map<string, LiveStep>();
  for (const [id, s] of loaded.steps) steps.set(id, { ...s });
  return { run: { ...loaded.run }, steps };
}
