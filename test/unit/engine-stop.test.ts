import { describe, expect, it } from "vitest";
import type { LiveRun } from "../../src/engine/live-state.js";
import type { RunStatus } from "../../src/engine/model.js";
import {
  OPEN_STEP_STATUSES,
  planCancel,
  planRunTimeouts,
  planStop,
  RUN_TIMEOUT_ERROR,
  stoppable,
  type OpenStep,
} from "../../src/engine/stop.js";
import { IllegalTransitionError } from "../../src/engine/transition.js";
import { RUN_ID } from "./engine-fixtures.js";

const OTHER = "0190a000-0000-7000-8000-000000000002";
const run = (status: RunStatus, id = RUN_ID): LiveRun => ({
  namespace: "default",
  id,
  workflowId: "w",
  workflowVersion: 1,
  status,
  input: null,
});
const open = (stepId: string, status: OpenStep["status"], extra: Partial<OpenStep> = {}): OpenStep => ({
  runId: RUN_ID,
  stepId,
  status,
  attempts: status === "RUNNING" ? 2 : 0,
  ...extra,
});

describe("planCancel", () => {
  const steps = [
    open("a", "PENDING"),
    open("b", "QUEUED"),
    open("c", "RUNNING", { leaseToken: 42n, workerId: "w1" }),
    open("d", "RUNNING", { leaseToken: 43n }),
  ];
  const d = planCancel(run("RUNNING"), steps, "no longer needed\u0000");
  const error = { type: "CANCELLED", message: "no longer needed\uFFFD" };

  it("cancels every open step, then the run, with the client's reason scrubbed of NULs", () => {
    expect(d.moves.map((m) => [m.kind === "step" ? m.stepId : "run", m.from, m.to])).toEqual([
      ["a", "PENDING", "CANCELLED"],
      ["b", "QUEUED", "CANCELLED"],
      ["c", "RUNNING", "CANCELLED"],
      ["d", "RUNNING", "CANCELLED"],
      ["run", "RUNNING", "CANCELLED"],
    ]);
    for (const m of d.moves) expect(m.patch).toEqual({ error });
    expect(d.moves[4]!.event).toEqual({
      run_id: RUN_ID,
      type: "RUN_STATUS",
      run_status: "CANCELLED",
      error,
      message: error.message,
    });
  });

  it("names attempt and worker only on the events of steps that were RUNNING", () => {
    const base = { run_id: RUN_ID, type: "STEP_STATUS", step_status: "CANCELLED", error };
    expect(d.moves.slice(0, 4).map((m) => m.event)).toEqual([
      { ...base, step_id: "a" },
      { ...base, step_id: "b" },
      { ...base, step_id: "c", attempt: 2, worker_id: "w1" },
      { ...base, step_id: "d", attempt: 2 },
    ]);
  });

  it("asks to cancel the tasks that were RUNNING, with the reason", () => {
    expect(d.cancel).toEqual([
      { runId: RUN_ID, stepId: "c", leaseToken: 42n, workerId: "w1" },
      { runId: RUN_ID, stepId: "d", leaseToken: 43n },
    ]);
    expect(d.reason).toBe(error.message);
    expect(d.events).toEqual([]);
    expect(d.retries).toEqual([]);
  });

  it("does not ask to cancel a RUNNING step without a lease token", () => {
    expect(planCancel(run("RUNNING"), [open("a", "RUNNING")], "x").cancel).toEqual([]);
  });
});

describe("planRunTimeouts", () => {
  it("times out every run and cancels its open steps with the TIMED_OUT error", () => {
    const d = planRunTimeouts(
      [run("RUNNING"), run("PENDING", OTHER)],
      [open("a", "QUEUED"), { ...open("x", "PENDING"), runId: OTHER }],
    );
    expect(d.moves.map((m) => [m.runId, m.kind === "step" ? m.stepId : "run", m.to])).toEqual([
      [RUN_ID, "a", "CANCELLED"],
      [OTHER, "x", "CANCELLED"],
      [RUN_ID, "run", "TIMED_OUT"],
      [OTHER, "run", "TIMED_OUT"],
    ]);
    expect(d.moves[3]!.event).toMatchObject({
      run_status: "TIMED_OUT",
      error: RUN_TIMEOUT_ERROR,
      message: "the run's timeout passed",
    });
    expect(d.moves[0]!.event.error).toEqual({ type: "TIMED_OUT", message: "the run's timeout passed" });
    expect(d.cancel).toEqual([]);
  });
});

describe("which runs and steps a stop takes", () => {
  it.each([
    ["PENDING", true],
    ["RUNNING", true],
    ["SUCCEEDED", false],
    ["FAILED", false],
    ["CANCELLED", false],
    ["TIMED_OUT", false],
  ] as const)("a %s run is stoppable: %s", (status, expected) => {
    expect(stoppable([run(status)]).length === 1).toBe(expected);
  });

  it("locks PENDING, QUEUED and RUNNING steps", () => {
    expect([...OPEN_STEP_STATUSES].sort()).toEqual(["PENDING", "QUEUED", "RUNNING"]);
  });

  it("refuses to stop a finished step or run", () => {
    const error = { type: "CANCELLED", message: "x" };
    expect(() => planStop([run("RUNNING")], [open("a", "SUCCEEDED")], "CANCELLED", error)).toThrow(
      IllegalTransitionError,
    );
    expect(() => planStop([run("FAILED")], [], "CANCELLED", error)).toThrow(IllegalTransitionError);
  });
});
