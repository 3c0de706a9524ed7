/**
 * The planner's input and output shapes: a run's state in, a {@link Plan}
 * out. Import them from `./planner.js`.
 */
import type { Failure, JsonValue, RunStatus, StepStatus } from "./model.js";

/**
 * One step's state in a run, as the store holds it.
 *
 * @example
 * const a: StepState = { status: "SUCCEEDED", attempts: 1, output: { x: 1 } };
 */
export interface StepState {
  status: StepStatus;
  attempts: number;
  output?: JsonValue;
  error?: Failure;
}

/**
 * A run's state. `steps` is keyed by step id; a step missing from it counts
 * as `PENDING`, and keys that are not steps of the definition are ignored.
 *
 * @example
 * const state: RunState = {
 *   runId: "r1", workflowId: "billing", workflowVersion: 3, status: "RUNNING",
 *   input: { n: 1 }, steps: { a: { status: "SUCCEEDED", attempts: 1, output: 7 } },
 * };
 */
export interface RunState {
  runId: string;
  workflowId: string;
  workflowVersion: number;
  status: RunStatus;
  input: JsonValue;
  steps: Record<string, StepState>;
}

/**
 * The planner's decisions for one run, each list in topological order.
 *
 * @example
 * const plan: Plan = { queue: [{ stepId: "b", input: { input: 1, steps: { a: 2 } } }], skip: [], fail: [] };
 */
export interface Plan {
  /** PENDING steps whose trigger rule holds and `when` is true: queue them with their rendered input. */
  queue: { stepId: string; input: JsonValue }[];
  /**
   * PENDING steps to skip: `when` is false, or the trigger rule can no longer
   * hold (ALL_SUCCEEDED with a dependency that failed, was skipped or was
   * cancelled; ANY_FAILED with no failed dependency). `reason` is human text.
   */
  skip: { stepId: string; reason: string }[];
  /**
   * PENDING steps that fail without running: their `when` or input template
   * could not be evaluated (type {@link EXPRESSION_ERROR}, not retryable).
   */
  fail: { stepId: string; error: Failure }[];
  /** Set when, after applying queue/skip/fail, every step is finished: the run's final status and output. */
  finish?: { status: "SUCCEEDED" | "FAILED"; output?: JsonValue; error?: Failure };
}

/** The failure type of a step (or run) whose `when`, input template or `output` expression could not be evaluated. */
export { EXPRESSION_ERROR } from "./failures.js";
