/**
 * CEL for Weft: parse checks, cached evaluation to plain JSON, and `${ }`
 * templates. The public entry point; the pieces live in `cel-program.ts`,
 * `cel-env.ts`, `cel-json.ts` and `template.ts`.
 *
 * @example
 * import { checkCel, evalCel, renderTemplate } from "./cel.js";
 * checkCel("input.x >"); // "syntax error at column 9: …"
 * evalCel("input.x > 3", { input: { x: 5 } }); // true
 * renderTemplate({ url: "${ input.base }/v1" }, { input: { base: "http://h" } }); // { url: "http://h/v1" }
 */
export { CelError, checkCel, evalCel } from "./cel-program.js";
export { renderTemplate, templateExpressions } from "./template.js";
export type { TemplateExpression } from "./template.js";
export { celToJson, CelJsonError } from "./cel-json.js";
