import { describe, expect, it } from "vitest";
import { StepSpecSchema, WorkflowSpecSchema } from "../../gen/weft/v1/common_pb.js";
import { findJsonProblems } from "../../src/api/json-problems.js";
import { closestName } from "../../src/engine/suggest.js";
import { yamlLocator } from "../../src/engine/yaml.js";

describe("closestName", () => {
  it("matches case, _ and - first, then a typo or two", () => {
    expect(closestName("dependson", ["id", "action", "depends_on"])).toBe("depends_on");
    expect(closestName("workflowID", ["workflowId", "version"])).toBe("workflowId");
    expect(closestName("stepz", ["id", "steps"])).toBe("steps");
    expect(closestName("acton", ["id", "action"])).toBe("action");
    expect(closestName("colour", ["id", "steps"])).toBeUndefined();
    expect(closestName("ib", ["id", "on"])).toBe("id");
  });
});

describe("yamlLocator", () => {
  const text = "id: w\nsteps:\n  - id: a\n    dependson: [b]\n    depends_on: c\n    timeout:\n";
  const locate = yamlLocator(text);

  it("places a key, a value, and a path deeper than the text at its deepest node", () => {
    expect(locate(["steps", 0, "dependson"], "key")).toEqual({ line: 4, column: 5 });
    expect(locate(["steps", 0, "dependson"])).toEqual({ line: 4, column: 16 });
    expect(locate(["steps", 0, "depends_on", 0])).toEqual({ line: 5, column: 17 });
    // An empty value is placed right after its colon.
    expect(locate(["steps", 0, "timeout"])).toEqual({ line: 6, column: 13 });
  });
});

describe("findJsonProblems", () => {
  it("lists every problem with its path, not only the first", () => {
    const problems = findJsonProblems(WorkflowSpecSchema, {
      id: 7,
      stepz: [],
      steps: [{ id: "a", action: "x", timeout: "banana", retry: { max_attempts: "lots" }, depends_on: "a" }],
    });
    expect(problems).toEqual([
      { path: ["id"], at: "value", message: 'expected a string, got 7 (quote it: "7")' },
      { path: ["stepz"], at: "key", message: "unknown key (did you mean steps?)" },
      {
        path: ["steps", 0, "timeout"],
        at: "value",
        message: 'expected a duration such as 30s, 500ms or 1h30m, got "banana"',
      },
      { path: ["steps", 0, "retry", "max_attempts"], at: "value", message: 'expected number (int32), got "lots"' },
      { path: ["steps", 0, "depends_on"], at: "value", message: 'expected a list, got "a"' },
    ]);
  });

  it("names enum values without their prefix, and a field set twice", () => {
    expect(findJsonProblems(StepSpecSchema, { trigger_rule: "TRIGGER_RULE_SOON", triggerRule: "ALL_DONE" })).toEqual([
      {
        path: ["trigger_rule"],
        at: "value",
        message: 'expected one of ALL_SUCCEEDED, ALL_DONE, ANY_FAILED, got "SOON"',
      },
      { path: ["triggerRule"], at: "key", message: "trigger_rule is set already" },
    ]);
  });

  it("finds nothing in what decodes", () => {
    const ok = { id: "w", steps: [{ id: "a", action: "x", input: { any: [1, { b: null }] }, timeout: "30s" }] };
    expect(findJsonProblems(WorkflowSpecSchema, ok)).toEqual([]);
  });
});
