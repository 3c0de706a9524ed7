/**
 * The one owner of legal state moves for steps and runs. Everything that
 * changes a status (the store's `WHERE status IN (…)` guards included) asks
 * here rather than comparing status strings itself.
 *
 * Ordinary moves live in {@link LEGAL_STEP_MOVES} / {@link LEGAL_RUN_MOVES}.
 * `RetryRun` additionally unlocks {@link RETRY_STEP_MOVES} /
 * {@link RETRY_RUN_MOVES}: those are legal only with the `"retry"` cause.
 * Staying in the same status is never a move (callers treat a repeat as a
 * no-op before asking). `SUCCEEDED` is final for steps and runs alike.
 */
import { RunStatus, StepStatus } from "./model.js";

/**
 * Why a move happens. `"retry"` is `RetryRun` re-opening a finished run; it
 * unlocks the moves out of finished statuses. Omitted = an ordinary move.
 * (A step retried by its own retry policy is an ordinary `RUNNING → QUEUED`.)
 *
 * @example
 * const cause: MoveCause = "retry";
 * canMoveRun("FAILED", "RUNNING", cause); // true
 */
export type MoveCause = "retry";

const S = StepStatus;
const R = RunStatus;

/**
 * Ordinary step moves, by source status:
 * - `PENDING → QUEUED | SKIPPED | CANCELLED | FAILED` (FAILED when its `when`
 *   or input template cannot be evaluated);
 * - `QUEUED → RUNNING | CANCELLED`;
 * - `RUNNING → SUCCEEDED | FAILED | QUEUED | CANCELLED` (QUEUED: a retry, a
 *   lost lease or a timeout with attempts left);
 * - `SUCCEEDED`, `FAILED`, `SKIPPED`, `CANCELLED` → nothing.
 *
 * @example
 * // store guard for "start a task":
 * const from = StepStatus.QUEUED;
 * LEGAL_STEP_MOVES[from].includes(StepStatus.RUNNING); // true
 */
export const LEGAL_STEP_MOVES: Readonly<Record<StepStatus, readonly StepStatus[]>> = {
  PENDING: [S.QUEUED, S.SKIPPED, S.CANCELLED, S.FAILED],
  QUEUED: [S.RUNNING, S.CANCELLED],
  RUNNING: [S.SUCCEEDED, S.FAILED, S.QUEUED, S.CANCELLED],
  SUCCEEDED: [],
  FAILED: [],
  SKIPPED: [],
  CANCELLED: [],
};

/**
 * Step moves that only `RetryRun` (cause `"retry"`) may make: a failed,
 * cancelled or skipped step goes back to `PENDING`. Succeeded steps keep
 * their output and are never re-run.
 *
 * @example
 * RETRY_STEP_MOVES.FAILED; // ["PENDING"]
 */
export const RETRY_STEP_MOVES: Readonly<Record<StepStatus, readonly StepStatus[]>> = {
  PENDING: [],
  QUEUED: [],
  RUNNING: [],
  SUCCEEDED: [],
  FAILED: [S.PENDING],
  SKIPPED: [S.PENDING],
  CANCELLED: [S.PENDING],
};

/**
 * Ordinary run moves: `PENDING → RUNNING | SUCCEEDED | FAILED | CANCELLED |
 * TIMED_OUT` (a run can settle in its first transaction, e.g. when every step
 * is skipped); `RUNNING → SUCCEEDED | FAILED | CANCELLED | TIMED_OUT`;
 * finished runs → nothing.
 *
 * @example
 * LEGAL_RUN_MOVES.RUNNING.includes(RunStatus.TIMED_OUT); // true
 */
export const LEGAL_RUN_MOVES: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  PENDING: [R.RUNNING, R.SUCCEEDED, R.FAILED, R.CANCELLED, R.TIMED_OUT],
  RUNNING: [R.SUCCEEDED, R.FAILED, R.CANCELLED, R.TIMED_OUT],
  SUCCEEDED: [],
  FAILED: [],
  CANCELLED: [],
  TIMED_OUT: [],
};

/**
 * Run moves that only `RetryRun` (cause `"retry"`) may make: a failed,
 * cancelled or timed-out run goes back to `RUNNING`.
 *
 * @example
 * RETRY_RUN_MOVES.TIMED_OUT; // ["RUNNING"]
 */
