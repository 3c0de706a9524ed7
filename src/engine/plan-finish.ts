/**
 * A run's final status and output, once every step has finished.
 */
import { CelError, evalCel } from "./cel.js";
import type { Failure, JsonValue, WorkflowDef } from "./model.js";
import type { Plan } from "./plan-types.js";
import { EXPRESSION_ERROR } from "./plan-types.js";
import type { PlanView } from "./plan-view.js";
import { isStepFinished } from "./plan-view.js";
import { CANCELLED, STEP_FAILED } from "./failure-types.js";

/** The run error for a failed (or cancelled) step: its error, message prefixed with the step. */
function stepFailure(view: PlanView, k: number): Failure {
  const id = view.graph.ids[k]!;
  const error = view.decidedError(k) ?? view.stored(k)?.error;
  if (view.status(k) === "CANCELLED") {
    return {
      message: `step ${id} was cancelled${error ? `: ${error.message}` : ""}`,
      type: error?.type ?? CANCELLED,
    };
  }
  return { message: `step ${id} failed: ${error?.message ?? "no error recorded"}`, type: error?.type ?? STEP_FAILED };
}

function output(def: WorkflowDef, view: PlanView): Plan["finish"] {
  if (def.output !== undefined && def.output.trim() !== "") {
    try {
      return { status: "SUCCEEDED", output: evalCel(def.output, view.vars()) };
    } catch (err) {
      if (!(err instanceof CelError)) throw err;
      return { status: "FAILED", error: { message: `output: ${err.message}`, type: EXPRESSION_ERROR } };
    }
  }
  const leaves: [string, JsonValue][] = [];
  for (const k of view.graph.leaves) {
    if (view.status(k) === "SUCCEEDED") leaves.push([view.graph.ids[k]!, view.outputOf(k)]);
  }
  return { status: "SUCCEEDED", output: Object.fromEntries(leaves) };
}

/**
 * The run's end, or undefined while a step is unfinished. FAILED when any
 * step FAILED or was CANCELLED: the error is the first failed step's (in
 * topological order; a FAILED step before a CANCELLED one) with its message
 * prefixed `step <id> failed: ` and its type kept. Otherwise SUCCEEDED with
 * the `output` expression's value (an evaluation error makes the run FAILED
 * with `EXPRESSION_ERROR`), or without one an object of the outputs of the
 * SUCCEEDED leaf steps (steps nothing depends on; skipped leaves left out).
 *
 * @example
 * finishRun(def, view); // { status: "SUCCEEDED", output: { report: { ok: true } } }
 */
export function finishRun(def: WorkflowDef, view: PlanView): Plan["finish"] {
  const { graph } = view;
  // Quick refusal: any unfinished step leaves some leaf unfinished.
  for (const k of graph.leaves) if (!isStepFinished(view.status(k))) return undefined;
  let failed: number | undefined;
  let cancelled: number | undefined;
  for (let k = 0; k < graph.ids.length; k++) {
    const status = view.status(k);
    if (!isStepFinished(status)) return undefined;
    if (status === "FAILED") failed ??= k;
    else if (status === "CANCELLED") cancelled ??= k;
  }
  const first = failed ?? cancelled;
  if (first !== undefined) return { status: "FAILED", error: stepFailure(view, first) };
  return output(def, view);
}
