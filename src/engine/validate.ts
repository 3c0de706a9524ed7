/**
 * Validation of a whole workflow definition. Every problem is reported at
 * once, each naming its field as a proto (snake_case) path relative to the
 * `WorkflowSpec`, e.g. `steps[2].depends_on[0]` or `on.schedules[1]`.
 */
import { checkCel } from "./cel-program.js";
import { checkCron } from "./cron.js";
import { findCycles } from "./dag.js";
import type { WorkflowDef } from "./model.js";
import { ID_PATTERN, checkDurationMs, checkStorable, checkStep } from "./validate-step.js";
import type { FieldViolation } from "./validate-step.js";

export type { FieldViolation } from "./validate-step.js";
export { ID_PATTERN, MAX_VALUE_DEPTH } from "./validate-step.js";
export { findCycles, topologicalOrder } from "./dag.js";

const MAX_STEPS = 1000;
type Report = (field: string, description: string) => void;

function checkDependencies(def: WorkflowDef, report: Report): void {
  const firstIndex = new Map<string, number>();
  def.steps.forEach((step, i) => {
    const first = firstIndex.get(step.id);
    if (first === undefined) firstIndex.set(step.id, i);
    else report(`steps[${i}].id`, `duplicate step id ${JSON.stringify(step.id)} (also steps[${first}].id)`);
  });
  def.steps.forEach((step, i) => {
    const seen = new Map<string, number>();
    step.dependsOn.forEach((dep, k) => {
      const field = `steps[${i}].depends_on[${k}]`;
      const earlier = seen.get(dep);
      if (earlier !== undefined) {
        report(field, `${JSON.stringify(dep)} is listed twice (also depends_on[${earlier}])`);
        return;
      }
      seen.set(dep, k);
      if (dep === step.id) report(field, `step ${JSON.stringify(dep)} depends on itself`);
      else if (!firstIndex.has(dep)) report(field, `unknown step ${JSON.stringify(dep)}`);
    });
  });
  for (const cycle of findCycles(def)) {
    const at = firstIndex.get(cycle[0]!)!;
    report(`steps[${at}].depends_on`, `cycle: ${cycle.join(" -> ")} (each step depends on the one before it)`);
  }
}

function checkTriggers(def: WorkflowDef, report: Report): void {
  def.on.events.forEach((name, k) => {
    if (name.trim() === "") report(`on.events[${k}]`, "event name must not be empty");
    checkStorable(`on.events[${k}]`, name, report);
  });
  (def.on.eventTriggers ?? []).forEach((t, k) => {
    if (t.name.trim() === "") report(`on.event_triggers[${k}].name`, "event name must not be empty");
    checkStorable(`on.event_triggers[${k}].name`, t.name, report);
    if (t.filter !== undefined && t.filter !== "") {
      const problem = checkCel(t.filter);
      if (problem !== undefined) report(`on.event_triggers[${k}].filter`, `invalid CEL: ${problem}`);
    }
  });
  def.on.schedules.forEach((cron, k) => {
    const problem = checkCron(cron);
    if (problem !== undefined) report(`on.schedules[${k}]`, `invalid cron ${JSON.stringify(cron)}: ${problem}`);
  });
}

function checkWebhooks(def: WorkflowDef, report: Report): void {
  const lists: [string, string[]][] = [
    ["on_complete", def.webhooks.onComplete],
    ["on_failure", def.webhooks.onFailure],
    ["on_step", def.webhooks.onStep],
  ];
  for (const [name, urls] of lists) {
    urls.forEach((url, k) => {
      let ok = false;
      try {
        const parsed = new URL(url);
        ok = parsed.protocol === "http:" || parsed.protocol === "https:";
      } catch {
        ok = false;
      }
      if (!ok) report(`webhooks.${name}[${k}]`, `${JSON.stringify(url)} is not an http(s) URL`);
    });
  }
}

/**
 * Every problem of a workflow definition; empty when it is valid. Checks ids
 * and action names, duplicate step ids, unknown, self and repeated
 * dependencies, cycles (one per strongly connected component, named in
 * order: `cycle: a -> b -> c -> a`, where each step depends on the one before
 * it), CEL syntax of `when`, `output` and `${ }` templates in `input`, input
 * depth and NUL characters, cron schedules, event names, webhook URLs, retry
 * policies and timeouts.
 *
 * @example
 * const violations = validateWorkflowDef(def);
 * // [{ field: "steps[1].depends_on[0]", description: 'unknown step "x"' }]
 */
export function validateWorkflowDef(def: WorkflowDef): FieldViolation[] {
  const violations: FieldViolation[] = [];
  const report: Report = (field, description) => violations.push({ field, description });
  if (!ID_PATTERN.test(def.id)) report("id", `${JSON.stringify(def.id)} must match ${ID_PATTERN.source}`);
  checkStorable("name", def.name, report);
  checkStorable("description", def.description, report);
  if (def.steps.length === 0) report("steps", "a workflow needs at least one step");
  if (def.steps.length > MAX_STEPS) report("steps", `at most ${MAX_STEPS} steps are allowed`);
  def.steps.forEach((step, i) => checkStep(step, i, report));
  checkDependencies(def, report);
  if (def.output !== undefined && def.output !== "") {
    const problem = checkCel(def.output);
    if (problem !== undefined) report("output", `invalid CEL: ${problem}`);
    checkStorable("output", def.output, report);
  }
  checkTriggers(def, report);
  checkWebhooks(def, report);
  checkDurationMs("timeout", def.timeoutMs, report);
  checkDurationMs("retention", def.retentionMs, report);
  return violations;
}
