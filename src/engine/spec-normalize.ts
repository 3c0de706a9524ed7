/**
 * Maps friendly workflow YAML (already parsed to JSON) onto the proto JSON of
 * `weft.v1.WorkflowSpec`. Import from `./yaml.js`.
 */
import { formatProtoDuration, parseDurationNanos } from "./duration-text.js";
import type { JsonObject, JsonValue } from "./model.js";

const TOP_DURATIONS = ["timeout", "retention"];
const STEP_DURATIONS = ["timeout", "heartbeat_timeout", "heartbeatTimeout"];
const RETRY_DURATIONS = ["initial_interval", "initialInterval", "max_interval", "maxInterval"];

function isObject(v: JsonValue | undefined): v is JsonObject {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** A shallow copy whose own keys are data even when one is `__proto__`. */
function copy(obj: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(obj)) as JsonObject;
}

function setOwn(obj: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function durations(obj: JsonObject, keys: string[]): void {
  for (const key of keys) {
    const v = obj[key];
    if (typeof v !== "number" && typeof v !== "string") continue;
    const nanos = parseDurationNanos(v);
    if (nanos !== undefined) setOwn(obj, key, formatProtoDuration(nanos));
  }
}

/** A lone string where a list is expected becomes a one-item list. */
function lists(obj: JsonObject, keys: string[]): void {
  for (const key of keys) {
    const v = obj[key];
    if (typeof v === "string") setOwn(obj, key, [v]);
  }
}

function triggerRule(obj: JsonObject): void {
  for (const key of ["trigger_rule", "triggerRule"]) {
    const v = obj[key];
    if (typeof v !== "string") continue;
    const name = v
      .trim()
      .toUpperCase()
      .replace(/[-\s]+/g, "_");
    setOwn(obj, key, name.startsWith("TRIGGER_RULE_") ? name : `TRIGGER_RULE_${name}`);
  }
}

function normalizeStep(step: JsonValue): JsonValue {
  if (!isObject(step)) return step;
  const out = copy(step);
  triggerRule(out);
  durations(out, STEP_DURATIONS);
  lists(out, ["depends_on", "dependsOn"]);
  const retry = out.retry;
  if (isObject(retry)) {
    const r = copy(retry);
    durations(r, RETRY_DURATIONS);
    lists(r, ["non_retryable_errors", "nonRetryableErrors"]);
    setOwn(out, "retry", r);
  }
  return out;
}

/**
 * Rewrites friendly YAML values into proto JSON for `weft.v1.WorkflowSpec`:
 * - `trigger_rule: ALL_DONE` (or `all-done`) → `TRIGGER_RULE_ALL_DONE`;
 *   already-prefixed names and numbers stay;
 * - durations as seconds (`30`, `0.5`) or text (`500ms`, `5m`, `1h30m`) →
 *   `"30s"`, `"0.5s"`, `"300s"`, for `timeout` (workflow and steps), `retention` (workflow),
 *   `heartbeat_timeout` (steps), `initial_interval` and `max_interval`
 *   (step `retry`); text that is not a duration is left for proto JSON to
 *   reject;
 * - a single string for `depends_on`, `on.events`, `on.schedules`,
 *   `webhooks.on_*` or `retry.non_retryable_errors` → a one-item list.
 * Step `input` subtrees are never touched. camelCase keys work too. The
 * argument is not modified.
 *
 * @example
 * normalizeSpecJson({ id: "w", steps: [{ id: "a", action: "x", timeout: "1m", trigger_rule: "ALL_DONE" }] });
 * // { id: "w", steps: [{ id: "a", action: "x", timeout: "60s", trigger_rule: "TRIGGER_RULE_ALL_DONE" }] }
 */
export function normalizeSpecJson(obj: JsonObject): JsonObject {
  const out = copy(obj);
  durations(out, TOP_DURATIONS);
  if (Array.isArray(out.steps)) setOwn(out, "steps", out.steps.map(normalizeStep));
  if (isObject(out.on)) {
    const on = copy(out.on);
    lists(on, ["events", "schedules"]);
    setOwn(out, "on", on);
  }
  if (isObject(out.webhooks)) {
    const hooks = copy(out.webhooks);
    lists(hooks, ["on_complete", "onComplete", "on_failure", "onFailure", "on_step", "onStep"]);
    setOwn(out, "webhooks", hooks);
  }
  return out;
}
