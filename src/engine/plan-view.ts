/**
 * A working copy of a run's step statuses for one planner call: the stored
 * state plus the decisions made so far in this call, and the CEL variables
 * every expression of the call sees.
 */
import type { Failure, JsonValue, StepStatus } from "./model.js";
import { FINISHED_STEP_STATUSES } from "./model.js";
import type { PlanGraph } from "./plan-graph.js";
import type { RunState, StepState } from "./plan-types.js";

/**
 * Whether a step status is finished (SUCCEEDED, FAILED, SKIPPED, CANCELLED).
 *
 * @example
 * isStepFinished("SKIPPED"); // true
 * isStepFinished("QUEUED"); // false
 */
export function isStepFinished(status: StepStatus): boolean {
  return FINISHED_STEP_STATUSES.includes(status);
}

/**
 * The run as the planner sees it mid-call. Steps are addressed by rank in
 * the {@link PlanGraph}. Decisions of the call only ever make steps QUEUED,
 * SKIPPED or FAILED, never SUCCEEDED, so the CEL variables stay valid for
 * the whole call and are built at most once (lazily: plans that evaluate
 * no expression never pay for them).
 *
 * @example
 * const view = new PlanView(planGraph(def), state);
 * view.decide(3, "SKIPPED");
 * view.status(3); // "SKIPPED"
 */
export class PlanView {
  private readonly decided = new Map<number, StepStatus>();
  private readonly errors = new Map<number, Failure>();
  private celVars: Record<string, JsonValue> | undefined;

  constructor(
    readonly graph: PlanGraph,
    readonly state: RunState,
  ) {}

  /** The stored state of step `k`, if any (own keys only). */
  stored(k: number): StepState | undefined {
    const id = this.graph.ids[k]!;
    return Object.hasOwn(this.state.steps, id) ? this.state.steps[id] : undefined;
  }

  /** The status of step `k`, this call's decisions included; PENDING when unknown. */
  status(k: number): StepStatus {
    return this.decided.get(k) ?? this.stored(k)?.status ?? "PENDING";
  }

  /** Records this call's decision for step `k` (with the error of a FAILED decision). */
  decide(k: number, status: StepStatus, error?: Failure): void {
    this.decided.set(k, status);
    if (error !== undefined) this.errors.set(k, error);
  }

  /** The error this call decided for step `k`, if it failed it. */
  decidedError(k: number): Failure | undefined {
    return this.errors.get(k);
  }

  /** The output of step `k` if it SUCCEEDED (null when it has none), else null. */
  outputOf(k: number): JsonValue {
    const s = this.stored(k);
    return s?.status === "SUCCEEDED" ? (s.output ?? null) : null;
  }

  /**
   * The variables of every CEL expression: `input` (the run input), `steps`
   * (id → output, for SUCCEEDED steps only: other steps have no key, so
   * `has(steps.b)` tells whether b succeeded, and `steps.b.x` on a skipped b
   * is an evaluation error rather than a silent null) and `run` (`id`,
   * `workflow_id`, `workflow_version`). A succeeded step without output
   * has the value null; note that `@bufbuild/cel` 0.6.1 reports a
   * null-valued key as absent to `has()` and `in`, so for such a step test
   * `steps.b == null` instead.
   */
  vars(): Record<string, JsonValue> {
    if (this.celVars !== undefined) return this.celVars;
    const outputs: [string, JsonValue][] = [];
    this.graph.ids.forEach((id, k) => {
      const s = this.stored(k);
      if (s?.status === "SUCCEEDED") outputs.push([id, s.output ?? null]);
    });
    const { runId, workflowId, workflowVersion, input } = this.state;
    this.celVars = {
      input,
      steps: Object.fromEntries(outputs),
      run: { id: runId, workflow_id: workflowId, workflow_version: workflowVersion },
    };
    return this.celVars;
  }
}
