/**
 * Reading workflow YAML into plain JSON, with every problem located by line
 * and column. Mapping the friendly YAML onto proto JSON lives in
 * `spec-normalize.ts`.
 */
import { LineCounter, isAlias, isCollection, isMap, isScalar, isSeq, parseDocument, visit } from "yaml";
import type { Node } from "yaml";
import type { JsonObject } from "./model.js";

/** One YAML problem; `line` and `column` are 1-based. */
export interface YamlError {
  line: number;
  column: number;
  message: string;
}

export type YamlParseResult = { ok: true; value: JsonObject } | { ok: false; errors: YamlError[] };

/** Drops the " at line 2, column 1:\n\n<excerpt>" that `prettyErrors` appends. */
function shortMessage(message: string): string {
  return message.replace(/ at line \d+, column \d+:[\s\S]*$/, "").trim();
}

function describeScalar(value: unknown): string | undefined {
  if (value === null || typeof value === "string" || typeof value === "boolean") return undefined;
  if (typeof value === "number") return Number.isFinite(value) ? undefined : `${value} is not a JSON number`;
  if (value instanceof Uint8Array) return "binary values are not supported, use a string";
  return `a ${typeof value === "object" ? value.constructor.name : typeof value} value is not JSON`;
}

/** Values that parse as YAML but have no JSON form. */
function jsonProblems(doc: ReturnType<typeof parseDocument>, at: (node: Node) => YamlError): YamlError[] {
  const problems: YamlError[] = [];
  visit(doc, {
    Scalar(_key, node) {
      const problem = describeScalar(node.value);
      if (problem) problems.push({ ...at(node), message: problem });
    },
    Pair(_key, pair) {
      if (isCollection(pair.key)) problems.push({ ...at(pair.key), message: "a mapping key must be a scalar" });
    },
    Alias(_key, node) {
      if (node.resolve(doc) === undefined) {
        problems.push({ ...at(node), message: `unknown alias *${node.source}` });
      }
    },
  });
  return problems;
}

/**
 * Parses one YAML document whose top level must be a mapping. Duplicate keys,
 * syntax errors, several documents, unknown aliases and non-JSON values
 * (`.nan`, `!!binary`, …) are all reported, each with its position.
 *
 * @example
 * const r = parseWorkflowYaml("id: hello\nsteps:\n  - id: a\n    action: echo\n");
 * if (r.ok) r.value.id; // "hello"
 * else r.errors[0]; // { line: 2, column: 1, message: "Map keys must be unique" }
 */
export function parseWorkflowYaml(text: string): YamlParseResult {
  const lineCounter = new LineCounter();
  const at = (node: Node): YamlError => {
    const pos = lineCounter.linePos(node.range?.[0] ?? 0);
    return { line: pos.line, column: pos.col, message: "" };
  };
  try {
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter });
    if (doc.errors.length > 0) {
      return {
        ok: false,
        errors: doc.errors.map((e) => ({
          line: e.linePos?.[0].line ?? 1,
          column: e.linePos?.[0].col ?? 1,
          message: shortMessage(e.message),
        })),
      };
    }
    if (!isMap(doc.contents) && !(isAlias(doc.contents) && isMap(doc.contents.resolve(doc)))) {
      const what = doc.contents === null ? "an empty document" : isScalar(doc.contents) ? "a scalar" : "a sequence";
      return {
        ok: false,
        errors: [{ line: 1, column: 1, message: `expected a mapping at the top level, found ${what}` }],
      };
    }
    const problems = jsonProblems(doc, at);
    if (problems.length > 0) return { ok: false, errors: problems };
    return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) as JsonObject };
  } catch (err) {
    return { ok: false, errors: [{ line: 1, column: 1, message: err instanceof Error ? err.message : String(err) }] };
  }
}

/**
 * Finds where a path of keys and indices (as in the parsed JSON) is in the
 * YAML text: the value, or with `at: "key"` the key naming it. A path that
 * goes further than the text (a lone string the normalisation turned into a
 * list) stops at the deepest node there is.
 *
 * @example
 * const locate = yamlLocator("id: w\nsteps:\n  - id: a\n    dependson: [b]\n");
 * locate(["steps", 0, "dependson"], "key"); // { line: 4, column: 5 }
 */
export function yamlLocator(text: string): (path: readonly (string | number)[], at?: "key" | "value") => YamlPosition {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
  const position = (node: Node | null | undefined): YamlPosition => {
    const { line, col } = lineCounter.linePos(node?.range?.[0] ?? 0);
    return { line, column: col };
  };
  return (path, at = "value") => {
    let node: unknown = doc.contents;
    for (const [i, seg] of path.entries()) {
      if (isAlias(node)) node = node.resolve(doc);
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (pair && i === path.length - 1 && at === "key") return position(pair.key as Node);
        next = pair?.value;
      } else if (isSeq(node) && typeof seg === "number") {
        next = node.items[seg];
      }
      if (next === undefined || next === null) break;
      node = next;
    }
    return position(node as Node);
  };
}

/** A 1-based place in the YAML text. */
export interface YamlPosition {
  line: number;
  column: number;
}

export { normalizeSpecJson } from "./spec-normalize.js";
