/**
 * The planner: a run's state in, decisions out. Pure and synchronous; the
 * caller applies the {@link Plan} (and its run move) in one transaction.
 *
 * Semantics, in short (details on each helper):
 * - A PENDING step is decided only once all its dependencies are finished
 *   (SUCCEEDED, FAILED, SKIPPED, CANCELLED). Then its trigger rule
 *   (`ALL_SUCCEEDED`: every dependency SUCCEEDED; `ALL_DONE`: always;
 *   `ANY_FAILED`: at least one FAILED), then `when`, then its input.
 * - CEL sees `input` (run input), `steps` (id → output of SUCCEEDED steps
 *   only; no key for the others, so `has(steps.x)` tests success) and `run`
 *   (`id`, `workflow_id`, `workflow_version`).
 * - Skips and fails cascade within one call until nothing more can be
 *   decided; queued steps are not finished, so nothing after them is.
 * - A run whose status is already finished plans nothing.
 */
import { FINISHED_RUN_STATUSES } from "./model.js";
import type { WorkflowDef } from "./model.js";
import { finishRun } from "./plan-finish.js";
import { planGraph } from "./plan-graph.js";
import { decideStep } from "./plan-step.js";
import type { Plan, RunState } from "./plan-types.js";
import { PlanView } from "./plan-view.js";

export type { Plan, RunState, StepState } from "./plan-types.js";
export { EXPRESSION_ERROR } from "./plan-types.js";

const STATUS_OF = { queue: "QUEUED", skip: "SKIPPED", fail: "FAILED" } as const;

function byRank<T>(items: [number, T][]): T[] {
  return items.sort((a, b) => a[0] - b[0]).map(([, item]) => item);
}

/**
 * Plans the next moves of a run: which PENDING steps to queue (with their
 * rendered input), skip or fail, and — when every step is then finished —
 * how the run ends.
 *
 * `changed` is an optional hint for the hot path: the ids of the steps whose
 * status changed since the last plan (completed, failed, or reset by
 * RetryRun). Only those steps and their direct dependents are examined
 * first (decisions still cascade), so planning after each of the 1,000
 * completions of a fan-out stays cheap. Without it every step is examined.
 * The finish check always looks at the whole run (stopping at the first
 * unfinished step).
 *
 * @example
 * const plan = planRun(def, state, ["charge"]);
 * for (const q of plan.queue) enqueue(q.stepId, q.input);
 * if (plan.finish) endRun(plan.finish.status, plan.finish.output, plan.finish.error);
 */
export function planRun(def: WorkflowDef, state: RunState, changed?: readonly string[]): Plan {
  const plan: Plan = { queue: [], skip: [], fail: [] };
  if (FINISHED_RUN_STATUSES.includes(state.status)) return plan;
  const graph = planGraph(def);
  const view = new PlanView(graph, state);

  const work: number[] = [];
  const waiting = new Set<number>();
  const enqueue = (k: number): void => {
    if (waiting.has(k)) return;
    waiting.add(k);
    work.push(k);
  };
  if (changed === undefined) {
    for (let k = 0; k < graph.ids.length; k++) enqueue(k);
  } else {
    for (const id of changed) {
      const k = graph.rank.get(id);
      if (k === undefined) continue;
      enqueue(k);
      for (const next of graph.dependents[k]!) enqueue(next);
    }
  }

  const queue: [number, Plan["queue"][number]][] = [];
  const skip: [number, Plan["skip"][number]][] = [];
  const fail: [number, Plan["fail"][number]][] = [];
  for (let head = 0; head < work.length; head++) {
    const k = work[head]!;
    waiting.delete(k);
    if (view.status(k) !== "PENDING") continue;
    const decision = decideStep(view, k);
    if (decision === undefined) continue;
    const stepId = graph.ids[k]!;
    view.decide(k, STATUS_OF[decision.kind], decision.kind === "fail" ? decision.error : undefined);
    if (decision.kind === "queue") {
      queue.push([k, { stepId, input: decision.input }]);
      continue;
    }
    if (decision.kind === "skip") skip.push([k, { stepId, reason: decision.reason }]);
    else fail.push([k, { stepId, error: decision.error }]);
    for (const next of graph.dependents[k]!) enqueue(next);
  }

  plan.queue = byRank(queue);
  plan.skip = byRank(skip);
  plan.fail = byRank(fail);
  if (plan.queue.length === 0) {
    const finish = finishRun(def, view);
    if (finish !== undefined) plan.finish = finish;
  }
  return plan;
}

/**
 * Plans a fresh run: every step counts as PENDING (any `steps` on the
 * argument are ignored), so the roots are queued (or skipped by `when`) and
 * anything that can already be decided is.
 *
 * @example
 * const plan = planInitial(def, { runId, workflowId: def.id, workflowVersion: 1, status: "PENDING", input });
 * plan.queue; // [{ stepId: "fetch", input: { input, steps: {} } }]
 */
export function planInitial(def: WorkflowDef, run: Omit<RunState, "steps">): Plan {
  const { runId, workflowId, workflowVersion, status, input } = run;
  return planRun(def, { runId, workflowId, workflowVersion, status, input, steps: {} });
}
