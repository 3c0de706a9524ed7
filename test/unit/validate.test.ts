import { describe, it, expect } from "vitest";
import { DEFAULT_RETRY, TriggerRule } from "../../src/engine/model.js";
import type { JsonValue, StepDef, WorkflowDef } from "../../src/engine/model.js";
import { findCycles, topologicalOrder, validateWorkflowDef } from "../../src/engine/validate.js";

function step(id: string, dependsOn: string[] = [], extra: Partial<StepDef> = {}): StepDef {
  return {
    id,
    action: "echo",
    dependsOn,
    triggerRule: TriggerRule.ALL_SUCCEEDED,
    retry: { ...DEFAULT_RETRY },
    ...extra,
  };
}

function workflow(steps: StepDef[], extra: Partial<WorkflowDef> = {}): WorkflowDef {
  return {
    id: "wf",
    name: "",
    description: "",
    steps,
    on: { events: [], schedules: [] },
    webhooks: { onComplete: [], onFailure: [], onStep: [] },
    ...extra,
  };
}

const fields = (def: WorkflowDef) => validateWorkflowDef(def).map((v) => v.field);

describe("validateWorkflowDef", () => {
  it("accepts a valid workflow", () => {
    const def = workflow(
      [
        step("fetch", [], { input: { url: "${ input.url }", n: "${ input.n + 1 }" }, timeoutMs: 5000 }),
        step("parse", ["fetch"], { when: "steps.fetch.status == 200", triggerRule: TriggerRule.ALL_DONE }),
        step("store", ["parse", "fetch"], { retry: { ...DEFAULT_RETRY, maxAttempts: 3 } }),
      ],
      {
        output: "steps.store",
        on: { events: ["signup"], schedules: ["*/5 * * * *", "TZ=Europe/Paris 0 9 * * *"] },
        webhooks: { onComplete: ["https://example.com/hook"], onFailure: [], onStep: [] },
      },
    );
    expect(validateWorkflowDef(def)).toEqual([]);
  });

  it("requires steps", () => {
    expect(validateWorkflowDef(workflow([]))).toEqual([
      { field: "steps", description: expect.stringContaining("step") },
    ]);
  });

  it("names a three-step cycle in order", () => {
    // a depends on c, b on a, c on b: a -> b -> c -> a in execution order.
    const violations = validateWorkflowDef(workflow([step("a", ["c"]), step("b", ["a"]), step("c", ["b"])]));
    expect(violations).toEqual([
      { field: "steps[0].depends_on", description: expect.stringMatching(/^cycle: a -> b -> c -> a/) },
    ]);
  });

  it("names each cycle separately and ignores the valid part", () => {
    const def = workflow([
      step("start"),
      step("x", ["start", "y"]),
      step("y", ["x"]),
      step("p", ["r"]),
      step("q", ["p"]),
      step("r", ["q"]),
      step("end", ["start"]),
    ]);
    const violations = validateWorkflowDef(def);
    expect(violations).toEqual([
      { field: "steps[1].depends_on", description: expect.stringMatching(/^cycle: x -> y -> x/) },
      { field: "steps[3].depends_on", description: expect.stringMatching(/^cycle: p -> q -> r -> p/) },
    ]);
    expect(findCycles(def)).toEqual([
      ["x", "y", "x"],
      ["p", "q", "r", "p"],
    ]);
  });

  it("finds one cycle per tangled component", () => {
    const cycles = findCycles(workflow([step("a", ["b", "c"]), step("b", ["a"]), step("c", ["a"])]));
    expect(cycles).toHaveLength(1);
    expect(cycles[0]![0]).toBe("a");
    expect(cycles[0]!.at(-1)).toBe("a");
  });

  it("reports every violation at once", () => {
    const def = workflow(
      [
        step("a", ["a", "ghost", "b", "b"], {
          when: "input.x >",
          input: { list: ["ok", "${ steps.b.y + }"], u: "${ oops" },
        }),
        step("b", [], { retry: { ...DEFAULT_RETRY, initialIntervalMs: 5000, maxIntervalMs: 1000, maxAttempts: 0 } }),
        step("b", [], { action: "bad action", triggerRule: "SOMETIMES" as TriggerRule, timeoutMs: -1 }),
        step("9lives"),
      ],
      {
        id: "bad id!",
        output: "steps.(",
        on: { events: ["ok", " "], schedules: ["* * *", "TZ=Nowhere/Land 0 0 * * *"] },
        webhooks: { onComplete: ["ftp://x"], onFailure: ["not a url"], onStep: [] },
        timeoutMs: Number.NaN,
      },
    );
    expect(fields(def).sort()).toEqual(
      [
        "id",
        "steps[0].when",
        "steps[0].input.list[1]",
        "steps[0].input.u",
        "steps[0].depends_on[0]",
        "steps[0].depends_on[1]",
        "steps[0].depends_on[3]",
        "steps[1].retry.max_attempts",
        "steps[1].retry.max_interval",
        "steps[2].id",
        "steps[2].action",
        "steps[2].trigger_rule",
        "steps[2].timeout",
        "steps[3].id",
        "output",
        "on.events[1]",
        "on.schedules[0]",
        "on.schedules[1]",
        "webhooks.on_complete[0]",
        "webhooks.on_failure[0]",
        "timeout",
      ].sort(),
    );
    const byField = new Map(validateWorkflowDef(def).map((v) => [v.field, v.description]));
    expect(byField.get("steps[0].depends_on[0]")).toContain("itself");
    expect(byField.get("steps[0].depends_on[1]")).toContain('unknown step "ghost"');
    expect(byField.get("steps[0].depends_on[3]")).toContain("twice");
    expect(byField.get("steps[2].id")).toContain("steps[1]");
    expect(byField.get("steps[0].when")).toContain("syntax error");
    expect(byField.get("steps[0].input.u")).toContain("unterminated");
    expect(byField.get("on.schedules[1]")).toContain("Nowhere/Land");
  });

  it("checks input depth, NUL characters and lone surrogates", () => {
    let deep: JsonValue = "x";
    for (let i = 0; i < 70; i++) deep = [deep];
    expect(fields(workflow([step("a", [], { input: deep })]))).toEqual(["steps[0].input"]);
    expect(fields(workflow([step("a", [], { input: { s: "a\u0000" } })], { name: "n\u0000" }))).toEqual([
      "name",
      "steps[0].input.s",
    ]);
    expect(
      fields(workflow([step("a", [], { input: { "\udc00": "ok \ud83d\ude00" } })], { description: "d\ud800" })),
    ).toEqual(["description", 'steps[0].input["\\udc00"]']);
  });

  it("treats empty when and output as absent", () => {
    expect(validateWorkflowDef(workflow([step("a", [], { when: "" })], { output: "" }))).toEqual([]);
  });
});

describe("topologicalOrder", () => {
  it("puts dependencies first, declaration order among equals", () => {
    const def = workflow([step("d", ["b", "c"]), step("b", ["a"]), step("a"), step("c", ["a"]), step("e")]);
    expect(topologicalOrder(def)).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("leaves out steps on or behind a cycle", () => {
    expect(topologicalOrder(workflow([step("a"), step("b", ["c"]), step("c", ["b"]), step("d", ["b"])]))).toEqual([
      "a",
    ]);
  });
});
