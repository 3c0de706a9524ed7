/**
 * The next moves of a run after some of its steps changed: the planner's
 * decisions (`planner.ts`), made storable (`settle-plan.ts`), as move
 * records: PENDING steps become QUEUED (with their input, their action named
 * for the `queued` signal), SKIPPED or FAILED; a finish moves the run.
 */
import { toRunState, type LoadedRun } from "./live-state.js";
import type { WorkflowDef } from "./model.js";
import { movesOnly, runMove, stepMove, type Decision, type Move, type RunPatch } from "./moves.js";
import { stepAction } from "./plan-graph.js";
import { planRun, type Plan } from "./planner.js";
import { settlePlan } from "./settle-plan.js";

/**
 * Plans `loaded` (run of `def`) from its current state. `changed` is the
 * planner's hint (the step ids whose status changed; absent: every step is
 * examined). A rendered input Postgres cannot store, or above
 * `maxPayloadBytes`, fails its step instead, and the run is planned on from there.
 *
 * @example
 * ```ts
 * changes.add(planNext(def, loaded, ["charge"], maxPayloadBytes));
 * ```
 */
export function planNext(
  def: WorkflowDef,
  loaded: LoadedRun,
  changed?: readonly string[],
  maxPayloadBytes?: number,
): Decision {
  const state = toRunState(loaded);
  return movesOnly(planMoves(def, loaded, settlePlan(def, state, planRun(def, state, changed), maxPayloadBytes)));
}

/**
 * The move records of a settled plan of `loaded`.
 *
 * @example
 * ```ts
 * const moves = planMoves(def, loaded, settlePlan(def, state, planRun(def, state)));
 * ```
 */
export function planMoves(def: WorkflowDef, loaded: LoadedRun, plan: Plan): Move[] {
  const runId = loaded.run.id;
  const moves: Move[] = [];
  for (const q of plan.queue) {
    const action = stepAction(def, q.stepId);
    moves.push(
      stepMove(
        runId,
        q.stepId,
        "PENDING",
        "QUEUED",
        action === undefined ? { input: q.input } : { input: q.input, action },
      ),
    );
  }
  for (const s of plan.skip)
    moves.push(stepMove(runId, s.stepId, "PENDING", "SKIPPED", undefined, { message: s.reason }));
  for (const f of plan.fail) moves.push(stepMove(runId, f.stepId, "PENDING", "FAILED", { error: f.error }));
  if (plan.finish !== undefined) {
    const { status, output, error } = plan.finish;
    const patch: RunPatch = {};
    if (output !== undefined) patch.output = output;
    if (error !== undefined) patch.error = error;
    moves.push(runMove(runId, loaded.run.status, status, patch));
  }
  return moves;
}
