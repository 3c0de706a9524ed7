/**
 * The import-cycle check behind `npm run lint`: which specifiers a file
 * names (type-only ones too), which file a relative one resolves to, and
 * the cycles of a graph, each shown as a path; then the real src/ and sdk/.
 */
import { describe, expect, it } from "vitest";
import { findCycles, importSpecifiers, readImportGraph, resolveImport } from "../../scripts/import-graph.js";

describe("importSpecifiers", () => {
  it.each([
    { name: "a value import", text: 'import { a } from "./a.js";', want: ["./a.js"] },
    { name: "a type-only import", text: 'import type { A } from "./a.js";', want: ["./a.js"] },
    { name: "a side-effect import", text: 'import "./setup.js";', want: ["./setup.js"] },
    {
      name: "re-exports",
      text: 'export * from "./a.js";\nexport type { B } from "./b.js";',
      want: ["./a.js", "./b.js"],
    },
    { name: "a dynamic import", text: 'const m = await import("./lazy.js");', want: ["./lazy.js"] },
    { name: "an import type", text: 'let x: import("./t.js").T;', want: ["./t.js"] },
    { name: "require", text: 'import fs = require("node:fs");', want: ["node:fs"] },
    { name: "a local export", text: "export const a = 1;", want: [] },
    { name: "a string that only looks like one", text: "const s = \"import x from './a.js'\";", want: [] },
  ])("$name", ({ text, want }) => {
    expect(importSpecifiers(text)).toEqual(want);
  });
});

describe("resolveImport", () => {
  const files = new Set(["src/store/types.ts", "src/store/records.ts", "src/engine/model.ts", "src/leases/index.ts"]);
  it.each([
    { from: "src/store/types.ts", spec: "./records.js", want: "src/store/records.ts" },
    { from: "src/store/types.ts", spec: "../engine/model.js", want: "src/engine/model.ts" },
    { from: "src/store/types.ts", spec: "../leases/index.js", want: "src/leases/index.ts" },
    { from: "src/store/types.ts", spec: "../leases", want: "src/leases/index.ts" },
    { from: "src/store/types.ts", spec: "../../gen/weft/v1/common_pb.js", want: undefined },
    { from: "src/store/types.ts", spec: "kysely", want: undefined },
    { from: "src/store/types.ts", spec: "node:fs", want: undefined },
  ])("$spec from $from", ({ from, spec, want }) => {
    expect(resolveImport(from, spec, files)).toBe(want);
  });
});

describe("findCycles", () => {
  const graph = (edges: Record<string, string[]>) => new Map(Object.entries(edges));
  it.each<{ name: string; edges: Record<string, string[]>; want: string[][] }>([
    { name: "none in a tree", edges: { a: ["b", "c"], b: ["c"], c: [] }, want: [] },
    { name: "two files", edges: { a: ["b"], b: ["a"] }, want: [["a", "b", "a"]] },
    {
      name: "the issue's: types → trigger-queries → schema → types",
      edges: { types: ["trigger-queries"], "trigger-queries": ["schema"], schema: ["types"], mappers: ["types"] },
      want: [["schema", "types", "trigger-queries", "schema"]],
    },
    { name: "a file importing itself", edges: { a: ["a", "b"], b: [] }, want: [["a", "a"]] },
    {
      name: "one per tangle, the shortest way back",
      edges: { a: ["b", "d"], b: ["c"], c: ["a"], d: ["a"], x: ["y"], y: ["x"] },
      want: [
        ["a", "d", "a"],
        ["x", "y", "x"],
      ],
    },
    { name: "edges to files outside the graph", edges: { a: ["gen"] }, want: [] },
  ])("$name", ({ edges, want }) => {
    expect(findCycles(graph(edges))).toEqual(want);
  });

  it("a long chain does not overflow the stack", () => {
    const n = 50_000;
    const edges = Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, [`f${(i + 1) % n}`]]));
    expect(findCycles(graph(edges))).toHaveLength(1);
  });
});

describe("src/ and sdk/", () => {
  it("import no cycle (the same check as npm run lint)", () => {
    const graph = readImportGraph(process.cwd(), ["src", "sdk"]);
    expect(graph.get("src/store/types.ts")).toContain("src/store/records.ts");
    expect(findCycles(graph)).toEqual([]);
  });
});
