/**
 * Small builders for the engine's tests. Not a test file itself.
 */
import { DEFAULT_RETRY, type StepDef, type WorkflowDef } from "../../src/engine/model.js";

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