export const RETRY_RUN_MOVES: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  PENDING: [],
  RUNNING: [],
  SUCCEEDED: [],
  FAILED: [R.RUNNING],
  CANCELLED: [R.RUNNING],
  TIMED_OUT: [R.RUNNING],
};

/**
 * Whether a step may move from `from` to `to` (for the given cause).
 *
 * @example
 * canMoveStep("RUNNING", "QUEUED"); // true (retry with attempts left)
 * canMoveStep("FAILED", "PENDING"); // false
 * canMoveStep("FAILED", "PENDING", "retry"); // true (RetryRun)
 * canMoveStep("SUCCEEDED", "RUNNING", "retry"); // false, ever
 */
export function canMoveStep(from: StepStatus, to: StepStatus, cause?: MoveCause): boolean {
  if (LEGAL_STEP_MOVES[from]?.includes(to)) return true;
  return cause === "retry" && RETRY_STEP_MOVES[from]?.includes(to) === true;
}

/**
 * Whether a run may move from `from` to `to` (for the given cause).
 *
 * @example
 * canMoveRun("PENDING", "SUCCEEDED"); // true
 * canMoveRun("FAILED", "RUNNING", "retry"); // true (RetryRun)
 * canMoveRun("SUCCEEDED", "RUNNING", "retry"); // false
 */
export function canMoveRun(from: RunStatus, to: RunStatus, cause?: MoveCause): boolean {
  if (LEGAL_RUN_MOVES[from]?.includes(to)) return true;
  return cause === "retry" && RETRY_RUN_MOVES[from]?.includes(to) === true;
}

function sources<T extends string>(
  legal: Readonly<Record<T, readonly T[]>>,
  retry: Readonly<Record<T, readonly T[]>>,
  to: T,
  cause: MoveCause | undefined,
): T[] {
  return (Object.keys(legal) as T[]).filter(
    (from) => legal[from].includes(to) || (cause === "retry" && retry[from].includes(to)),
  );
}

/**
 * Every status a step may come from to reach `to`: the list for a store's
 * `WHERE status IN (…)` guard.
 *
 * @example
 * stepSourcesFor("CANCELLED"); // ["PENDING", "QUEUED", "RUNNING"]
 * stepSourcesFor("PENDING", "retry"); // ["FAILED", "SKIPPED", "CANCELLED"]
 */
export function stepSourcesFor(to: StepStatus, cause?: MoveCause): StepStatus[] {
  return sources(LEGAL_STEP_MOVES, RETRY_STEP_MOVES, to, cause);
}

/**
 * Every status a run may come from to reach `to` (see {@link stepSourcesFor}).
 *
 * @example
 * runSourcesFor("TIMED_OUT"); // ["PENDING", "RUNNING"]
 */
export function runSourcesFor(to: RunStatus, cause?: MoveCause): RunStatus[] {
  return sources(LEGAL_RUN_MOVES, RETRY_RUN_MOVES, to, cause);
}

/**
 * Thrown by {@link assertStepMove} / {@link assertRunMove} for a move the
 * state machine does not allow.
 *
 * @example
 * try { assertStepMove("SUCCEEDED", "RUNNING"); }
 * catch (e) { if (e instanceof IllegalTransitionError) console.log(e.kind, e.from, e.to); }
 */
export class IllegalTransitionError extends Error {
  override name = "IllegalTransitionError";
  constructor(
    readonly kind: "step" | "run",
    readonly from: string,
    readonly to: string,
    readonly moveCause?: MoveCause,
  ) {
    super(`illegal ${kind} move ${from} -> ${to}${moveCause ? ` (cause: ${moveCause})` : ""}`);
  }
}

/**
 * Throws {@link IllegalTransitionError} unless the step move is legal.
 *
 * @example
 * assertStepMove(step.status, "RUNNING"); // before handing out a task
 */
export function assertStepMove(from: StepStatus, to: StepStatus, cause?: MoveCause): void {
  if (!canMoveStep(from, to, cause)) throw new IllegalTransitionError("step", from, to, cause);
}

/**
 * Throws {@link IllegalTransitionError} unless the run move is legal.
 *
 * @example
 * assertRunMove(run.status, "RUNNING", "retry"); // in RetryRun
 */
export function assertRunMove(from: RunStatus, to: RunStatus, cause?: MoveCause): void {
  if (!canMoveRun(from, to, cause)) throw new IllegalTransitionError("run", from, to, cause);
}
