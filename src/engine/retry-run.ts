/**
 * RetryRun: re-opening a finished, unsuccessful run. Its FAILED, CANCELLED
 * and SKIPPED steps go back to PENDING (attempts 0; output, error, input,
 * worker and lease cleared); SUCCEEDED steps keep their outputs. The run
 * goes back to RUNNING with its workflow timeout started again, and the
 * planner (seeing the kept outputs) decides at once what to queue, skip or
 * fail — which may finish the run again in the same transaction.
 */
import { applyToState, copyLoaded, type LoadedRun } from "./live-state.js";
import type { RunStatus, WorkflowDef } from "./model.js";
import { movesOnly, runMove, stepMove, type Decision, type Move, type StepPatch } from "./moves.js";
import { planNext } from "./next-moves.js";
import { canMoveStep } from "./transition.js";

/** Why a run cannot be retried. */
export type RetryRefusal = "NOT_FINISHED" | "SUCCEEDED";

const RESET: StepPatch = Object.freeze({ reset: true, outputClear: true, errorClear: true, inputClear: true });

/**
 * Why a run in `status` cannot be retried, or undefined when it can
 * (FAILED, CANCELLED, TIMED_OUT).
 *
 * @example
 * retryRefusal("RUNNING"); // "NOT_FINISHED"
 * retryRefusal("FAILED"); // undefined
 */
export function retryRefusal(status: RunStatus): RetryRefusal | undefined {
  if (status === "SUCCEEDED") return "SUCCEEDED";
  if (status === "PENDING" || status === "RUNNING") return "NOT_FINISHED";
  return undefined;
}

/**
 * The moves of retrying `loaded` (a run of `def` that {@link retryRefusal}
 * accepts): the run back to RUNNING, the resets, then the plan of the reset
 * run (every step examined: steps a timeout left PENDING are decided too).
 * `loaded` itself is not changed.
 *
 * @throws IllegalTransitionError when the run cannot be retried.
 * @example
 * ```ts
 * changes.add(planRetryRun(def, loaded, maxPayloadBytes));
 * ```
 */
export function planRetryRun(def: WorkflowDef, loaded: LoadedRun, maxPayloadBytes?: number): Decision {
  const { run } = loaded;
  // The workflow timeout starts again: a TIMED_OUT run would otherwise time out at once.
  const patch = def.timeoutMs ? { deadlineMs: def.timeoutMs } : undefined;
  const moves: Move[] = [runMove(run.id, run.status, "RUNNING", patch, `retried after ${run.status}`, "retry")];
  for (const step of loaded.steps.values()) {
    if (!canMoveStep(step.status, "PENDING", "retry")) continue;
    moves.push(stepMove(run.id, step.stepId, step.status, "PENDING", RESET, { message: "retried" }, "retry"));
  }
  const after = copyLoaded(loaded);
  applyToState(after, { moves });
  for (const move of planNext(def, after, undefined, maxPayloadBytes).moves) moves.push(move);
  return movesOnly(moves);
}
