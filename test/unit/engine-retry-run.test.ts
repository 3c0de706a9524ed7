import { describe, expect, it } from "vitest";
import type { RunStatus } from "../../src/engine/model.js";
import type { RunMove, StepMove } from "../../src/engine/moves.js";
import { planRetryRun, retryRefusal } from "../../src/engine/retry-run.js";
import { IllegalTransitionError } from "../../src/engine/transition.js";
import { ChangeSet } from "../../src/store/writes/change-set.js";
import { loadedRun, RUN_ID, step, wf } from "./engine-fixtures.js";

const boom = { type: "APP", message: "boom" };
const chain = wf([{ id: "a" }, { id: "b", dependsOn: ["a"] }, { id: "c", dependsOn: ["b"] }], { timeoutMs: 60_000 });
const shape = (moves: readonly (StepMove | RunMove)[]) =>
  moves.map((m) => (m.kind === "step" ? [m.stepId, m.from, m.to] : ["run", m.from, m.to]));

describe("retryRefusal", () => {
  it.each([
    ["PENDING", "NOT_FINISHED"],
    ["RUNNING", "NOT_FINISHED"],
    ["SUCCEEDED", "SUCCEEDED"],
    ["FAILED", undefined],
    ["CANCELLED", undefined],
    ["TIMED_OUT", undefined],
  ] as const)("a %s run: %s", (status: RunStatus, refusal) => {
    expect(retryRefusal(status)).toBe(refusal);
  });
});

describe("planRetryRun", () => {
  const failedRun = () =>
    loadedRun("FAILED", [
      step("a", "SUCCEEDED", { output: { x: 1 } }),
      step("b", "FAILED", { attempts: 3, error: boom, workerId: "w1" }),
      step("c", "SKIPPED"),
    ]);

  it("re-opens the run, resets the unsuccessful steps and plans from the kept outputs", () => {
    const loaded = failedRun();
    const d = planRetryRun(chain, loaded);
    expect(shape(d.moves)).toEqual([
      ["run", "FAILED", "RUNNING"],
      ["b", "FAILED", "PENDING"],
      ["c", "SKIPPED", "PENDING"],
      ["b", "PENDING", "QUEUED"],
    ]);
    expect(d.moves[0]).toMatchObject({ patch: { deadlineMs: 60_000 }, event: { message: "retried after FAILED" } });
    expect(d.moves[1]).toMatchObject({
      patch: { reset: true, outputClear: true, errorClear: true, inputClear: true },
      event: { run_id: RUN_ID, type: "STEP_STATUS", step_id: "b", step_status: "PENDING", message: "retried" },
    });
    expect((d.moves[3] as StepMove).patch).toEqual({
      input: { input: { n: 1 }, steps: { a: { x: 1 } } },
      action: "do.b",
    });
    // The loaded rows are the caller's: unchanged.
    expect(loaded.run.status).toBe("FAILED");
    expect(loaded.steps.get("b")).toMatchObject({ status: "FAILED", attempts: 3 });
  });

  it("writes as one patch per row, keeping the first source status as the guard", () => {
    const changes = new ChangeSet();
    changes.add(planRetryRun(chain, failedRun()));
    expect(changes.steps.get(`${RUN_ID}/b`)).toMatchObject({ from: "FAILED", to: "QUEUED", reset: true });
    expect(changes.steps.get(`${RUN_ID}/c`)).toMatchObject({ from: "SKIPPED", to: "PENDING", reset: true });
    expect(changes.runs.get(RUN_ID)).toEqual({ id: RUN_ID, from: "FAILED", to: "RUNNING", deadline_ms: 60_000 });
  });

  it("examines every step: steps a run timeout left PENDING are decided too", () => {
    const loaded = loadedRun("TIMED_OUT", [
      step("a", "SUCCEEDED", { output: 1 }),
      step("b", "SUCCEEDED", { output: 2 }),
      step("c", "PENDING"),
    ]);
    const d = planRetryRun(wf([{ id: "a" }, { id: "b", dependsOn: ["a"] }, { id: "c", dependsOn: ["b"] }]), loaded);
    expect(shape(d.moves)).toEqual([
      ["run", "TIMED_OUT", "RUNNING"],
      ["c", "PENDING", "QUEUED"],
    ]);
    // No workflow timeout: the deadline stays as it is.
    expect(d.moves[0]!.patch).toEqual({});
  });

  it("can finish the run again at once", () => {
    const def = wf([{ id: "a" }, { id: "b", dependsOn: ["a"], when: "false" }]);
    const loaded = loadedRun("CANCELLED", [step("a", "SUCCEEDED", { output: 1 }), step("b", "CANCELLED")]);
    const d = planRetryRun(def, loaded);
    expect(shape(d.moves)).toEqual([
      ["run", "CANCELLED", "RUNNING"],
      ["b", "CANCELLED", "PENDING"],
      ["b", "PENDING", "SKIPPED"],
      ["run", "RUNNING", "SUCCEEDED"],
    ]);
    expect(d.moves[3]!.patch).toEqual({ output: {} });
  });

  it("refuses a run that is not finished or succeeded", () => {
    expect(() => planRetryRun(chain, loadedRun("SUCCEEDED", [step("a", "SUCCEEDED")]))).toThrow(IllegalTransitionError);
    expect(() => planRetryRun(chain, loadedRun("RUNNING", [step("a", "RUNNING")]))).toThrow(IllegalTransitionError);
  });
});
