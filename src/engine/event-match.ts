/**
 * Does a workflow's definition want a published event? Pure.
 *
 * A workflow listens when `on.events` lists the name (no condition), or an
 * `on.eventTriggers` entry has the name and either no filter or a filter (CEL
 * over `payload`) that is `true`. A filter that fails to evaluate, or yields
 * something other than a boolean, does not match, and the reason is returned
 * so the caller can log it.
 *
 * @example
 * matchEvent(def, "order.created", { total: 120 }); // { match: true }
 * matchEvent(def, "order.created", { total: 5 });   // { match: false }
 */
import { CelError, evalCel } from "./cel.js";
import type { JsonValue, WorkflowDef } from "./model.js";

export type EventMatch = { match: boolean; problem?: string };

export function matchEvent(def: WorkflowDef, name: string, payload: JsonValue): EventMatch {
  if (def.on.events.includes(name)) return { match: true };
  const problems: string[] = [];
  for (const t of def.on.eventTriggers ?? []) {
    if (t.name !== name) continue;
    if (t.filter === undefined || t.filter === "") return { match: true };
    try {
      const value = evalCel(t.filter, { payload });
      if (value === true) return { match: true };
      if (value !== false)
        problems.push(`filter ${JSON.stringify(t.filter)} gave ${JSON.stringify(value)}, not a boolean`);
    } catch (err) {
      if (!(err instanceof CelError)) throw err;
      problems.push(err.message);
    }
  }
  return problems.length > 0 ? { match: false, problem: problems.join("; ") } : { match: false };
}
