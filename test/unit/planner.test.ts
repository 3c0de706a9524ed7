import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY } from "../../src/engine/model.js";
import type { JsonValue, StepDef, StepStatus, WorkflowDef } from "../../src/engine/model.js";
import { planGraph } from "../../src/engine/plan-graph.js";
import { EXPRESSION_ERROR, planInitial, planRun } from "../../src/engine/planner.js";
import type { RunState, StepState } from "../../src/engine/planner.js";
import { topologicalOrder } from "../../src/engine/validate.js";

type StepSpec = Partial<StepDef> & { id: string };

function wf(steps: StepSpec[], extra: Partial<WorkflowDef> = {}): WorkflowDef {
  return {
    id: "w",
    name: "",
    description: "",
    on: { events: [], schedules: [] },
    webhooks: { onComplete: [], onFailure: [], onStep: [] },
    ...extra,
    steps: steps.map((s) => ({
      action: "noop",
      dependsOn: [],
      triggerRule: "ALL_SUCCEEDED",
      retry: DEFAULT_RETRY,
      ...s,
    })),
  };
}

const ok = (output?: JsonValue): StepState => ({ status: "SUCCEEDED", attempts: 1, output });
const failed = (message = "boom", type = "APP_ERROR"): StepState => ({
  status: "FAILED",
  attempts: 1,
  error: { message, type },
});
const at = (status: StepStatus): StepState => ({ status, attempts: 0 });

function run(steps: Record<string, StepState>, input: JsonValue = { n: 1 }): RunState {
  return { runId: "r1", workflowId: "w", workflowVersion: 2, status: "RUNNING", input, steps };
}

const diamond = () =>
  wf([{ id: "a" }, { id: "b", dependsOn: ["a"] }, { id: "c", dependsOn: ["a"] }, { id: "d", dependsOn: ["b", "c"] }]);

describe("planRun: diamond a -> (b, c) -> d", () => {
  const def = diamond();

  it("queues the root first with the default input", () => {
    const plan = planInitial(def, {
      runId: "r1",
      workflowId: "w",
      workflowVersion: 2,
      status: "PENDING",
      input: { n: 1 },
    });
    expect(plan).toEqual({ queue: [{ stepId: "a", input: { input: { n: 1 }, steps: {} } }], skip: [], fail: [] });
  });

  it("queues b and c with a's output once a succeeds", () => {
    const plan = planRun(def, run({ a: ok({ x: 1 }), b: at("PENDING"), c: at("PENDING"), d: at("PENDING") }));
    expect(plan.queue).toEqual([
      { stepId: "b", input: { input: { n: 1 }, steps: { a: { x: 1 } } } },
      { stepId: "c", input: { input: { n: 1 }, steps: { a: { x: 1 } } } },
    ]);
    expect(plan.finish).toBeUndefined();
  });

  it("waits for both branches, then gives d its direct dependencies only", () => {
    const half = planRun(def, run({ a: ok({ x: 1 }), b: ok("B"), c: at("RUNNING"), d: at("PENDING") }));
    expect(half).toEqual({ queue: [], skip: [], fail: [] });
    const plan = planRun(def, run({ a: ok({ x: 1 }), b: ok("B"), c: ok(), d: at("PENDING") }));
    expect(plan.queue).toEqual([{ stepId: "d", input: { input: { n: 1 }, steps: { b: "B", c: null } } }]);
  });

  it("finishes with the leaf outputs", () => {
    const plan = planRun(def, run({ a: ok(1), b: ok(2), c: ok(3), d: ok({ total: 6 }) }));
    expect(plan.finish).toEqual({ status: "SUCCEEDED", output: { d: { total: 6 } } });
  });

  it("renders input templates, keeping the types of whole-string expressions", () => {
    const t = wf([
      { id: "a" },
      {
        id: "b",
        dependsOn: ["a"],
        input: {
          x: "${ steps.a.x }",
          list: ["${ steps.a.tags }", "n=${ input.n }"],
          obj: "${ steps.a }",
          run: "${ run }",
          lit: 5,
        },
      },
    ]);
    const plan = planRun(t, run({ a: ok({ x: 2.5, tags: ["p", "q"] }) }));
    expect(plan.queue).toEqual([
      {
        stepId: "b",
        input: {
          x: 2.5,
          list: [["p", "q"], "n=1"],
          obj: { x: 2.5, tags: ["p", "q"] },
          run: { id: "r1", workflow_id: "w", workflow_version: 2 },
          lit: 5,
        },
      },
    ]);
  });

  it("lets a template read any succeeded step, not only direct dependencies", () => {
    const t = wf([
      { id: "a" },
      { id: "b", dependsOn: ["a"] },
      { id: "c", dependsOn: ["b"], input: "${ steps.a + steps.b }" },
    ]);
    expect(planRun(t, run({ a: ok(1), b: ok(2) })).queue).toEqual([{ stepId: "c", input: 3 }]);
  });
});

