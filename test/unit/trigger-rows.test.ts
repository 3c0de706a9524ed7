/**
 * What a trigger inserts, before any I/O: the run row a plan makes, one step
 * row per step in the state the plan decided, the first history events, the
 * key order that keeps two batches from deadlocking, and the versions the
 * definition cache can vouch for.
 */
import { describe, expect, it } from "vitest";
import type { WorkflowDef } from "../../src/engine/model.js";
import type { Plan } from "../../src/engine/planner.js";
import { DefCache } from "../../src/store/reads/def-cache.js";
import { byIdempotencyKey, chunks, newRows, prepareRun, type PlannedRun } from "../../src/store/writes/trigger-rows.js";
import { cachedVersions } from "../../src/store/writes/trigger-versions.js";
import { storedInput } from "../../src/store/writes/stored-input.js";
import { wf as engineWf, type StepSpec } from "./engine-fixtures.js";

/** The engine tests' workflow fixture, with "noop" as every step's default action. */
const wf = (steps: StepSpec[], extra: Partial<WorkflowDef> = {}): WorkflowDef =>
  engineWf(
    steps.map((s) => ({ action: "noop", ...s })),
    extra,
  );

/** A planned run with a hand-made plan, so the rows depend on nothing but `newRows`. */
function planned(def: WorkflowDef, plan: Partial<Plan>, runId = "r1"): PlannedRun {
  const run = prepareRun({ namespace: "default", workflowId: def.id, input: {} }, 1, def);
  return { ...run, runId, plan: { queue: [], skip: [], fail: [], ...plan } };
}

describe("newRows", () => {
  const def = wf([
    { id: "a", action: "fetch" },
    { id: "b", dependsOn: ["a"] },
    { id: "c", when: "false" },
    { id: "d", dependsOn: ["b"] },
  ]);
  const error = { message: "bad input", type: "EXPRESSION_ERROR" };
  const run = planned(def, {
    queue: [{ stepId: "a", input: { x: 1 } }],
    skip: [{ stepId: "c", reason: "when is false" }],
    fail: [{ stepId: "b", error }],
  });

  it("one step row per step: the plan's state, else PENDING; a queued step carries its input, a failed one its error", () => {
    expect(newRows([run]).steps).toEqual([
      { run_id: "r1", step_id: "a", action: "fetch", status: "QUEUED", input: { v: { x: 1 } } },
      { run_id: "r1", step_id: "b", action: "noop", status: "FAILED", error },
      { run_id: "r1", step_id: "c", action: "noop", status: "SKIPPED" },
      { run_id: "r1", step_id: "d", action: "noop", status: "PENDING" },
    ]);
  });

  it("events: the run PENDING, then queued, skipped and failed steps, then the finish if the plan has one", () => {
    const finished = { ...run, plan: { ...run.plan, finish: { status: "FAILED" as const, error } } };
    expect(newRows([finished]).events).toEqual([
      { run_id: "r1", type: "RUN_STATUS", run_status: "PENDING" },
      { run_id: "r1", type: "STEP_STATUS", step_id: "a", step_status: "QUEUED" },
      { run_id: "r1", type: "STEP_STATUS", step_id: "c", step_status: "SKIPPED", message: "when is false" },
      { run_id: "r1", type: "STEP_STATUS", step_id: "b", step_status: "FAILED", error },
      { run_id: "r1", type: "RUN_STATUS", run_status: "FAILED", error },
    ]);
    expect(newRows([run]).events).toHaveLength(4);
  });

  it.each([
    { timeoutMs: 1500.2, heartbeatTimeoutMs: undefined, want: { timeout_ms: 1501 } },
    { timeoutMs: undefined, heartbeatTimeoutMs: 2.5, want: { heartbeat_timeout_ms: 3 } },
    { timeoutMs: undefined, heartbeatTimeoutMs: 1e12, want: { heartbeat_timeout_ms: 2_147_483_647 } },
    { timeoutMs: 0, heartbeatTimeoutMs: 0, want: {} },
  ])("timeouts %o: whole milliseconds, clamped to an integer column", ({ timeoutMs, heartbeatTimeoutMs, want }) => {
    const [row] = newRows([planned(wf([{ id: "a", timeoutMs, heartbeatTimeoutMs }]), {})]).steps;
    expect(row).toEqual({ run_id: "r1", step_id: "a", action: "noop", status: "PENDING", ...want });
  });

  it("several runs: the run rows in order, each run's steps and events together", () => {
    const rows = newRows([planned(wf([{ id: "a" }]), {}, "r1"), planned(wf([{ id: "a" }, { id: "b" }]), {}, "r2")]);
    expect(rows.runs).toHaveLength(2);
    expect(rows.steps.map((s) => `${s.run_id}/${s.step_id}`)).toEqual(["r1/a", "r2/a", "r2/b"]);
    expect(rows.events.map((e) => e.run_id)).toEqual(["r1", "r2"]);
  });
});

describe("stored step inputs", () => {
  it("stores a default input without the run input it repeats, flagged for the claim to add back", () => {
    const run = prepareRun({ namespace: "default", workflowId: "w", input: { n: 1 } }, 1, wf([{ id: "a" }]));
    expect(newRows([run]).steps[0]).toMatchObject({ input: { v: { steps: {} } }, merge_run_input: true });
  });

  it("stores an input a template built in full, even one equal to the default", () => {
    const equal = { input: "${ input }", steps: {} };
    const run = prepareRun(
      { namespace: "default", workflowId: "w", input: { n: 1 } },
      1,
      wf([{ id: "a", input: equal }]),
    );
    const [row] = newRows([run]).steps;
    expect(row?.input).toEqual({ v: { input: { n: 1 }, steps: {} } });
    expect(row).not.toHaveProperty("merge_run_input");
  });

  it("stores a dependency's default input without the run input (the completion's path)", () => {
    const runInput = { n: 1 };
    expect(storedInput({ input: runInput, steps: { a: 7 } }, runInput)).toEqual({
      input: { v: { steps: { a: 7 } } },
      merge_run_input: true,
    });
    expect(storedInput({ input: { n: 1 }, steps: {} }, runInput)).toEqual({
      input: { v: { input: { n: 1 }, steps: {} } },
    });
    expect(storedInput(runInput, runInput)).toEqual({ input: { v: runInput } });
  });
});

