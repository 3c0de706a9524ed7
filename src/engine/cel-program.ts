/**
 * Parsing, caching and evaluating CEL expressions (via `@bufbuild/cel`, an
 * interpreter: nothing is ever passed to `eval`). Import from `./cel.js`.
 */
import { isCelError, parse, plan } from "@bufbuild/cel";
import type { CelInput, CelResult } from "@bufbuild/cel";
import { celToJson } from "./cel-json.js";
import { weftCelEnv } from "./cel-env.js";
import type { JsonValue } from "./model.js";

/**
 * Why a CEL expression could not be evaluated (or parsed, when evaluated).
 *
 * @example
 * try { evalCel("input.nope", { input: {} }); }
 * catch (e) { if (e instanceof CelError) console.log(e.expression, e.message); }
 */
export class CelError extends Error {
  override name = "CelError";
  constructor(
    message: string,
    /** The expression that failed. */
    readonly expression: string,
  ) {
    super(message);
  }
}

type Program = (vars: Record<string, CelInput>) => CelResult;
type Compiled =
  { ok: true; program: Program; positions: Record<string, number>; ast: unknown } | { ok: false; error: string };

const CACHE_LIMIT = 1000;
const cache = new Map<string, Compiled>();

/** Turns a parser message like `<input>:1:3: found +` into readable text. */
function parseErrorText(err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  const m = /^<input>:(\d+):(\d+): ([\s\S]*)$/.exec(raw);
  if (!m) return `syntax error: ${raw}`;
  const where = m[1] === "1" ? `column ${m[2]}` : `line ${m[1]}, column ${m[2]}`;
  return `syntax error at ${where}: ${m[3]}`;
}

function compile(expr: string): Compiled {
  const hit = cache.get(expr);
  if (hit) {
    cache.delete(expr); // re-insert: most recently used goes last
    cache.set(expr, hit);
    return hit;
  }
  let compiled: Compiled;
  try {
    const parsed = parse(expr);
    const program = plan(weftCelEnv(), parsed) as unknown as Program;
    const positions = (parsed.sourceInfo?.positions ?? {}) as Record<string, number>;
    compiled = { ok: true, program, positions, ast: parsed.expr };
  } catch (err) {
    compiled = { ok: false, error: parseErrorText(err) };
  }
  cache.set(expr, compiled);
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  return compiled;
}

/**
 * Checks that an expression parses. Returns a readable error (with its
 * position) or `undefined`. Names are not checked: unknown variables only fail
 * at evaluation.
 *
 * @example
 * checkCel("input.x > 3"); // undefined
 * checkCel("input.x >"); // "syntax error at column 9: …"
 */
export function checkCel(expr: string): string | undefined {
  const c = compile(expr);
  return c.ok ? undefined : c.error;
}

/** Depth-first search of the AST for the expression with the given id. */
function findExpr(node: unknown, id: bigint): { exprKind?: { case?: string; value?: { name?: string } } } | undefined {
  const stack: unknown[] = [node];
  while (stack.length > 0) {
    const n = stack.pop();
    if (n === null || typeof n !== "object") continue;
    if ((n as { id?: unknown }).id === id && "exprKind" in n) return n as ReturnType<typeof findExpr>;
    for (const child of Object.values(n)) stack.push(child);
  }
  return undefined;
}

function position(expr: string, offset: number | undefined): string {
  if (offset === undefined) return "";
  const before = expr.slice(0, offset).split("\n");
  const col = before[before.length - 1]!.length + 1;
  return before.length === 1 ? ` (at column ${col})` : ` (at line ${before.length}, column ${col})`;
}

function describe(
  err: { message: string; exprId: bigint | undefined },
  c: Compiled & { ok: true },
  expr: string,
  vars: object,
): string {
  let text = err.message;
  if (err.exprId !== undefined && text === "unresolved attribute") {
    const node = findExpr(c.ast, err.exprId);
    const name = node?.exprKind?.case === "identExpr" ? node.exprKind.value?.name : undefined;
    const known = Object.keys(vars).join(", ") || "none";
    text = name !== undefined ? `unknown variable "${name}" (available: ${known})` : "unknown variable";
  }
  const at = err.exprId === undefined ? "" : position(expr, c.positions[err.exprId.toString()]);
  return `${text}${at} in ${JSON.stringify(expr.length > 200 ? `${expr.slice(0, 200)}…` : expr)}`;
}

/**
 * Evaluates a CEL expression over the given variables and returns the result
 * as plain JSON (see `cel-json.ts` for the mapping). JSON numbers are CEL
 * doubles; mixed int/double arithmetic works (see `cel-env.ts`). Compiled
 * programs are cached by expression text (LRU, 1000 entries).
 * Throws {@link CelError} on a parse or evaluation error.
 *
 * @example
 * evalCel("steps.a.count + 1", { steps: { a: { count: 2 } } }); // 3
 * evalCel("input.x > 3", { input: { x: 5 } }); // true
 */
export function evalCel(expr: string, vars: Record<string, JsonValue>): JsonValue {
  const c = compile(expr);
  if (!c.ok) throw new CelError(`invalid expression ${JSON.stringify(expr)}: ${c.error}`, expr);
  let result: CelResult;
  try {
    result = c.program(vars as Record<string, CelInput>);
  } catch (err) {
    throw new CelError(
      describe({ message: String((err as Error)?.message ?? err), exprId: undefined }, c, expr, vars),
      expr,
    );
  }
  if (isCelError(result)) throw new CelError(describe(result, c, expr, vars), expr);
  try {
    return celToJson(result);
  } catch (err) {
    throw new CelError(describe({ message: (err as Error).message, exprId: undefined }, c, expr, vars), expr);
  }
}
