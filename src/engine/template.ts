/**
 * `${ expr }` templates in JSON values (step inputs). Import from `./cel.js`.
 *
 * A string that is exactly one `${ expr }` takes the expression's value with
 * its JSON type; a string mixing text and templates stays a string. Only
 * string leaves are templates; object keys are left alone. The scanner skips
 * CEL string literals (`'…'`, `"…"`, triple-quoted, `r` raw) and balances
 * braces, so `${ {'a': '}'}['a'] }` works. There is no escape for a literal
 * `${`.
 */
import { CelError, evalCel } from "./cel-program.js";
import { pathJoin } from "./json.js";
import type { JsonValue } from "./model.js";

type Part = { text: string } | { expr: string };
interface Parsed {
  parts: Part[];
  /** Set when a `${` is not closed; `rest` is the text after that `${`. */
  error?: { message: string; rest: string };
}

const IDENT_CHAR = /[A-Za-z0-9_]/;

/** Whether the quote at `q` opens a raw string (`r'…'`, `br'…'`, `rb'…'`). */
function isRaw(s: string, q: number): boolean {
  let i = q - 1;
  let sawR = false;
  for (let n = 0; n < 2 && i >= 0 && /[rRbB]/.test(s[i]!); n++, i--) if (/[rR]/.test(s[i]!)) sawR = true;
  return sawR && (i < 0 || !IDENT_CHAR.test(s[i]!));
}

/** Index just past the CEL string literal whose quote is at `q`, or -1. */
function skipString(s: string, q: number): number {
  const quote = s[q]!;
  const triple = s.startsWith(quote.repeat(3), q);
  const close = triple ? quote.repeat(3) : quote;
  const raw = isRaw(s, q);
  for (let i = q + close.length; i < s.length; i++) {
    if (s[i] === "\\" && !raw) i++;
    else if (s.startsWith(close, i)) return i + close.length;
    else if (!triple && s[i] === "\n") return -1;
  }
  return -1;
}

/** Index of the `}` closing the template whose body starts at `from`, or -1. */
function findClose(s: string, from: number): number {
  let depth = 1;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (c === "'" || c === '"') {
      const end = skipString(s, i);
      if (end < 0) return -1;
      i = end - 1;
    } else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i;
  }
  return -1;
}

function parseTemplate(s: string): Parsed {
  const parts: Part[] = [];
  let pos = 0;
  for (;;) {
    const open = s.indexOf("${", pos);
    if (open < 0) break;
    const close = findClose(s, open + 2);
    if (close < 0) {
      if (open > pos) parts.push({ text: s.slice(pos, open) });
      return { parts, error: { message: "unterminated ${ (no matching })", rest: s.slice(open + 2) } };
    }
    if (open > pos) parts.push({ text: s.slice(pos, open) });
    parts.push({ expr: s.slice(open + 2, close) });
    pos = close + 1;
  }
  if (pos < s.length || parts.length === 0) parts.push({ text: s.slice(pos) });
  return { parts };
}

/** One `${ }` found by {@link templateExpressions}. */
export interface TemplateExpression {
  /** Path of the string, relative to the value (`url`, `items[2]`, `""` for the value itself). */
  path: string;
  /** The expression between `${` and `}`, untrimmed. */
  expr: string;
  /** Set when the `${` is never closed; `expr` then holds the rest of the string. */
  error?: string;
}

/**
 * Every `${ … }` in the string leaves of a JSON value, in document order.
 *
 * @example
 * templateExpressions({ url: "${ input.base }/x", n: 1, l: ["${1}"] });
 * // [{ path: "url", expr: " input.base " }, { path: "l[0]", expr: "1" }]
 */
export function templateExpressions(value: JsonValue, path = ""): TemplateExpression[] {
  if (typeof value === "string") {
    if (!value.includes("${")) return [];
    const parsed = parseTemplate(value);
    const found: TemplateExpression[] = [];
    for (const part of parsed.parts) if ("expr" in part) found.push({ path, expr: part.expr });
    if (parsed.error) found.push({ path, expr: parsed.error.rest, error: parsed.error.message });
    return found;
  }
  if (Array.isArray(value)) return value.flatMap((item, i) => templateExpressions(item, pathJoin(path, i)));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([k, item]) => templateExpressions(item, pathJoin(path, k)));
  }
  return [];
}

function renderString(s: string, vars: Record<string, JsonValue>): JsonValue {
  if (!s.includes("${")) return s;
  const parsed = parseTemplate(s);
  if (parsed.error) throw new CelError(parsed.error.message, parsed.error.rest);
  const [only] = parsed.parts;
  if (parsed.parts.length === 1 && only && "expr" in only) return evalCel(only.expr, vars);
  let out = "";
  for (const part of parsed.parts) {
    if ("text" in part) out += part.text;
    else {
      const v = evalCel(part.expr, vars);
      out += typeof v === "string" ? v : JSON.stringify(v);
    }
  }
  return out;
}

function render(value: JsonValue, vars: Record<string, JsonValue>, path: string): JsonValue {
  if (typeof value === "string") {
    try {
      return renderString(value, vars);
    } catch (err) {
      if (err instanceof CelError && path !== "") throw new CelError(`${path}: ${err.message}`, err.expression);
      throw err;
    }
  }
  if (Array.isArray(value)) return value.map((item, i) => render(item, vars, pathJoin(path, i)));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, item]) => [k, render(item, vars, pathJoin(path, k))]));
  }
  return value;
}

/**
 * Renders the templates in a JSON value. `"${ expr }"` alone becomes the
 * value (a number stays a number); mixed text interpolates strings as-is and
 * other values as JSON. Throws `CelError` (message prefixed with the path of
 * the failing string) on an unterminated `${` or an evaluation error.
 *
 * @example
 * renderTemplate({ n: "${ input.x + 1 }", s: "x=${input.x}" }, { input: { x: 2 } });
 * // { n: 3, s: "x=2" }
 */
export function renderTemplate(value: JsonValue, vars: Record<string, JsonValue>): JsonValue {
  return render(value, vars, "");
}
