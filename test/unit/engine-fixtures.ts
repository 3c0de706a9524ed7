/**
 * Small builders for the engine's decision tests: a workflow definition, a
 * loaded run, its steps. Not a test file itself.
 */
import type { LiveStep, LoadedRun } from "../../src/engine/live-state.js";
import { DEFAULT_RETRY, type RunStatus, type StepDef, type WorkflowDef } from "../../src/engine/model.js";

export const RUN_ID = "0190a000-0000-7000-8000-000000000001";

export type StepSpec = Partial<StepDef> & { id: string };

/** A workflow of `steps` (action `do.<id>`, no dependencies, default retry unless given). */
export function wf(steps: StepSpec[], extra: Partial<WorkflowDef> = {}): WorkflowDef {
  return {
    id: "w",
    name: "",
    description: "",
    on: { events: [], schedules: [] },
    webhooks: { onComplete: [], onFailure: [], onStep: [] },
    ...extra,
    steps: steps.map((s) => ({
      action: `do.${s.id}`,
      dependsOn: [],
      triggerRule: "ALL_SUCCEEDED",
      retry: DEFAULT_RETRY,
      ...s,
    })),
  };
}

/** A step row; `attempts` defaults to 1 for RUNNING and finished steps, 0 otherwise. */
export function step(stepId: string, status: LiveStep["status"], extra: Partial<LiveStep> = {}): LiveStep {
  const attempts = status === "PENDING" || status === "QUEUED" ? 0 : 1;
  return { stepId, status, attempts, ...extra };
}

/** A loaded run of workflow `w` v1 with input `{ n: 1 }`. */
export function loadedRun(status: RunStatus, steps: LiveStep[], id = RUN_ID): LoadedRun {
  return {
    run: { id, namespace: "default", workflowId: "w", workflowVersion: 1, status, input: { n: 1 } },
    steps: new Map(steps.map((s) => [s.stepId, s])),
  };
}