describe("planRun: trigger rules", () => {
  const def = wf([
    { id: "a" },
    { id: "next", dependsOn: ["a"] },
    { id: "on_error", dependsOn: ["a"], triggerRule: "ANY_FAILED" },
    { id: "always", dependsOn: ["a"], triggerRule: "ALL_DONE" },
  ]);

  it("runs the ANY_FAILED handler and ALL_DONE step when a fails, skipping the rest", () => {
    const plan = planRun(def, run({ a: failed() }));
    expect(plan.queue.map((q) => q.stepId)).toEqual(["on_error", "always"]);
    expect(plan.queue[0]!.input).toEqual({ input: { n: 1 }, steps: { a: null } });
    expect(plan.skip).toEqual([{ stepId: "next", reason: "dependency a failed" }]);
  });

  it("skips the ANY_FAILED handler when nothing failed", () => {
    const plan = planRun(def, run({ a: ok(1) }));
    expect(plan.queue.map((q) => q.stepId)).toEqual(["next", "always"]);
    expect(plan.skip).toEqual([{ stepId: "on_error", reason: "no dependency failed (trigger rule ANY_FAILED)" }]);
  });

  it("runs ANY_FAILED when one of several dependencies failed, waiting for all", () => {
    const d = wf([{ id: "a" }, { id: "b" }, { id: "h", dependsOn: ["a", "b"], triggerRule: "ANY_FAILED" }]);
    expect(planRun(d, run({ a: failed(), b: at("RUNNING") })).queue).toEqual([]);
    expect(planRun(d, run({ a: failed(), b: ok(1) })).queue.map((q) => q.stepId)).toEqual(["h"]);
    expect(planRun(d, run({ a: at("SKIPPED"), b: ok(1) })).skip.map((s) => s.stepId)).toEqual(["h"]);
  });

  it("names the dependency that blocks ALL_SUCCEEDED", () => {
    const d = wf([{ id: "a" }, { id: "b" }, { id: "c", dependsOn: ["a", "b"] }]);
    expect(planRun(d, run({ a: ok(1), b: at("SKIPPED") })).skip).toEqual([
      { stepId: "c", reason: "dependency b was skipped" },
    ]);
    expect(planRun(d, run({ a: at("CANCELLED"), b: ok(1) })).skip).toEqual([
      { stepId: "c", reason: "dependency a was cancelled" },
    ]);
  });

  it("cascades skips down a chain in one plan and queues the ALL_DONE cleanup", () => {
    const chain = wf([
      { id: "a" },
      { id: "b", dependsOn: ["a"] },
      { id: "c", dependsOn: ["b"] },
      { id: "cleanup", dependsOn: ["c"], triggerRule: "ALL_DONE" },
      { id: "after", dependsOn: ["cleanup"] },
    ]);
    const plan = planRun(chain, run({ a: failed() }));
    expect(plan.skip).toEqual([
      { stepId: "b", reason: "dependency a failed" },
      { stepId: "c", reason: "dependency b was skipped" },
    ]);
    expect(plan.queue).toEqual([{ stepId: "cleanup", input: { input: { n: 1 }, steps: { c: null } } }]);
    expect(plan.finish).toBeUndefined();
    // the same with the hot-path hint
    expect(planRun(chain, run({ a: failed() }), ["a"])).toEqual(plan);
  });
});

