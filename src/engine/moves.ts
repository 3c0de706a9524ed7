/**
 * Move records: the one way a decision of the engine moves a step or a run.
 * {@link stepMove} and {@link runMove} check the move against the transition
 * table (`transition.ts`) and build its history event in the same call, so a
 * move is never written without its event nor its event without the check.
 * The store writes a record as it is (`ChangeSet.add`); the in-memory state
 * of a batch follows from the same record (`applyToState` in `live-state.ts`).
 *
 * Plain data: JSON values are unboxed and lease tokens are bigints; the
 * store boxes and converts when it writes.
 */
import type { Failure, JsonValue, RunStatus, StepStatus } from "./model.js";
import { assertRunMove, assertStepMove, type MoveCause } from "./transition.js";

/**
 * One history event. Its fields are the `run_events` columns (hence the
 * snake case), so the store writes the object as it is, without a copy.
 *
 * @example
 * const stale: HistoryEvent = { run_id: runId, type: "STALE_RESULT", step_id: "charge", message: reason };
 */
export interface HistoryEvent {
  run_id: string;
  type: "RUN_STATUS" | "STEP_STATUS" | "STALE_RESULT";
  run_status?: RunStatus;
  step_id?: string;
  step_status?: StepStatus;
  attempt?: number;
  worker_id?: string;
  error?: Failure;
  message?: string;
}

/**
 * Column changes of a step move; absent = unchanged.
 *
 * @example
 * const patch: StepPatch = { token: 42n, output: { ok: true }, errorClear: true };
 */
export interface StepPatch {
  /** Guard: the row's lease token must equal this (a result's fencing check). */
  token?: bigint;
  output?: JsonValue;
  outputClear?: boolean;
  /** Also the error of the move's history event. */
  error?: Failure;
  errorClear?: boolean;
  input?: JsonValue;
  inputClear?: boolean;
  /** To QUEUED: not claimable for this many ms. */
  delayMs?: number;
  /** RetryRun: attempts back to 0; worker, lease and timestamps cleared. */
  reset?: boolean;
  /** A built-in's durable timer (ISO time): stored on the row and used as `not_before`. */
  timerAt?: string;
  /** Back to QUEUED without using up the attempt (attempts - 1): a parked or requeued built-in. */
  giveBack?: boolean;
  /** To QUEUED: the step's action, named by the `queued` signal (not written). Absent: the signal names no actions. */
  action?: string;
}

/**
 * Changes of a run move; absent = unchanged.
 *
 * @example
 * const patch: RunPatch = { output: { report: 1 } };
 */
export interface RunPatch {
  output?: JsonValue;
  /** Also the error of the move's history event. */
  error?: Failure;
  /** RetryRun: the run timeout starts again, the deadline is this many ms from the write. */
  deadlineMs?: number;
}

/** A checked step move with its history event. */
export interface StepMove {
  kind: "step";
  runId: string;
  stepId: string;
  from: StepStatus;
  to: StepStatus;
  patch: StepPatch;
  event: HistoryEvent;
}

/** A checked run move with its history event. */
export interface RunMove {
  kind: "run";
  runId: string;
  from: RunStatus;
  to: RunStatus;
  patch: RunPatch;
  event: HistoryEvent;
}

/**
 * A step or run move.
 *
 * @example
 * for (const m of moves) if (m.kind === "run") console.log(m.runId, m.from, "->", m.to);
 */
export type Move = StepMove | RunMove;

/**
 * What a step move's history event says besides the move: the attempt and
 * worker it concerns and a human message.
 *
 * @example
 * const note: MoveNote = { attempt: 2, workerId: "w1", message: "retry in 1000 ms" };
 */
export interface MoveNote {
  attempt?: number;
  workerId?: string;
  message?: string;
}

/** Shared empty values: moves without a patch or a note allocate none. */
export const NO_STEP_PATCH: StepPatch = Object.freeze({});
export const NO_RUN_PATCH: RunPatch = Object.freeze({});
export const NO_NOTE: MoveNote = Object.freeze({});

/**
 * A step move, checked against the transition table, with its `STEP_STATUS`
 * event (the patch's error, the note's attempt, worker and message).
 *
 * @throws IllegalTransitionError when the move is not legal for `cause`.
 * @example
 * const move = stepMove(runId, "charge", "RUNNING", "SUCCEEDED", { token: 42n, output: 7, errorClear: true }, { attempt: 1 });
 * move.event; // { run_id: runId, type: "STEP_STATUS", step_id: "charge", step_status: "SUCCEEDED", attempt: 1 }
 */
export function stepMove(
  runId: string,
  stepId: string,
  from: StepStatus,
  to: StepStatus,
  patch: StepPatch = NO_STEP_PATCH,
  note: MoveNote = NO_NOTE,
  cause?: MoveCause,
): StepMove {
  assertStepMove(from, to, cause);
  const event: HistoryEvent = { run_id: runId, type: "STEP_STATUS", step_id: stepId, step_status: to };
  if (note.attempt !== undefined) event.attempt = note.attempt;
  if (note.workerId) event.worker_id = note.workerId;
  if (patch.error !== undefined) event.error = patch.error;
  if (note.message !== undefined) event.message = note.message;
  return { kind: "step", runId, stepId, from, to, patch, event };
}

/**
 * A run move, checked against the transition table, with its `RUN_STATUS`
 * event (the patch's error and the message).
 *
 * @throws IllegalTransitionError when the move is not legal for `cause`.
 * @example
 * const move = runMove(runId, "RUNNING", "FAILED", { error }, undefined);
 * move.event; // { run_id: runId, type: "RUN_STATUS", run_status: "FAILED", error }
 */
export function runMove(
  runId: string,
  from: RunStatus,
  to: RunStatus,
  patch: RunPatch = NO_RUN_PATCH,
  message?: string,
  cause?: MoveCause,
): RunMove {
  assertRunMove(from, to, cause);
  const event: HistoryEvent = { run_id: runId, type: "RUN_STATUS", run_status: to };
  if (patch.error !== undefined) event.error = patch.error;
  if (message !== undefined) event.message = message;
  return { kind: "run", runId, from, to, patch, event };
}

/** A running task a decision stops: its worker should get `cancel`, its token is stale from then on. */
export interface StoppedTask {
  runId: string;
  stepId: string;
  leaseToken: bigint;
  workerId?: string;
}

/**
 * What a decision asks the store to write: the plan-like value every
 * decision function of the engine returns.
 *
 * @example
 * const d: Decision = { moves: [move], events: NONE, retries: NONE, cancel: NONE };
 */
export interface Decision {
  /** Step and run moves, each with its history event, in the order history records them. */
  readonly moves: readonly Move[];
  /** History events that move nothing (a stale result), recorded after the moves. */
  readonly events: readonly HistoryEvent[];
  /** The action of each step sent back to QUEUED for another attempt (for the metrics; undefined: unknown). */
  readonly retries: readonly (string | undefined)[];
  /** Running tasks whose workers should get `cancel`. */
  readonly cancel: readonly StoppedTask[];
}

/** The empty list every absent part of a {@link Decision} shares. */
export const NONE: readonly never[] = Object.freeze([]);

/**
 * A decision of moves only.
 *
 * @example
 * const d = movesOnly([runMove(runId, "RUNNING", "SUCCEEDED", { output })]);
 */
export function movesOnly(moves: readonly Move[]): Decision {
  return { moves, events: NONE, retries: NONE, cancel: NONE };
}
