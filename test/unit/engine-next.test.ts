import { describe, expect, it } from "vitest";
import type { JsonValue } from "../../src/engine/model.js";
import type { RunMove, StepMove } from "../../src/engine/moves.js";
import { planNext } from "../../src/engine/next-moves.js";
import { loadedRun, RUN_ID, step, wf } from "./engine-fixtures.js";

const diamond = wf([
  { id: "a" },
  { id: "b", dependsOn: ["a"] },
  { id: "c", dependsOn: ["a"] },
  { id: "d", dependsOn: ["b", "c"] },
]);

/** [kind, step or run, from, to] of each move. */
const shape = (moves: readonly (StepMove | RunMove)[]) =>
  moves.map((m) => (m.kind === "step" ? [m.stepId, m.from, m.to] : ["run", m.from, m.to]));

describe("planNext: fan-in", () => {
  it("waits while a branch is unfinished", () => {
    const loaded = loadedRun("RUNNING", [
      step("a", "SUCCEEDED", { output: 1 }),
      step("b", "SUCCEEDED", { output: "B" }),
      step("c", "RUNNING"),
      step("d", "PENDING"),
    ]);
    expect(planNext(diamond, loaded, ["b"]).moves).toEqual([]);
  });

  it("queues the join once both branches succeeded, with its input and action", () => {
    const loaded = loadedRun("RUNNING", [
      step("a", "SUCCEEDED", { output: 1 }),
      step("b", "SUCCEEDED", { output: "B" }),
      step("c", "SUCCEEDED", { output: null }),
      step("d", "PENDING"),
    ]);
    const d = planNext(diamond, loaded, ["c"]);
    expect(d.moves).toEqual([
      {
        kind: "step",
        runId: RUN_ID,
        stepId: "d",
        from: "PENDING",
        to: "QUEUED",
        patch: { input: { input: { n: 1 }, steps: { b: "B", c: null } }, action: "do.d" },
        event: { run_id: RUN_ID, type: "STEP_STATUS", step_id: "d", step_status: "QUEUED" },
      },
    ]);
    expect(d.events).toEqual([]);
  });

  it("skips what can no longer run and finishes the run with the first failure", () => {
    const loaded = loadedRun("RUNNING", [
      step("a", "SUCCEEDED", { output: 1 }),
      step("b", "FAILED", { error: { type: "APP", message: "boom" } }),
      step("c", "SUCCEEDED", { output: 2 }),
      step("d", "PENDING"),
    ]);
    const d = planNext(diamond, loaded, ["b"]);
    expect(shape(d.moves)).toEqual([
      ["d", "PENDING", "SKIPPED"],
      ["run", "RUNNING", "FAILED"],
    ]);
    expect(d.moves[0]!.event.message).toMatch(/dependency/);
    const finish = d.moves[1] as RunMove;
    expect(finish.patch).toEqual({ error: { type: "APP", message: "step b failed: boom" } });
    expect(finish.event).toEqual({
      run_id: RUN_ID,
      type: "RUN_STATUS",
      run_status: "FAILED",
      error: finish.patch.error,
    });
  });

  it("finishes a run from the status it has (a PENDING run settles at once)", () => {
    const single = wf([{ id: "a" }]);
    const d = planNext(single, loadedRun("PENDING", [step("a", "SUCCEEDED", { output: 7 })]), ["a"]);
    expect(d.moves).toEqual([
      {
        kind: "run",
        runId: RUN_ID,
        from: "PENDING",
        to: "SUCCEEDED",
        patch: { output: { a: 7 } },
        event: { run_id: RUN_ID, type: "RUN_STATUS", run_status: "SUCCEEDED" },
      },
    ]);
  });

  it("plans nothing for a finished run", () => {
    expect(planNext(diamond, loadedRun("CANCELLED", [step("a", "SUCCEEDED")])).moves).toEqual([]);
  });
});

describe("planNext: inputs and outputs that cannot be stored", () => {
  const chain = wf([
    { id: "a" },
    { id: "b", dependsOn: ["a"], input: "${ steps.a }" },
    { id: "c", dependsOn: ["b"] },
    { id: "e", dependsOn: ["a"], triggerRule: "ALL_DONE", input: { fixed: true } },
  ]);
  const after = (output: JsonValue) =>
    loadedRun("RUNNING", [
      step("a", "SUCCEEDED", { output }),
      step("b", "PENDING"),
      step("c", "PENDING"),
      step("e", "PENDING"),
    ]);

  it("fails a step whose rendered input holds a NUL, and plans on from there", () => {
    const d = planNext(chain, after("x\u0000y"), ["a"]);
    expect(shape(d.moves)).toEqual([
      ["e", "PENDING", "QUEUED"],
      ["c", "PENDING", "SKIPPED"],
      ["b", "PENDING", "FAILED"],
    ]);
    expect((d.moves[2] as StepMove).patch.error).toMatchObject({ type: "INVALID_INPUT", retryable: false });
  });

  it("fails a step whose rendered input is above the payload limit, naming run and step", () => {
    const d = planNext(chain, after("x".repeat(400)), ["a"], 300);
    const failed = d.moves.find((m) => m.kind === "step" && m.to === "FAILED") as StepMove;
    expect(failed.stepId).toBe("b");
    expect(failed.patch.error).toEqual({
      type: "PAYLOAD_TOO_LARGE",
      message: `run ${RUN_ID} step b: rendered input is 402 bytes, above the payload limit of 300 bytes (--max-payload-bytes)`,
      retryable: false,
    });
  });

  it("fails the run when its output cannot be stored", () => {
    const single = wf([{ id: "a" }]);
    const nul = planNext(single, loadedRun("RUNNING", [step("a", "SUCCEEDED", { output: "\u0000" })]), ["a"]);
    expect(nul.moves[0]).toMatchObject({ kind: "run", to: "FAILED", patch: { error: { type: "INVALID_OUTPUT" } } });
    const big = planNext(
      single,
      loadedRun("RUNNING", [step("a", "SUCCEEDED", { output: "é".repeat(100) })]),
      ["a"],
      150,
    );
    expect(big.moves[0]).toMatchObject({ kind: "run", to: "FAILED", patch: { error: { type: "PAYLOAD_TOO_LARGE" } } });
  });
});
