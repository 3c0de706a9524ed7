/**
 * The registry of built-in actions: name → action. Adding one is a file in
 * this folder and a line here.
 *
 * @example
 * ```ts
 * const registry = createBuiltinRegistry();
 * registry.get("http.request")?.run(input, ctx);
 * registry.names(); // ["delay", "http.request", "transform", "webhook"]
 * ```
 */
import { delay } from "./delay.js";
import { httpRequest } from "./http-request.js";
import { transform } from "./transform.js";
import type { BuiltinAction } from "./types.js";
import { webhook } from "./webhook.js";

export const BUILTIN_ACTIONS: readonly BuiltinAction[] = [httpRequest, transform, delay, webhook];

export interface BuiltinRegistry {
  get(name: string): BuiltinAction | undefined;
  names(): string[];
}

export function createBuiltinRegistry(actions: readonly BuiltinAction[] = BUILTIN_ACTIONS): BuiltinRegistry {
  const byName = new Map(actions.map((a) => [a.name, a]));
  return { get: (name) => byName.get(name), names: () => [...byName.keys()].sort() };
}
