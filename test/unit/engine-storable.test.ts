import { describe, expect, it } from "vitest";
import { planInitial, planRun } from "../../src/engine/planner.js";
import { settlePlan } from "../../src/engine/settle-plan.js";
import { nulFailure, scrubFailure, scrubNul, tooLarge, utf8Length } from "../../src/engine/storable.js";
import { RUN_ID, wf } from "./engine-fixtures.js";

describe("settlePlan", () => {
  it("fails a root whose first input cannot be stored, skips its dependents and finishes the run", () => {
    const state = { runId: RUN_ID, workflowId: "w", workflowVersion: 1, status: "PENDING" as const, input: "\u0000" };
    const pair = wf([{ id: "a" }, { id: "b", dependsOn: ["a"] }]);
    const plan = settlePlan(pair, { ...state, steps: {} }, planInitial(pair, state));
    expect(plan.queue).toEqual([]);
    expect(plan.skip.map((s) => s.stepId)).toEqual(["b"]);
    expect(plan.fail.map((f) => [f.stepId, f.error.type])).toEqual([["a", "INVALID_INPUT"]]);
    expect(plan.finish).toMatchObject({ status: "FAILED", error: { type: "INVALID_INPUT" } });
  });

  it("scrubs NULs from expression error text and records the decided statuses in the state", () => {
    const def = wf([{ id: "a" }, { id: "b", dependsOn: ["a"], when: 'steps.a["k\u0000"] > 1' }]);
    const state = {
      runId: RUN_ID,
      workflowId: "w",
      workflowVersion: 1,
      status: "RUNNING" as const,
      input: {},
      steps: { a: { status: "SUCCEEDED" as const, attempts: 1, output: {} } },
    };
    const plan = settlePlan(def, state, planRun(def, state, ["a"]));
    expect(plan.fail).toHaveLength(1);
    expect(plan.fail[0]!.error.message).toContain("field not found: k\uFFFD");
    expect(plan.fail[0]!.error.message).not.toContain("\u0000");
    expect(state.steps).toMatchObject({ b: { status: "FAILED", attempts: 0 } });
  });
});

describe("storable text", () => {
  const SIZES: [string, string][] = [
    ["empty", ""],
    ["ASCII", '{"a":[1,2,"three"]}'],
    ["two-byte", "héllo"],
    ["three-byte", "€ and ✓"],
    ["a surrogate pair", "😀!"],
    ["a lone high surrogate", "a\ud800b"],
    ["a lone low surrogate", "a\udc00"],
    ["a high surrogate at the end", "x\ud83d"],
    ["non-ASCII after a long ASCII run", `${"x".repeat(10_000)}ü${"y".repeat(100)}`],
    ["non-ASCII first, then a long ASCII run", `é${"x".repeat(10_000)}`],
    ["non-ASCII runs between ASCII", "aé€b😀c ü d\u07ff\u0800e"],
    ["non-ASCII separated by ASCII gaps of 7, 8 and 9", `é${"a".repeat(7)}é${"b".repeat(8)}😀${"c".repeat(9)}\ud800`],
    ["French prose", "Le café était très élégant, à côté de l'hôtel. ".repeat(50)],
    ["mixed", "日本語 text 😀 ü \u0000 \u007f \u0080 \u07ff \u0800 \uffff"],
  ];

  it.each(SIZES)("utf8Length counts %s as Buffer.byteLength does", (_name, text) => {
    expect(utf8Length(text)).toBe(Buffer.byteLength(text, "utf8"));
  });

  it("tooLarge refuses only above the limit, counting UTF-8 bytes of the JSON text", () => {
    expect(tooLarge("é".repeat(10), 22, "v")).toBeUndefined(); // "…" is 2 + 20 bytes
    expect(tooLarge("é".repeat(10), 21, "v")).toMatchObject({ type: "PAYLOAD_TOO_LARGE", message: /is 22 bytes/ });
    expect(tooLarge("x".repeat(1000), Number.POSITIVE_INFINITY, "v")).toBeUndefined();
    expect(tooLarge({ k: "😀" }, 12, "v")).toBeUndefined(); // {"k":"😀"} is 8 + 4 bytes
    expect(tooLarge({ k: "😀" }, 11, "v")).toBeDefined();
  });

  it("nulFailure names where, scrubNul and scrubFailure clean server text", () => {
    expect(nulFailure({ ok: "fine" }, "output", "INVALID_OUTPUT")).toBeUndefined();
    expect(nulFailure({ "k\u0000": 1 }, "output", "INVALID_OUTPUT")).toEqual({
      type: "INVALID_OUTPUT",
      message: 'output holds text that cannot be stored, at output["k\\u0000"] (the NUL character (\\u0000))',
      retryable: false,
    });
    expect(scrubNul("a\u0000b\u0000")).toBe("a\uFFFDb\uFFFD");
    expect(scrubFailure({ type: "T\u0000", message: "m\u0000", retryable: false })).toEqual({
      type: "T\uFFFD",
      message: "m\uFFFD",
      retryable: false,
    });
  });
});
