/**
 * The console's YAML view of a spec and its line diff between two versions.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { diffLines, toYaml } from "../../console/src/yaml.js";

describe("toYaml", () => {
  it("writes a spec that reads back as the same value", () => {
    const spec = {
      id: "etl",
      description: "extract: then load",
      steps: [
        { id: "extract", action: "etl.extract", input: { url: "https://x/y", n: 3, on: true, empty: {} } },
        { id: "load", action: "etl.load", depends_on: ["extract"], when: "${ steps.extract.n > 0 }", tags: [] },
      ],
      on: { schedules: ["*/5 * * * *"] },
      weird: ["yes", "null", "12", "a: b", " padded", "line\nbreak"],
    };
    const text = toYaml(spec);
    expect(parse(text)).toEqual(spec);
    expect(text).toContain("  - id: extract\n    action: etl.extract\n");
  });
});

describe("diffLines", () => {
  it("keeps common lines and shows a removal before the addition that replaces it", () => {
    expect(diffLines("a\nb\nc", "a\nB\nc\nd")).toEqual([
      { op: " ", text: "a" },
      { op: "-", text: "b" },
      { op: "+", text: "B" },
      { op: " ", text: "c" },
      { op: "+", text: "d" },
    ]);
  });

  it("gives an empty diff for equal texts and all lines for disjoint ones", () => {
    expect(diffLines("x\ny", "x\ny").every((l) => l.op === " ")).toBe(true);
    expect(diffLines("x", "y").map((l) => l.op)).toEqual(["-", "+"]);
  });
});
