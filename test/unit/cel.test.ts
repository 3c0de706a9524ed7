import { describe, it, expect } from "vitest";
import { CelError, checkCel, evalCel } from "../../src/engine/cel.js";

describe("checkCel", () => {
  it("accepts valid expressions", () => {
    expect(checkCel("input.x > 3")).toBeUndefined();
    expect(checkCel("steps.a.items.exists(i, i.ok) && run.id != ''")).toBeUndefined();
  });

  it("reports a parse error with its position", () => {
    expect(checkCel("input.x >")).toMatch(/^syntax error at column \d+: /);
    expect(checkCel("a +\n b )")).toMatch(/^syntax error at line 2, column 4: /);
    expect(checkCel("")).toMatch(/syntax error/);
  });

  it("does not reject unknown names", () => {
    expect(checkCel("whatever.nobody.declared")).toBeUndefined();
  });
});

describe("evalCel", () => {
  it("adds an int literal to a JSON number", () => {
    expect(evalCel("steps.a.count + 1", { steps: { a: { count: 2 } } })).toBe(3);
  });

  it("compares JSON numbers with int literals", () => {
    expect(evalCel("input.x > 3", { input: { x: 5 } })).toBe(true);
    expect(evalCel("input.x > 3", { input: { x: 2 } })).toBe(false);
    expect(evalCel("input.x == 5", { input: { x: 5 } })).toBe(true);
  });

  it("supports mixed arithmetic and remainder on doubles", () => {
    expect(evalCel("input.n % 2 == 1", { input: { n: 5 } })).toBe(true);
    expect(evalCel("2 * input.price", { input: { price: 1.25 } })).toBe(2.5);
    expect(evalCel("size(input.l) - input.n", { input: { l: [1, 2, 3], n: 1 } })).toBe(2);
    expect(evalCel("7 / 2", {})).toBe(3);
  });

  it("converts results back to plain JSON", () => {
    expect(evalCel("{'a': [1, 2.5, 'x', null, true], 2: {}}", {})).toEqual({ a: [1, 2.5, "x", null, true], "2": {} });
    expect(evalCel("input", { input: { nested: { l: [1] } } })).toEqual({ nested: { l: [1] } });
    expect(evalCel("9223372036854775807", {})).toBe("9223372036854775807");
    expect(evalCel("3u", {})).toBe(3);
    expect(evalCel("b'ab'", {})).toBe("YWI=");
    expect(evalCel("duration('90s')", {})).toBe("90s");
    expect(evalCel("timestamp('2024-01-02T03:04:05.5Z')", {})).toBe("2024-01-02T03:04:05.5Z");
    expect(evalCel("type(1)", {})).toBe("int");
  });

  it("keeps a __proto__ key as data", () => {
    const out = evalCel("{'__proto__': 1}", {}) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });

  it("offers the strings extension", () => {
    expect(evalCel("input.s.upperAscii()", { input: { s: "abc" } })).toBe("ABC");
  });

  it("throws CelError for a missing key, naming it and the position", () => {
    const err = catchError(() => evalCel("input.missing", { input: {} }));
    expect(err).toBeInstanceOf(CelError);
    expect(err.name).toBe("CelError");
    expect(err.message).toContain("missing");
    expect(err.message).toContain("column 6");
    expect(err.expression).toBe("input.missing");
  });

  it("names an unknown variable and the known ones", () => {
    const err = catchError(() => evalCel("nope.x", { input: {}, steps: {} }));
    expect(err.message).toContain('unknown variable "nope"');
    expect(err.message).toContain("input, steps");
  });

  it("throws CelError for type mismatches, bad syntax and non-JSON results", () => {
    expect(catchError(() => evalCel("'a' + 1", {})).message).toContain("no matching overload");
    expect(catchError(() => evalCel("1 +", {})).message).toContain("syntax error");
    expect(catchError(() => evalCel("1.0 / 0.0", {})).message).toContain("Infinity");
    expect(catchError(() => evalCel("1 / 0", {})).message).toContain("divide by zero");
  });

  it("gives the same answers from the cache", () => {
    for (let i = 0; i < 3; i++) expect(evalCel("input.i * 2", { input: { i } })).toBe(i * 2);
  });

  it("keeps working after more than 1000 distinct expressions", () => {
    for (let i = 0; i < 1100; i++) expect(evalCel(`${i} + 1`, {})).toBe(i + 1);
    expect(evalCel("0 + 1", {})).toBe(1);
  });
});

function catchError(fn: () => unknown): CelError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CelError) return err;
    throw err;
  }
  throw new Error("expected a CelError");
}