describe("planRun: when", () => {
  const def = wf([
    { id: "a" },
    { id: "big", dependsOn: ["a"], when: "steps.a.n > 10" },
    { id: "small", dependsOn: ["a"], when: "steps.a.n <= 10 && run.workflow_version == 2" },
    { id: "odd", dependsOn: ["a"], when: "steps.a.n" },
    { id: "broken", dependsOn: ["a"], when: "steps.a.missing > 1" },
    { id: "after_broken", dependsOn: ["broken"] },
  ]);

  it("queues on true, skips on false, fails on a non-bool or an evaluation error", () => {
    const plan = planRun(def, run({ a: ok({ n: 3 }) }));
    expect(plan.queue.map((q) => q.stepId)).toEqual(["small"]);
    expect(plan.skip).toEqual([
      { stepId: "big", reason: "when is false" },
      { stepId: "after_broken", reason: "dependency broken failed" },
    ]);
    expect(plan.fail.map((f) => f.stepId)).toEqual(["odd", "broken"]);
    for (const f of plan.fail) {
      expect(f.error.type).toBe(EXPRESSION_ERROR);
      expect(f.error.retryable).toBe(false);
    }
    expect(plan.fail[0]!.error.message).toMatch(/^when must evaluate to a bool, got number/);
    expect(plan.fail[1]!.error.message).toMatch(/^when: .*missing/);
  });

  it("shows only succeeded steps in `steps`, so has() tests success", () => {
    const d = wf([
      { id: "a" },
      { id: "b", dependsOn: ["a"] },
      { id: "report", dependsOn: ["b"], triggerRule: "ALL_DONE", when: "!has(steps.b) && has(steps.a)" },
    ]);
    const plan = planRun(d, run({ a: ok({ x: 1 }), b: at("SKIPPED") }));
    expect(plan.queue.map((q) => q.stepId)).toEqual(["report"]);
  });

  it("pins a @bufbuild/cel quirk: has() is false for a succeeded step whose output is null", () => {
    const d = wf([
      { id: "a" },
      { id: "b", dependsOn: ["a"], when: "has(steps.a)" },
      { id: "c", dependsOn: ["a"], when: "steps.a == null" },
    ]);
    const plan = planRun(d, run({ a: ok(null) }));
    expect(plan.skip).toEqual([{ stepId: "b", reason: "when is false" }]);
    expect(plan.queue.map((q) => q.stepId)).toEqual(["c"]);
  });

  it("evaluates when for roots over the run input", () => {
    const d = wf([{ id: "a", when: "input.go" }]);
    const fresh = { runId: "r", workflowId: "w", workflowVersion: 1, status: "PENDING" as const };
    expect(planInitial(d, { ...fresh, input: { go: true } }).queue.map((q) => q.stepId)).toEqual(["a"]);
    const skipped = planInitial(d, { ...fresh, input: { go: false } });
    expect(skipped.skip).toEqual([{ stepId: "a", reason: "when is false" }]);
    expect(skipped.finish).toEqual({ status: "SUCCEEDED", output: {} });
  });

  it("fails a step whose input template cannot render", () => {
    const d = wf([{ id: "a" }, { id: "b", dependsOn: ["a"], input: { url: "${ steps.a.nope }" } }]);
    const plan = planRun(d, run({ a: ok({}) }));
    expect(plan.fail).toHaveLength(1);
    expect(plan.fail[0]!.error.type).toBe(EXPRESSION_ERROR);
    expect(plan.fail[0]!.error.message).toMatch(/^input: url: .*nope/);
    expect(plan.finish).toEqual({
      status: "FAILED",
      error: { message: `step b failed: ${plan.fail[0]!.error.message}`, type: EXPRESSION_ERROR },
    });
  });
});

describe("planRun: finish", () => {
  it("evaluates the output expression", () => {
    const d = wf([{ id: "a" }, { id: "b", dependsOn: ["a"] }], { output: "{'sum': steps.a + steps.b, 'n': input.n}" });
    expect(planRun(d, run({ a: ok(1), b: ok(2) })).finish).toEqual({ status: "SUCCEEDED", output: { sum: 3, n: 1 } });
  });

  it("fails the run when the output expression fails", () => {
    const d = wf([{ id: "a" }], { output: "steps.a.nope" });
    const finish = planRun(d, run({ a: ok({}) })).finish;
    expect(finish?.status).toBe("FAILED");
    expect(finish?.error?.type).toBe(EXPRESSION_ERROR);
    expect(finish?.error?.message).toMatch(/^output: .*nope/);
  });

  it("leaves skipped leaves out of the default output", () => {
    const d = wf([{ id: "a" }, { id: "b", dependsOn: ["a"] }, { id: "c", dependsOn: ["a"] }]);
    expect(planRun(d, run({ a: ok(1), b: ok({ x: 1 }), c: at("SKIPPED") })).finish).toEqual({
      status: "SUCCEEDED",
      output: { b: { x: 1 } },
    });
  });

  it("fails with the first failed step's error, even when a handler succeeded", () => {
    const d = wf([
      { id: "a" },
      { id: "b", dependsOn: ["a"] },
      { id: "c", dependsOn: ["b"] },
      { id: "h", dependsOn: ["b"], triggerRule: "ANY_FAILED" },
    ]);
    const plan = planRun(d, run({ a: ok(1), b: failed("card declined", "PAYMENT"), h: ok("handled") }));
    expect(plan.skip).toEqual([{ stepId: "c", reason: "dependency b failed" }]);
    expect(plan.finish).toEqual({
      status: "FAILED",
      error: { message: "step b failed: card declined", type: "PAYMENT" },
    });
  });

  it("treats cancelled steps like failed ones", () => {
    const d = wf([{ id: "a" }]);
    expect(planRun(d, run({ a: at("CANCELLED") })).finish).toEqual({
      status: "FAILED",
      error: { message: "step a was cancelled", type: "CANCELLED" },
    });
  });

  it("does not finish while a step is queued or running", () => {
    const d = wf([{ id: "a" }, { id: "b" }]);
    expect(planRun(d, run({ a: ok(1), b: at("QUEUED") })).finish).toBeUndefined();
    expect(planRun(d, run({ a: ok(1) })).finish).toBeUndefined();
  });

  it("plans nothing for a finished run", () => {
    const d = wf([{ id: "a" }]);
    for (const status of ["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"] as const) {
      expect(planRun(d, { ...run({}), status })).toEqual({ queue: [], skip: [], fail: [] });
    }
  });
});

