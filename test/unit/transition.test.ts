import { describe, expect, it } from "vitest";
import { RunStatus, StepStatus } from "../../src/engine/model.js";
import {
  IllegalTransitionError,
  LEGAL_RUN_MOVES,
  LEGAL_STEP_MOVES,
  assertRunMove,
  assertStepMove,
  canMoveRun,
  canMoveStep,
  runSourcesFor,
  stepSourcesFor,
} from "../../src/engine/transition.js";

const STEPS = Object.values(StepStatus);
const RUNS = Object.values(RunStatus);

const STEP_EXPECTED: Record<StepStatus, StepStatus[]> = {
  PENDING: ["QUEUED", "SKIPPED", "CANCELLED", "FAILED"],
  QUEUED: ["RUNNING", "CANCELLED"],
  RUNNING: ["SUCCEEDED", "FAILED", "QUEUED", "CANCELLED"],
  SUCCEEDED: [],
  FAILED: [],
  SKIPPED: [],
  CANCELLED: [],
};
const RUN_EXPECTED: Record<RunStatus, RunStatus[]> = {
  PENDING: ["RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"],
  RUNNING: ["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"],
  SUCCEEDED: [],
  FAILED: [],
  CANCELLED: [],
  TIMED_OUT: [],
};

describe("step moves", () => {
  it("allows exactly the ordinary moves without a cause", () => {
    for (const from of STEPS) {
      for (const to of STEPS) {
        expect(canMoveStep(from, to), `${from} -> ${to}`).toBe(STEP_EXPECTED[from].includes(to));
      }
      expect([...LEGAL_STEP_MOVES[from]].sort()).toEqual([...STEP_EXPECTED[from]].sort());
    }
  });

  it("lets RetryRun reopen failed, cancelled and skipped steps only", () => {
    for (const from of STEPS) {
      for (const to of STEPS) {
        const reopen = to === "PENDING" && ["FAILED", "CANCELLED", "SKIPPED"].includes(from);
        expect(canMoveStep(from, to, "retry"), `${from} -> ${to} (retry)`).toBe(
          STEP_EXPECTED[from].includes(to) || reopen,
        );
      }
    }
    expect(canMoveStep("FAILED", "PENDING")).toBe(false);
  });

  it("never moves a succeeded step", () => {
    for (const to of STEPS) {
      expect(canMoveStep("SUCCEEDED", to)).toBe(false);
      expect(canMoveStep("SUCCEEDED", to, "retry")).toBe(false);
    }
  });

  it("refuses SUCCEEDED -> RUNNING with IllegalTransitionError", () => {
    let caught: unknown;
    try {
      assertStepMove("SUCCEEDED", "RUNNING");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(IllegalTransitionError);
    const e = caught as IllegalTransitionError;
    expect([e.kind, e.from, e.to]).toEqual(["step", "SUCCEEDED", "RUNNING"]);
    expect(e.message).toBe("illegal step move SUCCEEDED -> RUNNING");
    expect(() => assertStepMove("SUCCEEDED", "PENDING", "retry")).toThrow(/cause: retry/);
    expect(() => assertStepMove("RUNNING", "QUEUED")).not.toThrow();
  });

  it("lists the sources of a move for store guards", () => {
    expect(stepSourcesFor("CANCELLED")).toEqual(["PENDING", "QUEUED", "RUNNING"]);
    expect(stepSourcesFor("QUEUED")).toEqual(["PENDING", "RUNNING"]);
    expect(stepSourcesFor("PENDING")).toEqual([]);
    expect(stepSourcesFor("PENDING", "retry")).toEqual(["FAILED", "SKIPPED", "CANCELLED"]);
  });
});

describe("run moves", () => {
  it("allows exactly the ordinary moves without a cause", () => {
    for (const from of RUNS) {
      for (const to of RUNS) {
        expect(canMoveRun(from, to), `${from} -> ${to}`).toBe(RUN_EXPECTED[from].includes(to));
      }
      expect([...LEGAL_RUN_MOVES[from]].sort()).toEqual([...RUN_EXPECTED[from]].sort());
    }
  });

  it("lets RetryRun reopen failed, cancelled and timed-out runs, never succeeded ones", () => {
    for (const from of ["FAILED", "CANCELLED", "TIMED_OUT"] as const) {
      expect(canMoveRun(from, "RUNNING")).toBe(false);
      expect(canMoveRun(from, "RUNNING", "retry")).toBe(true);
      expect(canMoveRun(from, "PENDING", "retry")).toBe(false);
    }
    expect(canMoveRun("SUCCEEDED", "RUNNING", "retry")).toBe(false);
    expect(() => assertRunMove("SUCCEEDED", "RUNNING", "retry")).toThrow(IllegalTransitionError);
    expect(() => assertRunMove("FAILED", "RUNNING", "retry")).not.toThrow();
    expect(runSourcesFor("TIMED_OUT")).toEqual(["PENDING", "RUNNING"]);
    expect(runSourcesFor("RUNNING", "retry")).toEqual(["PENDING", "FAILED", "CANCELLED", "TIMED_OUT"]);
  });

  it("does not treat staying put as a move", () => {
    for (const s of STEPS) expect(canMoveStep(s, s, "retry")).toBe(false);
    for (const s of RUNS) expect(canMoveRun(s, s, "retry")).toBe(false);
  });
});
