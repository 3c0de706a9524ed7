import { describe, it, expect } from "vitest";
import { CelError, renderTemplate, templateExpressions } from "../../src/engine/cel.js";

const vars = { input: { x: 2, name: "ada", obj: { k: [1] } }, steps: { a: { count: 41 } } };

describe("templateExpressions", () => {
  it("finds every ${ } with its relative path", () => {
    const found = templateExpressions({
      url: "${ input.base }/x/${input.id}",
      n: 1,
      items: ["plain", "a", "${1}"],
      headers: { "Content-Type": "${ 'json' }" },
    });
    expect(found).toEqual([
      { path: "url", expr: " input.base " },
      { path: "url", expr: "input.id" },
      { path: "items[2]", expr: "1" },
      { path: 'headers["Content-Type"]', expr: " 'json' " },
    ]);
  });

  it("uses an empty path for a top-level string", () => {
    expect(templateExpressions("${x}")).toEqual([{ path: "", expr: "x" }]);
  });

  it("skips braces inside CEL strings and balances map literals", () => {
    expect(templateExpressions("${ 'a}b' + \"}\" }")).toEqual([{ path: "", expr: " 'a}b' + \"}\" " }]);
    expect(templateExpressions("${ {'k': 1}['k'] }")).toEqual([{ path: "", expr: " {'k': 1}['k'] " }]);
    expect(templateExpressions("${ r'\\' }")).toEqual([{ path: "", expr: " r'\\' " }]);
  });

  it("reports an unterminated ${", () => {
    const [found] = templateExpressions({ a: "x ${ input.y" });
    expect(found).toMatchObject({ path: "a", expr: " input.y" });
    expect(found?.error).toMatch(/unterminated/);
  });
});

describe("renderTemplate", () => {
  it("keeps the JSON type of a lone expression", () => {
    expect(renderTemplate("${ steps.a.count + 1 }", vars)).toBe(42);
    expect(renderTemplate("${input.x > 1}", vars)).toBe(true);
    expect(renderTemplate("${ input.obj }", vars)).toEqual({ k: [1] });
    expect(renderTemplate("${ null }", vars)).toBeNull();
  });

  it("interpolates into mixed strings", () => {
    expect(renderTemplate("hi ${input.name}, x=${ input.x }", vars)).toBe("hi ada, x=2");
    expect(renderTemplate("obj=${input.obj} ${null}", vars)).toBe('obj={"k":[1]} null');
    expect(renderTemplate(" ${input.x}", vars)).toBe(" 2");
  });

  it("renders objects and arrays recursively, leaving other values alone", () => {
    const out = renderTemplate({ a: ["${input.x}", 3, null, false], b: { c: "${input.name}" }, d: "plain" }, vars);
    expect(out).toEqual({ a: [2, 3, null, false], b: { c: "ada" }, d: "plain" });
  });

  it("throws CelError with the path of the failing string", () => {
    expect(() => renderTemplate({ a: { b: ["${ input.zz }"] } }, vars)).toThrow(/^a\.b\[0\]: .*zz/);
    expect(() => renderTemplate("${ input.x", vars)).toThrow(CelError);
  });
});
