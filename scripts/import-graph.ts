/**
 * The graph of relative imports between the TypeScript files of some
 * folders, and the cycles in it. Every kind of import is an edge: value and
 * type-only imports, re-exports, `import("…")` calls and types: a cycle
 * through types alone still ties the files' meanings together (issue 13
 * named one: store/types.ts → trigger-queries.ts → schema.ts).
 * `scripts/check-imports.ts` runs it for `npm run lint`.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

/** File → the files it imports, both as paths relative to the root, `/`-separated. */
export type ImportGraph = Map<string, string[]>;

/**
 * Every module specifier in a file's text: imports (`import type` too),
 * re-exports, `import x = require(…)`, dynamic `import(…)` and `import("…").T` types.
 *
 * @example
 *   importSpecifiers('import type { A } from "./a.js";\nexport * from "./b.js";'); // ["./a.js", "./b.js"]
 */
export function importSpecifiers(text: string): string[] {
  const source = ts.createSourceFile("file.ts", text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: string[] = [];
  const literal = (node: ts.Node | undefined) => {
    if (node !== undefined && ts.isStringLiteralLike(node)) found.push(node.text);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) literal(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      literal(node.moduleReference.expression);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      literal(node.arguments[0]);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      literal(node.argument.literal);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/**
 * The file a relative specifier names, among `files`; undefined for a
 * package, `node:` module or file outside the set. `./x.js` names `x.ts`
 * (NodeNext: imports carry the extension of the emitted file).
 *
 * @example
 *   resolveImport("src/store/types.ts", "./records.js", new Set(["src/store/records.ts"])); // "src/store/records.ts"
 */
export function resolveImport(from: string, specifier: string, files: ReadonlySet<string>): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const target = path.posix.join(path.posix.dirname(from), specifier);
  const stem = target.replace(/\.(?:js|ts|mjs|mts)$/, "");
  for (const candidate of [`${stem}.ts`, `${stem}.mts`, target, `${target}/index.ts`]) {
    if (files.has(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The graph of the `.ts` files under `folders` (relative to `root`), with
 * an edge for every relative import between two of them.
 *
 * @example
 *   const graph = readImportGraph(process.cwd(), ["src", "sdk"]);
 */
export function readImportGraph(root: string, folders: readonly string[]): ImportGraph {
  const files = new Set(folders.flatMap((folder) => listTypeScript(root, folder)));
  const graph: ImportGraph = new Map();
  for (const file of [...files].sort()) {
    const text = readFileSync(path.join(root, file), "utf8");
    const targets = importSpecifiers(text).map((s) => resolveImport(file, s, files));
    graph.set(file, [...new Set(targets.filter((t) => t !== undefined))].sort());
  }
  return graph;
}

function listTypeScript(root: string, folder: string): string[] {
  const entries = readdirSync(path.join(root, folder), { withFileTypes: true });
  return entries.flatMap((entry) => {
    const file = path.posix.join(folder, entry.name);
    if (entry.isDirectory()) return listTypeScript(root, file);
    return /\.m?ts$/.test(entry.name) && !entry.name.endsWith(".d.ts") ? [file] : [];
  });
}

/**
 * One cycle for each group of files that import one another (a strongly
 * connected component), as a path from its first file (in sort order) back
 * to it, shortest first found; a file importing itself is a cycle of one.
 * Breaking the cycle shown may leave another in the same group: the next
 * run shows it.
 *
 * @example
 *   findCycles(new Map([["a", ["b"]], ["b", ["a"]], ["c", []]])); // [["a", "b", "a"]]
 */
export function findCycles(graph: ImportGraph): string[][] {
  return stronglyConnected(graph)
    .filter((group) => group.length > 1 || (graph.get(group[0]!) ?? []).includes(group[0]!))
    .map((group) => shortestCycle(graph, new Set(group)))
    .sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

/** Tarjan's algorithm, iterative (a deep import chain must not overflow the stack). Groups come out sorted. */
function stronglyConnected(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const groups: string[][] = [];
  for (const start of [...graph.keys()].sort()) {
    if (index.has(start)) continue;
    const work: { node: string; next: number }[] = [{ node: start, next: 0 }];
    index.set(start, index.size);
    low.set(start, index.get(start)!);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const edges = graph.get(frame.node) ?? [];
      if (frame.next < edges.length) {
        const to = edges[frame.next++]!;
        if (!index.has(to)) {
          index.set(to, index.size);
          low.set(to, index.get(to)!);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, next: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const group: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          group.push(member);
        } while (member !== frame.node);
        groups.push(group.sort());
      }
    }
  }
  return groups;
}

/** Breadth-first from the group's first file back to it, staying inside the group. */
function shortestCycle(graph: ImportGraph, group: ReadonlySet<string>): string[] {
  const start = [...group].sort()[0]!;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i]!;
    for (const to of graph.get(node) ?? []) {
      if (!group.has(to)) continue;
      if (to === start) {
        const back: string[] = [];
        for (let at = node; at !== start; at = cameFrom.get(at)!) back.push(at);
        return [start, ...back.reverse(), start];
      }
      if (!cameFrom.has(to)) {
        cameFrom.set(to, node);
        queue.push(to);
      }
    }
  }
  throw new Error(`${start} is in a group of files that import one another, yet no path leads back to it`);
}
