/**
 * Turns a settled plan into step and run moves plus their history events.
 */
import type { RunStatus } from "../engine/model.js";
import type { Plan } from "../engine/planner.js";
import type { ChangeSet } from "./change-set.js";
import { box } from "./json-rows.js";

/**
 * Records `plan` (from `settlePlan`) for one run whose status is `runStatus`:
 * PENDING steps become QUEUED (with their input), SKIPPED or FAILED; a
 * finish moves the run.
 *
 * @example
 * ```ts
 * applyPlan(changes, runId, "RUNNING", settlePlan(def, state, planRun(def, state, changed)));
 * ```
 */
export function applyPlan(changes: ChangeSet, runId: string, runStatus: RunStatus, plan: Plan): void {
  for (const q of plan.queue) {
    changes.moveStep(runId, q.stepId, "PENDING", "QUEUED", { input: box(q.input) });
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
