/**
 * The CEL environment Weft evaluates every expression in: the standard
 * library, the `strings` extension (`lowerAscii`, `split`, `format`, …) and
 * mixed int/double arithmetic.
 *
 * Why the extra arithmetic: workflow data arrives as JSON, whose numbers are
 * CEL `double`s, while literals such as `1` are CEL `int`s. Standard CEL has
 * no `double + int` overload, so `steps.a.count + 1` would fail with "no
 * matching overload". Here `+ - * /` accept one int and one double and compute
 * in double, and `%` also works on doubles (JavaScript remainder). Int with int
 * stays integer arithmetic (`7 / 2 == 3`).
 */
import { CelScalar, celEnv, celFunc } from "@bufbuild/cel";
import type { CelEnv, CelFunc } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";

const INT = CelScalar.INT;
const DOUBLE = CelScalar.DOUBLE;

type Arith = (a: number, b: number) => number;

const OPERATORS: [string, Arith][] = [
  ["_+_", (a, b) => a + b],
  ["_-_", (a, b) => a - b],
  ["_*_", (a, b) => a * b],
  ["_/_", (a, b) => a / b],
];

function remainder(a: number, b: number): number {
  if (b === 0) throw new Error("modulus by zero");
  return a % b;
}

function mixedArithmetic(): CelFunc[] {
  const funcs: CelFunc[] = [];
  for (const [name, op] of [...OPERATORS, ["_%_", remainder] as [string, Arith]]) {
    funcs.push(celFunc(name, [DOUBLE, INT], DOUBLE, (a: number, b: bigint) => op(a, Number(b))));
    funcs.push(celFunc(name, [INT, DOUBLE], DOUBLE, (a: bigint, b: number) => op(Number(a), b)));
  }
  funcs.push(celFunc("_%_", [DOUBLE, DOUBLE], DOUBLE, remainder));
  return funcs;
}

let shared: CelEnv | undefined;

/**
 * The shared environment (built once, on first use).
 *
 * @example
 * import { parse, plan } from "@bufbuild/cel";
 * const program = plan(weftCelEnv(), parse("input.x + 1"));
 * program({ input: { x: 2 } }); // 3
 */
export function weftCelEnv(): CelEnv {
  shared ??= celEnv({ funcs: [...strings, ...mixedArithmetic()] });
  return shared;
}
