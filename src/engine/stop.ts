/**
 * Stopping unfinished runs: CancelRun and the run timeout (the workflow's
 * `timeout`). Their PENDING, QUEUED and RUNNING steps → CANCELLED with the
 * stop's error, the runs → CANCELLED or TIMED_OUT. The tasks that were
 * RUNNING are named: their workers should get `cancel`, and their tokens are
 * stale from then on (the step is no longer RUNNING).
 */
import { FINISHED_RUN_STATUSES, type Failure, type StepStatus } from "./model.js";
import type { LiveRun } from "./live-state.js";
import { NONE, NO_NOTE, runMove, stepMove, type Decision, type Move, type StoppedTask } from "./moves.js";
import { scrubNul } from "./storable.js";
import { stepSourcesFor } from "./transition.js";
import { CANCELLED, TIMED_OUT } from "./failure-types.js";

/**
 * An unfinished step of a run being stopped, as the store locked it.
 *
 * @example
 * const s: OpenStep = { runId, stepId: "charge", status: "RUNNING", attempts: 1, leaseToken: 42n, workerId: "w1" };
 */
export interface OpenStep {
  runId: string;
  stepId: string;
  status: StepStatus;
  attempts: number;
  leaseToken?: bigint;
  workerId?: string;
}

/**
 * A stop's decision; `reason` goes with the `cancel` sent to the running tasks' workers.
 *
 * @example
 * if (d.cancel.length > 0) signal({ kind: "cancel", tasks: d.cancel, reason: d.reason });
 */
export interface StopDecision extends Decision {
  reason: string;
}

/**
 * The statuses of the steps a stop moves: the ones the store locks and hands to the engine.
 *
 * @example
 * db.selectFrom("step_runs").where("status", "in", OPEN_STEP_STATUSES);
 */
export const OPEN_STEP_STATUSES: readonly StepStatus[] = stepSourcesFor("CANCELLED");

/** The error of a run timeout, on the run and on each step it stops. */
export const RUN_TIMEOUT_ERROR: Failure = Object.freeze({ type: TIMED_OUT, message: "the run's timeout passed" });

/**
 * The runs a stop applies to: the unfinished ones (a finished run stays as it is).
 *
 * @example
 * const runs = stoppable(locked.values()); // then lock their open steps
 */
export function stoppable(runs: Iterable<LiveRun>): LiveRun[] {
  const open: LiveRun[] = [];
  for (const run of runs) if (!FINISHED_RUN_STATUSES.includes(run.status)) open.push(run);
  return open;
}

/**
 * CancelRun: the run and its open steps → CANCELLED, error
 * `{ type: "CANCELLED", message: reason }` (NULs scrubbed: the reason is a client's text).
 *
 * @example
 * const d = planCancel(run, openSteps, "cancelled by request");
 */
export function planCancel(run: LiveRun, steps: readonly OpenStep[], reason: string): StopDecision {
  return planStop([run], steps, "CANCELLED", { type: CANCELLED, message: scrubNul(reason) });
}

/**
 * The run timeout: the runs → TIMED_OUT, their open steps → CANCELLED, error {@link RUN_TIMEOUT_ERROR}.
 *
 * @example
 * const d = planRunTimeouts(runs, openSteps);
 */
export function planRunTimeouts(runs: readonly LiveRun[], steps: readonly OpenStep[]): StopDecision {
  return planStop(runs, steps, "TIMED_OUT", RUN_TIMEOUT_ERROR);
}

/**
 * Stops `runs` (all unfinished) and `steps` (their open steps): the step
 * moves first, each with the attempt and worker of a step that was RUNNING,
 * then the run moves.
 *
 * @throws IllegalTransitionError for a step or run that cannot be stopped.
 * @example
 * const d = planStop([run], steps, "CANCELLED", { type: "CANCELLED", message: "by request" });
 */
export function planStop(
  runs: readonly LiveRun[],
  steps: readonly OpenStep[],
  status: "CANCELLED" | "TIMED_OUT",
  error: Failure,
): StopDecision {
  const moves: Move[] = [];
  const cancel: StoppedTask[] = [];
  const patch = { error };
  for (const s of steps) {
    const wasRunning = s.status === "RUNNING";
    const note = wasRunning ? { attempt: s.attempts, workerId: s.workerId } : NO_NOTE;
    moves.push(stepMove(s.runId, s.stepId, s.status, "CANCELLED", patch, note));
    if (wasRunning && s.leaseToken !== undefined) {
      const task: StoppedTask = { runId: s.runId, stepId: s.stepId, leaseToken: s.leaseToken };
      if (s.workerId !== undefined) task.workerId = s.workerId;
      cancel.push(task);
    }
  }
  for (const run of runs) moves.push(runMove(run.id, run.status, status, { error }, error.message));
  return { moves, events: NONE, retries: NONE, cancel, reason: error.message };
}
