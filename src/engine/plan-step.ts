/**
 * Deciding one PENDING step whose dependencies have all finished: its
 * trigger rule, then its `when`, then its input.
 */
import { CelError, evalCel, renderTemplate } from "./cel.js";
import type { Failure, JsonValue, StepStatus } from "./model.js";
import { EXPRESSION_ERROR } from "./plan-types.js";
import type { PlanView } from "./plan-view.js";
import { isStepFinished } from "./plan-view.js";

/**
 * What becomes of a step.
 *
 * @example
 * const d: StepDecision = { kind: "skip", reason: "when is false" };
 */
export type StepDecision =
  { kind: "queue"; input: JsonValue } | { kind: "skip"; reason: string } | { kind: "fail"; error: Failure };

const PAST: Partial<Record<StepStatus, string>> = {
  FAILED: "failed",
  SKIPPED: "was skipped",
  CANCELLED: "was cancelled",
};

/** Why the trigger rule of step `k` cannot hold, or undefined when it holds. */
function triggerBlocked(view: PlanView, k: number): string | undefined {
  const step = view.graph.steps[k]!;
  const deps = view.graph.deps[k]!;
  if (step.triggerRule === "ALL_DONE") return undefined;
  if (step.triggerRule === "ANY_FAILED") {
    return deps.some((d) => view.status(d) === "FAILED") ? undefined : "no dependency failed (trigger rule ANY_FAILED)";
  }
  for (const d of deps) {
    const status = view.status(d);
    if (status !== "SUCCEEDED") return `dependency ${view.graph.ids[d]} ${PAST[status] ?? status}`;
  }
  return undefined;
}

function expressionError(what: string, err: CelError): Failure {
  return { message: `${what}: ${err.message}`, type: EXPRESSION_ERROR, retryable: false };
}

function kindOf(v: JsonValue): string {
  if (v === null) return "null";
  return Array.isArray(v) ? "list" : typeof v === "object" ? "map" : typeof v;
}

/** The default input: the run input and the outputs of the direct dependencies (null when not succeeded). */
function defaultInput(view: PlanView, k: number): JsonValue {
  const deps = view.graph.deps[k]!.map((d): [string, JsonValue] => [view.graph.ids[d]!, view.outputOf(d)]);
  return { input: view.state.input, steps: Object.fromEntries(deps) };
}

/**
 * Decides step `k`, or returns undefined while one of its dependencies has
 * not finished. Expression errors (`CelError`) become a `fail` decision
 * with type `EXPRESSION_ERROR`; any other error is a bug and propagates.
 *
 * @example
 * const d = decideStep(view, k);
 * if (d?.kind === "queue") enqueue(view.graph.ids[k], d.input);
 */
export function decideStep(view: PlanView, k: number): StepDecision | undefined {
  for (const d of view.graph.deps[k]!) if (!isStepFinished(view.status(d))) return undefined;
  const blocked = triggerBlocked(view, k);
  if (blocked !== undefined) return { kind: "skip", reason: blocked };

  const step = view.graph.steps[k]!;
  if (step.when !== undefined && step.when.trim() !== "") {
    let ok: JsonValue;
    try {
      ok = evalCel(step.when, view.vars());
    } catch (err) {
      if (err instanceof CelError) return { kind: "fail", error: expressionError("when", err) };
      throw err;
    }
    if (typeof ok !== "boolean") {
      const message = `when must evaluate to a bool, got ${kindOf(ok)} from ${JSON.stringify(step.when)}`;
      return { kind: "fail", error: { message, type: EXPRESSION_ERROR, retryable: false } };
    }
    if (!ok) return { kind: "skip", reason: "when is false" };
  }

  if (step.input === undefined) return { kind: "queue", input: defaultInput(view, k) };
  try {
    return { kind: "queue", input: renderTemplate(step.input, view.vars()) };
  } catch (err) {
    if (err instanceof CelError) return { kind: "fail", error: expressionError("input", err) };
    throw err;
  }
}
