/**
 * Small, pure helpers over JSON values: nesting depth, text Postgres cannot
 * store (NUL, lone surrogates), field paths and a canonical (sorted-key)
 * serialisation for hashing.
 */
import type { JsonValue } from "./model.js";

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Appends one object key or array index to a field path. Identifier-like keys
 * use a dot (`a.b`), other keys a quoted bracket (`a["Content-Type"]`), indices
 * a bracket (`a[0]`). An empty base yields a relative path (`b`, `[0]`).
 *
 * @example
 * pathJoin("steps[0].input", "url"); // "steps[0].input.url"
 * pathJoin("", 2); // "[2]"
 */
export function pathJoin(base: string, key: string | number): string {
  if (typeof key === "number") return `${base}[${key}]`;
  if (IDENTIFIER.test(key)) return base === "" ? key : `${base}.${key}`;
  return `${base}[${JSON.stringify(key)}]`;
}

/**
 * Appends a relative path (as made by {@link pathJoin} from `""`) to a base.
 *
 * @example
 * pathConcat("steps[1].input", "headers.a"); // "steps[1].input.headers.a"
 * pathConcat("steps[1].input", "[0]"); // "steps[1].input[0]"
 * pathConcat("output", ""); // "output"
 */
export function pathConcat(base: string, relative: string): string {
  if (relative === "") return base;
  if (base === "" || relative.startsWith("[")) return base + relative;
  return `${base}.${relative}`;
}

/**
 * Nesting depth of a JSON value. Convention: a scalar (null, boolean, number,
 * string) is depth 1; an array or object adds one level to its deepest child,
 * and an empty one counts as depth 1 like a scalar. So `{"a":1}` is 2 and
 * `[[1]]` is 3. Iterative, so a hostile value cannot overflow the stack.
 *
 * @example
 * jsonDepth(1); // 1
 * jsonDepth({ a: [1] }); // 3
 * if (jsonDepth(v) > 64) throw new Error("nested too deep");
 */
export function jsonDepth(v: JsonValue): number {
  let max = 0;
  const stack: [JsonValue, number][] = [[v, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (depth > max) max = depth;
    if (value === null || typeof value !== "object") continue;
    const children = Array.isArray(value) ? value : Object.values(value);
    for (const child of children) stack.push([child, depth + 1]);
  }
  return max;
}

/** A UTF-16 surrogate without its other half: with the `u` flag a well-formed pair is one code point, so only a lone half matches. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * What in a string Postgres cannot store in `text` or `jsonb`, or undefined
 * when it can be stored: a NUL character, or a lone UTF-16 surrogate (JSON
 * lets `"\ud800"` through, but it has no UTF-8 form, so `jsonb` refuses it
 * and `text` would get U+FFFD instead).
 *
 * @example
 * unstorableText("a\u0000b"); // "the NUL character (\\u0000)"
 * unstorableText("\ud800"); // "a lone UTF-16 surrogate (…)"
 * unstorableText("\ud83d\ude00"); // undefined: a whole pair is fine
 */
export function unstorableText(text: string): string | undefined {
  if (text.includes("\u0000")) return "the NUL character (\\u0000)";
  if (LONE_SURROGATE.test(text)) return "a lone UTF-16 surrogate (half of a pair, such as \\ud800)";
  return undefined;
}

/** A string (or object key) that Postgres cannot store: where, and what in it. */
export interface UnstorableString {
  path: string;
  problem: string;
}

/**
 * Every string, and every object key, that Postgres cannot store (see
 * {@link unstorableText}). A bad key is reported by the path of its entry.
 * Paths start from `path` (use `""` for relative ones).
 *
 * @example
 * findUnstorableStrings({ a: ["ok", "b\u0000d"] }, "input"); // [{ path: "input.a[1]", problem: "the NUL character (\\u0000)" }]
 */
export function findUnstorableStrings(v: JsonValue, path: string): UnstorableString[] {
  const found: UnstorableString[] = [];
  const check = (text: string, at: string): void => {
    const problem = unstorableText(text);
    if (problem !== undefined) found.push({ path: at, problem });
  };
  const stack: [JsonValue, string][] = [[v, path]];
  while (stack.length > 0) {
    const [value, at] = stack.pop()!;
    if (typeof value === "string") {
      check(value, at);
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i]!, pathJoin(at, i)]);
    } else if (value !== null && typeof value === "object") {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        const childPath = pathJoin(at, key);
        check(key, childPath);
        stack.push([child, childPath]);
      }
    }
  }
  return found;
}

/**
 * JSON text with object keys sorted (by UTF-16 code units) at every level and
 * no whitespace, so equal values always give equal text. Suitable for hashing
 * specs. Like `JSON.stringify`, non-finite numbers become `null` and
 * `undefined` properties are left out.
 *
 * @example
 * stableStringify({ b: 1, a: [true, null] }); // '{"a":[true,null],"b":1}'
 */
export function stableStringify(v: JsonValue): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((item) => stableStringify(item)).join(",")}]`;
  const keys = Object.keys(v)
    .filter((key) => v[key] !== undefined)
    .sort();
  const parts = keys.map((key) => `${JSON.stringify(key)}:${stableStringify(v[key]!)}`);
  return `{${parts.join(",")}}`;
}