describe("prepareRun", () => {
  it("plans the run: a QUEUED root with its rendered input, the row PENDING and not finished", () => {
    const run = prepareRun(
      { namespace: "default", workflowId: "w", input: { n: 1 }, idempotencyKey: "k" },
      3,
      wf([{ id: "a" }]),
    );
    expect(run.plan.queue).toEqual([{ stepId: "a", input: { input: { n: 1 }, steps: {} } }]);
    expect(run).toMatchObject({ namespace: "default", workflowId: "w", key: "k" });
    expect(run.row).toEqual({
      id: run.runId,
      namespace: "default",
      workflow_id: "w",
      workflow_version: 3,
      pinned: false,
      status: "PENDING",
      input: { v: { n: 1 } },
      idempotency_key: "k",
      trigger: "api",
      deadline_ms: null,
      finished: false,
      output: null,
      error: null,
    });
  });

  it("a plan that settles the run at once makes the row finished, with the run's output", () => {
    const run = prepareRun({ namespace: "default", workflowId: "w", input: {} }, 1, wf([{ id: "a", when: "false" }]));
    expect(run.row).toMatchObject({ status: "SUCCEEDED", finished: true, output: { v: {} }, error: null });
  });

  it("a pinned version, a workflow timeout and a trace context reach the row", () => {
    const run = prepareRun(
      { namespace: "default", workflowId: "w", version: 2, input: {}, traceparent: "00-abc-def-01" },
      2,
      wf([{ id: "a" }], { timeoutMs: 60_000 }),
    );
    expect(run.row).toMatchObject({ pinned: true, deadline_ms: 60_000, traceparent: "00-abc-def-01" });
    expect(
      prepareRun({ namespace: "default", workflowId: "w", input: {} }, 1, wf([{ id: "a" }])).row,
    ).not.toHaveProperty("traceparent");
  });

  it("each run gets its own id", () => {
    const def = wf([{ id: "a" }]);
    expect(prepareRun({ namespace: "default", workflowId: "w", input: {} }, 1, def).runId).not.toBe(
      prepareRun({ namespace: "default", workflowId: "w", input: {} }, 1, def).runId,
    );
  });
});

describe("byIdempotencyKey", () => {
  const run = (workflowId: string, key: string | undefined) => ({ ...planned(wf([{ id: "a" }]), {}), workflowId, key });
  it.each([
    { runs: [run("w", "b"), run("w", "a")], want: ["w:a", "w:b"] },
    { runs: [run("w", undefined), run("w", "a")], want: ["w:a", "w:-"] },
    { runs: [run("y", "a"), run("x", "z")], want: ["x:z", "y:a"] },
    {
      runs: [run("w", "a"), run("w", undefined), run("v", "b"), run("w", undefined)],
      want: ["v:b", "w:a", "w:-", "w:-"],
    },
  ])("keyed runs first, by workflow then key: $want", ({ runs, want }) => {
    expect([...runs].sort(byIdempotencyKey).map((r) => `${r.workflowId}:${r.key ?? "-"}`)).toEqual(want);
  });
});

describe("chunks", () => {
  it.each([
    { n: 0, size: 2, want: [] },
    { n: 2, size: 2, want: [2] },
    { n: 5, size: 2, want: [2, 2, 1] },
  ])("$n rows by $size: $want", ({ n, size, want }) => {
    const rows = Array.from({ length: n }, (_, i) => i);
    const got = [...chunks(rows, size)];
    expect(got.map((c) => c.length)).toEqual(want);
    expect(got.flat()).toEqual(rows);
  });
});

describe("cachedVersions", () => {
  const def = wf([{ id: "a" }]);
  const cache = () => {
    const defs = new DefCache();
    defs.noteLatest("default", "w", 3);
    defs.put("default", "w", 3, def);
    defs.put("default", "w", 1, def);
    return defs;
  };

  it("the latest version the cache believes, with any pinned version it holds", () => {
    const versions = cachedVersions(
      [
        { namespace: "default", workflowId: "w", input: {} },
        { namespace: "default", workflowId: "w", version: 1, input: {} },
      ],
      cache(),
    );
    expect(versions).toEqual(new Map([["default\u0000w", { latest: 3, versions: new Set([3, 1]) }]]));
  });

  it.each([
    {
      why: "a workflow whose latest version it does not know",
      inputs: [{ namespace: "default", workflowId: "other", input: {} }],
    },
    {
      why: "a pinned version it does not hold",
      inputs: [{ namespace: "default", workflowId: "w", version: 2, input: {} }],
    },
  ])("undefined (read the database) for $why", ({ inputs }) => {
    expect(cachedVersions(inputs, cache())).toBeUndefined();
  });

  it("undefined when the latest version is known but its definition is not cached", () => {
    const defs = new DefCache();
    defs.noteLatest("default", "w", 3);
    expect(cachedVersions([{ namespace: "default", workflowId: "w", input: {} }], defs)).toBeUndefined();
  });
});
