/**
 * Turns a settled plan into step and run moves plus their history events.
 */
import type { RunStatus, WorkflowDef } from "../engine/model.js";
import { stepAction } from "../engine/plan-graph.js";
import type { Plan } from "../engine/planner.js";
import type { ChangeSet } from "./change-set.js";
import { box } from "./json-rows.js";

/**
 * Records `plan` (from `settlePlan`, for a run of `def`) for one run whose
 * status is `runStatus`: PENDING steps become QUEUED (with their input, their
 * action named for the `queued` signal), SKIPPED or FAILED; a finish moves the run.
 *
 * @example
 * ```ts
 * applyPlan(changes, def, runId, "RUNNING", settlePlan(def, state, planRun(def, state, changed)));
 * ```
 */
export function applyPlan(changes: ChangeSet, def: WorkflowDef, runId: string, runStatus: RunStatus, plan: Plan): void {
  for (const q of plan.queue) {
    const action = stepAction(def, q.stepId);
    changes.moveStep(runId, q.stepId, "PENDING", "QUEUED", {
      input: box(q.input),
      ...(action === undefined ? {} : { action }),
    });
    changes.event({ run_id: runId, type: "STEP_STATUS", step_id: q.stepId, step_status: "QUEUED" });
  }
  for (const s of plan.skip) {
    changes.moveStep(runId, s.stepId, "PENDING", "SKIPPED");
    changes.event({ run_id: runId, type: "STEP_STATUS", step_id: s.stepId, step_status: "SKIPPED", message: s.reason });
  }
  for (const f of plan.fail) {
    changes.moveStep(runId, f.stepId, "PENDING", "FAILED", { error: f.error });
    changes.event({ run_id: runId, type: "STEP_STATUS", step_id: f.stepId, step_status: "FAILED", error: f.error });
  }
  if (plan.finish !== undefined) {
    const { status, output, error } = plan.finish;
    changes.moveRun(runId, runStatus, status, {
      ...(output === undefined ? {} : { output: box(output) }),
      ...(error === undefined ? {} : { error }),
    });
    changes.event({ run_id: runId, type: "RUN_STATUS", run_status: status, ...(error === undefined ? {} : { error }) });
  }
}
