/**
 * The changes one transaction makes to steps, runs and history, gathered in
 * memory and written by one statement (`write-changes.ts`).
 *
 * The changes are the engine's decisions (`src/engine/moves.ts`): each move
 * was checked against the transition table when the engine made it, and
 * carries its history event, which is recorded with it. Several moves of one
 * row in one transaction (a RetryRun reset `FAILED → PENDING` then `PENDING →
 * QUEUED`; a run `PENDING → RUNNING → SUCCEEDED`) merge into one patch that
 * keeps the first source status as its SQL guard: an UPDATE ... FROM must
 * match each row once.
 */
import {
  FINISHED_RUN_STATUSES,
  type Failure,
  type JsonValue,
  type RunStatus,
  type StepStatus,
} from "../../engine/model.js";
import type { Decision, HistoryEvent, RunMove, StepMove } from "../../engine/moves.js";
import { box, type Box } from "../db/json-rows.js";
import { packJson } from "../db/packed-json.js";
import type { RunEventRecord, StoreSignal } from "../types.js";
import { storedInput } from "./stored-input.js";

/** One row of the step UPDATE (snake_case: it travels as jsonb to `jsonb_to_recordset`). */
export interface StepPatchRow {
  run_id: string;
  step_id: string;
  from: StepStatus;
  to: StepStatus;
  token?: string;
  output?: Box;
  output_clear?: boolean;
  error?: Failure;
  error_clear?: boolean;
  input?: Box;
  /** The input is stored without the run input (`stored-input.ts`). */
  merge_run_input?: boolean;
  input_clear?: boolean;
  delay_ms?: number;
  reset?: boolean;
  timer_at?: string;
  give_back?: boolean;
}

/** One row of the run UPDATE: the final output and error are given in full. */
export interface RunPatchRow {
  id: string;
  from: RunStatus;
  to: RunStatus;
  output?: Box;
  error?: Failure;
  /** RetryRun: the run timeout starts again, `deadline_at` = now() + this. */
  deadline_ms?: number;
  /** A finishing run's input, deflated (base64): it replaces the jsonb `input` (`packed-json.ts`). */
  input_z?: string;
}

/** One history event: the engine's `HistoryEvent`, of any type the history holds (triggers write theirs too). */
export type EventRow = Omit<HistoryEvent, "type"> & { type: RunEventRecord["type"] };

/**
 * @example
 * ```ts
 * const changes = new ChangeSet();
 * changes.add(decideResult(loaded, def, "charge", outcome, Math.random));
 * await writeChanges(trx, changes, payloads);
 * ```
 */
export class ChangeSet {
  readonly steps = new Map<string, StepPatchRow>();
  readonly runs = new Map<string, RunPatchRow>();
  readonly events: EventRow[] = [];
  /** The action of each step move to QUEUED (undefined: not given), for the `queued` signal. */
  private readonly queuedActions: (string | undefined)[] = [];

  /** @param runInput the input object of a run the decisions were made from (a default step input repeats it). */
  constructor(private readonly runInput: (runId: string) => JsonValue | undefined = () => undefined) {}

  /** Records a decision of the engine: its moves with their events, in order, then its other events. */
  add(decision: Pick<Decision, "moves" | "events">): void {
    for (const move of decision.moves) {
      if (move.kind === "step") this.stepMove(move);
      else this.runMove(move);
      this.events.push(move.event);
    }
    for (const event of decision.events) this.events.push(event);
  }

  /** Merges a step move into the step's patch row. */
  private stepMove(move: StepMove): void {
    const { runId, stepId, from, to, patch: p } = move;
    const key = `${runId}/${stepId}`;
    const earlier = this.steps.get(key);
    if (earlier !== undefined && earlier.to !== from) {
      throw new Error(`step ${key}: move from ${from} recorded after a move to ${earlier.to}`);
    }
    const row: StepPatchRow = earlier ?? { run_id: runId, step_id: stepId, from, to };
    row.to = to;
    if (p.token !== undefined) row.token = String(p.token);
    if (p.output !== undefined) row.output = box(p.output);
    if (p.outputClear) row.output_clear = true;
    if (p.error !== undefined) row.error = p.error;
    if (p.errorClear) row.error_clear = true;
    if (p.input !== undefined) {
      const stored = storedInput(p.input, this.runInput(runId));
      row.input = stored.input;
      if (stored.merge_run_input) row.merge_run_input = true;
      else delete row.merge_run_input;
    }
    if (p.inputClear) row.input_clear = true;
    if (p.delayMs !== undefined) row.delay_ms = p.delayMs;
    if (p.reset) row.reset = true;
    if (p.timerAt !== undefined) row.timer_at = p.timerAt;
    if (p.giveBack) row.give_back = true;
    if (to === "QUEUED") this.queuedActions.push(p.action);
    this.steps.set(key, row);
  }

  /** Merges a run move into the run's patch row. */
  private runMove(move: RunMove): void {
    const { runId, from, to, patch } = move;
    const earlier = this.runs.get(runId);
    if (earlier !== undefined && earlier.to !== from) {
      throw new Error(`run ${runId}: move from ${from} recorded after a move to ${earlier.to}`);
    }
    const row: RunPatchRow = { id: runId, from: earlier?.from ?? from, to };
    if (patch.output !== undefined) row.output = box(patch.output);
    if (patch.error !== undefined) row.error = patch.error;
    const deadlineMs = patch.deadlineMs ?? earlier?.deadline_ms;
    if (deadlineMs !== undefined) row.deadline_ms = deadlineMs;
    if (FINISHED_RUN_STATUSES.includes(to)) {
      const packed = packJson(this.runInput(runId));
      if (packed !== undefined) row.input_z = packed;
    }
    this.runs.set(runId, row);
  }

  /** Runs with any change or event, in first-touched order. */
  touchedRuns(): string[] {
    const ids = new Set<string>();
    for (const e of this.events) ids.add(e.run_id);
    for (const r of this.runs.keys()) ids.add(r);
    for (const s of this.steps.values()) ids.add(s.run_id);
    return [...ids];
  }

  /** Whether any step becomes QUEUED (dispatchers should look for work). */
  queuesSteps(): boolean {
    for (const s of this.steps.values()) if (s.to === "QUEUED") return true;
    return false;
  }

  /**
   * The signals these changes call for: `queued` (with the actions of the
   * steps, when every one was named) when steps became QUEUED, `run` for
   * every touched run.
   */
  signals(): StoreSignal[] {
    const signals: StoreSignal[] = [];
    if (this.queuesSteps()) signals.push(queuedSignal(this.queuedActions));
    const runIds = this.touchedRuns();
    if (runIds.length > 0) signals.push({ kind: "run", runIds });
    return signals;
  }
}

/**
 * The `queued` signal for steps of these actions: it names them, unless one
 * is unknown (undefined), and then it names none and wakes every dispatcher.
 *
 * @example
 * ```ts
 * queuedSignal(["email.send", "http.request", "email.send"]); // { kind: "queued", actions: ["email.send", "http.request"] }
 * ```
 */
export function queuedSignal(actions: Iterable<string | undefined>): StoreSignal {
  const named = new Set<string>();
  for (const a of actions) {
    if (a === undefined) return { kind: "queued" };
    named.add(a);
  }
  return { kind: "queued", actions: [...named].sort() };
}