describe("planRun: graph and hint", () => {
  it("ranks steps like topologicalOrder", () => {
    const d = wf([
      { id: "e", dependsOn: ["d"] },
      { id: "b", dependsOn: ["a"] },
      { id: "a" },
      { id: "d", dependsOn: ["b", "c"] },
      { id: "c" },
      { id: "f", dependsOn: ["a"] },
    ]);
    expect(planGraph(d).ids).toEqual(topologicalOrder(d));
    expect(planGraph(d)).toBe(planGraph(d));
  });

  it("re-plans steps reset by RetryRun when they are named in the hint", () => {
    const def = diamond();
    const state = run({ a: ok(1), b: ok(2), c: at("PENDING"), d: at("PENDING") });
    expect(planRun(def, state, ["c", "d"]).queue.map((q) => q.stepId)).toEqual(["c"]);
    expect(planRun(def, state, ["b"]).queue).toEqual([]);
    expect(planRun(def, state).queue.map((q) => q.stepId)).toEqual(["c"]);
  });

  it("ignores unknown ids in the hint and in the state", () => {
    const def = diamond();
    expect(planRun(def, run({ zz: ok(1) }), ["zz"])).toEqual({ queue: [], skip: [], fail: [] });
    expect(planRun(def, run({ zz: ok(1) })).queue.map((q) => q.stepId)).toEqual(["a"]);
  });
});

describe("planRun: performance", () => {
  const N = 1000;
  const mids = Array.from({ length: N }, (_, i) => `m${i}`);
  const def = wf([{ id: "root" }, ...mids.map((id) => ({ id, dependsOn: ["root"] })), { id: "join", dependsOn: mids }]);

  function fanOut(useHint: boolean): { ms: number; joinInputKeys: number } {
    const started = performance.now();
    const state = run({});
    let plan = planInitial(def, state);
    for (const q of plan.queue) state.steps[q.stepId] = at("QUEUED");
    state.steps.root = ok({ items: N });
    plan = planRun(def, state, useHint ? ["root"] : undefined);
    if (plan.queue.length !== N) throw new Error(`expected ${N} queued, got ${plan.queue.length}`);
    for (const q of plan.queue) state.steps[q.stepId] = at("QUEUED");
    let joinInputKeys = 0;
    for (const id of mids) {
      state.steps[id] = ok({ id });
      plan = planRun(def, state, useHint ? [id] : undefined);
      for (const q of plan.queue) {
        state.steps[q.stepId] = at("QUEUED");
        joinInputKeys = Object.keys((q.input as { steps: object }).steps).length;
      }
    }
    state.steps.join = ok("done");
    plan = planRun(def, state, useHint ? ["join"] : undefined);
    if (plan.finish?.status !== "SUCCEEDED") throw new Error("run did not finish");
    return { ms: performance.now() - started, joinInputKeys };
  }

  it("plans a 1 -> 1000 -> 1 fan-out after every completion quickly", () => {
    fanOut(true); // warm up (graph cache, JIT)
    const hinted = fanOut(true);
    const scanned = fanOut(false);
    console.log(
      `fan-out 1->${N}->1, ${N + 3} plans: ${hinted.ms.toFixed(1)} ms with hints, ${scanned.ms.toFixed(1)} ms full scans`,
    );
    expect(hinted.joinInputKeys).toBe(N);
    expect(hinted.ms).toBeLessThan(2000);
    expect(scanned.ms).toBeLessThan(2000);
  });
});
