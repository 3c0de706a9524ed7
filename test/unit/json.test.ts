import { describe, it, expect } from "vitest";
import {
  findUnstorableStrings,
  jsonDepth,
  pathConcat,
  pathJoin,
  stableStringify,
  unstorableText,
} from "../../src/engine/json.js";
import type { JsonValue } from "../../src/engine/model.js";

describe("jsonDepth", () => {
  it("counts a scalar as 1 and each container as one more", () => {
    expect(jsonDepth(1)).toBe(1);
    expect(jsonDepth(null)).toBe(1);
    expect(jsonDepth({})).toBe(1);
    expect(jsonDepth({ a: 1 })).toBe(2);
    expect(jsonDepth([[1]])).toBe(3);
    expect(jsonDepth({ a: [1, { b: "x" }], c: 2 })).toBe(4);
  });

  it("handles very deep values without recursion", () => {
    let v: JsonValue = 0;
    for (let i = 0; i < 100_000; i++) v = [v];
    expect(jsonDepth(v)).toBe(100_001);
  });
});

describe("findUnstorableStrings", () => {
  const paths = (v: JsonValue, at: string) =>
    findUnstorableStrings(v, at)
      .map((f) => f.path)
      .sort();

  it("finds strings and keys with NUL", () => {
    const v = { ok: "fine", bad: "a\u0000b", list: ["x", "\u0000"], "k\u0000": 1 };
    expect(paths(v, "input")).toEqual(["input.bad", "input.list[1]", 'input["k\\u0000"]'].sort());
    expect(paths({ fine: ["yes"] }, "")).toEqual([]);
    expect(findUnstorableStrings("\u0000", "output")).toEqual([
      { path: "output", problem: "the NUL character (\\u0000)" },
    ]);
  });

  it("finds lone surrogates in strings and keys, but not whole pairs", () => {
    const v = { pair: "\ud83d\ude00", high: "a\ud800", low: ["\udc00b"], swapped: "\ude00\ud83d", "\ud800": 1 };
    expect(paths(v, "input")).toEqual(["input.high", "input.low[0]", "input.swapped", 'input["\\ud800"]'].sort());
    expect(findUnstorableStrings("\ud800", "")[0]?.problem).toMatch(/lone UTF-16 surrogate/);
    expect(unstorableText("ok \ud83d\ude00")).toBeUndefined();
  });
});

describe("stableStringify", () => {
  it("sorts keys at every level", () => {
    expect(stableStringify({ b: 1, a: { d: [true, null], c: "x" } })).toBe('{"a":{"c":"x","d":[true,null]},"b":1}');
    expect(stableStringify({ x: 1, y: 2 })).toBe(stableStringify({ y: 2, x: 1 }));
    expect(stableStringify("s")).toBe('"s"');
  });
});

describe("paths", () => {
  it("joins keys and indices", () => {
    expect(pathJoin("a", "b")).toBe("a.b");
    expect(pathJoin("a", 0)).toBe("a[0]");
    expect(pathJoin("", "b")).toBe("b");
    expect(pathJoin("a", "x-y")).toBe('a["x-y"]');
    expect(pathConcat("steps[0].input", "url")).toBe("steps[0].input.url");
    expect(pathConcat("steps[0].input", "[1]")).toBe("steps[0].input[1]");
    expect(pathConcat("output", "")).toBe("output");
  });
});
