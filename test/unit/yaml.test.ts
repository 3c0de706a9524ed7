import { describe, it, expect } from "vitest";
import { normalizeSpecJson, parseWorkflowYaml } from "../../src/engine/yaml.js";

describe("parseWorkflowYaml", () => {
  it("parses a workflow mapping", () => {
    const text = ["id: hello", "on:", "  events: [signup]", "steps:", "  - id: a", "    action: echo", ""].join("\n");
    expect(parseWorkflowYaml(text)).toEqual({
      ok: true,
      value: { id: "hello", on: { events: ["signup"] }, steps: [{ id: "a", action: "echo" }] },
    });
  });

  it("reports a syntax error with line and column", () => {
    const r = parseWorkflowYaml("id: x\nsteps:\n  - id: a\n    x: : y\n");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[0]).toMatchObject({ line: 4, column: 8 });
    expect(r.errors[0]!.message).not.toContain("\n");
  });

  it("reports an unclosed flow sequence", () => {
    const r = parseWorkflowYaml("a: [1, 2\nb: 3\n");
    expect(r).toMatchObject({ ok: false, errors: [{ line: 2, column: 1 }] });
  });

  it("reports duplicate keys where the duplicate is", () => {
    const r = parseWorkflowYaml("id: a\nsteps: []\nid: b\n");
    expect(r).toEqual({ ok: false, errors: [{ line: 3, column: 1, message: "Map keys must be unique" }] });
  });

  it("reports every error", () => {
    const r = parseWorkflowYaml("a: .nan\nb: !!binary aGVsbG8=\nc: *nowhere\n");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.line)).toEqual([1, 2, 3]);
  });

  it("requires a mapping at the top level", () => {
    for (const text of ["- 1\n", "", "just text"]) {
      const r = parseWorkflowYaml(text);
      expect(r).toMatchObject({ ok: false, errors: [{ line: 1, column: 1 }] });
    }
  });

  it("rejects several documents", () => {
    expect(parseWorkflowYaml("a: 1\n---\nb: 2\n").ok).toBe(false);
  });

  it("reads `on` as a key, not a boolean", () => {
    expect(parseWorkflowYaml("on:\n  schedules: ['* * * * *']\n")).toEqual({
      ok: true,
      value: { on: { schedules: ["* * * * *"] } },
    });
  });
});

describe("normalizeSpecJson", () => {
  it("prefixes trigger rules", () => {
    const out = normalizeSpecJson({
      steps: [
        { id: "a", trigger_rule: "ALL_DONE" },
        { id: "b", triggerRule: "any-failed" },
        { id: "c", trigger_rule: "TRIGGER_RULE_ALL_SUCCEEDED" },
      ],
    });
    expect(out.steps).toEqual([
      { id: "a", trigger_rule: "TRIGGER_RULE_ALL_DONE" },
      { id: "b", triggerRule: "TRIGGER_RULE_ANY_FAILED" },
      { id: "c", trigger_rule: "TRIGGER_RULE_ALL_SUCCEEDED" },
    ]);
  });

  it("turns friendly durations into proto JSON durations", () => {
    const out = normalizeSpecJson({
      timeout: "1h30m",
      steps: [
        {
          id: "a",
          timeout: 30,
          heartbeat_timeout: "500ms",
          retry: { initial_interval: 0.5, max_interval: "5m", maxAttempts: 3 },
          input: { timeout: 5, delay: "1m" },
        },
        { id: "b", heartbeatTimeout: "0.2s", timeout: "soon" },
      ],
    });
    expect(out).toEqual({
      timeout: "5400s",
      steps: [
        {
          id: "a",
          timeout: "30s",
          heartbeat_timeout: "0.5s",
          retry: { initial_interval: "0.5s", max_interval: "300s", maxAttempts: 3 },
          input: { timeout: 5, delay: "1m" },
        },
        { id: "b", heartbeatTimeout: "0.2s", timeout: "soon" },
      ],
    });
  });

  it("wraps lone strings where lists are expected and does not modify its argument", () => {
    const spec = { on: { events: "signup" }, steps: [{ id: "b", depends_on: "a" }] };
    const before = JSON.stringify(spec);
    expect(normalizeSpecJson(spec)).toEqual({ on: { events: ["signup"] }, steps: [{ id: "b", depends_on: ["a"] }] });
    expect(JSON.stringify(spec)).toBe(before);
  });
});
