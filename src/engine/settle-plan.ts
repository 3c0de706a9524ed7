/**
 * The planner's decisions made storable. A rendered input (or run output)
 * holding a NUL character cannot be written, so that step fails with
 * `INVALID_INPUT` instead (the run output: `INVALID_OUTPUT`), and the run is
 * planned again from there, so its dependents are decided too and the run
 * cannot get stuck. Expression error texts are scrubbed of NULs. Likewise a
 * rendered input (or run output) above the payload limit fails with
 * `PAYLOAD_TOO_LARGE`, naming the run and step.
 */
import type { WorkflowDef } from "./model.js";
import { planRun, type Plan, type RunState } from "./planner.js";
import { INVALID_INPUT, INVALID_OUTPUT, nulFailure, scrubFailure, scrubNul, tooLarge } from "./storable.js";

/**
 * Applies `first` (a plan of `state`) to `state.steps` and returns every
 * decision, re-planning after each NUL-carrying input it turned into a
 * failure. `state` is updated in place to the decided statuses.
 *
 * @example
 * ```ts
 * const settled = settlePlan(def, state, planRun(def, state, ["charge"]));
 * for (const q of settled.queue) queue(q.stepId, q.input);
 * ```
 */
export function settlePlan(
  def: WorkflowDef,
  state: RunState,
  first: Plan,
  maxPayloadBytes = Number.POSITIVE_INFINITY,
): Plan {
  const out: Plan = { queue: [], skip: [], fail: [] };
  let plan = first;
  for (;;) {
    const converted: string[] = [];
    for (const q of plan.queue) {
      const attempts = state.steps[q.stepId]?.attempts ?? 0;
      const bad =
        nulFailure(q.input, "input", INVALID_INPUT) ??
        tooLarge(q.input, maxPayloadBytes, `run ${state.runId} step ${q.stepId}: rendered input`);
      if (bad === undefined) {
        out.queue.push(q);
        state.steps[q.stepId] = { status: "QUEUED", attempts };
      } else {
        out.fail.push({ stepId: q.stepId, error: bad });
        state.steps[q.stepId] = { status: "FAILED", attempts, error: bad };
        converted.push(q.stepId);
      }
    }
    for (const s of plan.skip) {
      out.skip.push({ stepId: s.stepId, reason: scrubNul(s.reason) });
      state.steps[s.stepId] = { status: "SKIPPED", attempts: state.steps[s.stepId]?.attempts ?? 0 };
    }
    for (const f of plan.fail) {
      const error = scrubFailure(f.error);
      out.fail.push({ stepId: f.stepId, error });
      state.steps[f.stepId] = { status: "FAILED", attempts: state.steps[f.stepId]?.attempts ?? 0, error };
    }
    if (converted.length === 0) {
      if (plan.finish !== undefined) out.finish = settleFinish(plan.finish, maxPayloadBytes, state.runId);
      return out;
    }
    plan = planRun(def, state, converted);
  }
}

function settleFinish(
  finish: NonNullable<Plan["finish"]>,
  maxBytes: number,
  runId: string,
): NonNullable<Plan["finish"]> {
  if (finish.output !== undefined) {
    const bad =
      nulFailure(finish.output, "output", INVALID_OUTPUT) ?? tooLarge(finish.output, maxBytes, `run ${runId}: output`);
    if (bad !== undefined) return { status: "FAILED", error: bad };
  }
  return finish.error === undefined ? finish : { ...finish, error: scrubFailure(finish.error) };
}
