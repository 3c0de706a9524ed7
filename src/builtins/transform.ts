/**
 * `transform`: input {expression} → the value of the CEL expression over
 * `input` (the run's input) and `steps` (outputs of the run's succeeded
 * steps). Evaluated by the CEL interpreter, never by JavaScript `eval`.
 *
 * @example
 * ```yaml
 * - id: total
 *   action: transform
 *   depends_on: [fetch]
 *   input: { expression: "steps.fetch.body.items.filter(i, i.price > 10).map(i, i.id)" }
 * ```
 */
import { CelError, evalCel } from "../engine/cel.js";
import { expressionError } from "../engine/failures.js";
import { asObject, badInput, failed, type BuiltinAction } from "./types.js";

const NAME = "transform";

export const transform: BuiltinAction = {
  name: NAME,
  async run(raw, ctx) {
    const expression = asObject(raw)?.expression;
    if (typeof expression !== "string" || expression.trim() === "")
      return badInput(NAME, "input.expression must be a CEL expression");
    const { input, steps } = await ctx.runContext();
    try {
      return { kind: "output", output: evalCel(expression, { input, steps }) };
    } catch (err) {
      if (err instanceof CelError) return failed(expressionError(`${NAME}: ${err.message}`));
      throw err;
    }
  },
};
