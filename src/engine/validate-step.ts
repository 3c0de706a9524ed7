/**
 * Checks of one step that need no other step: id and action format, `when`,
 * the `input` template, trigger rule, retry policy and timeouts. Used by
 * `validate.ts`.
 */
import { checkCel } from "./cel-program.js";
import { templateExpressions } from "./template.js";
import { findUnstorableStrings, jsonDepth, pathConcat, unstorableText } from "./json.js";
import { TriggerRule } from "./model.js";
import type { StepDef } from "./model.js";

/** One invalid field: a proto (snake_case) path relative to the spec, and why. */
export interface FieldViolation {
  field: string;
  description: string;
}

/** Workflow ids, step ids and action names. */
export const ID_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;
/** The deepest `Value` the contract accepts, in `jsonDepth` levels (a scalar is one); the API checks every request against it. */
export const MAX_VALUE_DEPTH = 64;
const MAX_ATTEMPTS = 1000;
const MAX_BACKOFF = 100;

type Report = (field: string, description: string) => void;

/**
 * Reports a string that Postgres cannot store (a NUL, a lone surrogate).
 *
 * @example
 * checkStorable("name", def.name, report);
 */
export function checkStorable(field: string, value: string | undefined, report: Report): void {
  const problem = value === undefined ? undefined : unstorableText(value);
  if (problem !== undefined) report(field, `must not contain ${problem}`);
}

/**
 * Reports a duration in ms that is negative or not a finite number.
 *
 * @example
 * checkDurationMs("timeout", def.timeoutMs, report);
 */
export function checkDurationMs(field: string, ms: number | undefined, report: Report): void {
  if (ms !== undefined && !(Number.isFinite(ms) && ms >= 0)) report(field, "must be a non-negative duration");
}

function checkInput(at: string, input: StepDef["input"], report: Report): void {
  if (input === undefined) return;
  if (jsonDepth(input) > MAX_VALUE_DEPTH) {
    report(`${at}.input`, `nested deeper than ${MAX_VALUE_DEPTH} levels`);
    return;
  }
  for (const bad of findUnstorableStrings(input, `${at}.input`)) report(bad.path, `must not contain ${bad.problem}`);
  for (const t of templateExpressions(input)) {
    const field = pathConcat(`${at}.input`, t.path);
    const problem = t.error ?? checkCel(t.expr);
    if (problem !== undefined) report(field, `invalid template \${${t.expr}}: ${problem}`);
  }
}

function checkRetry(at: string, retry: StepDef["retry"], report: Report): void {
  const r = retry;
  if (!Number.isInteger(r.maxAttempts) || r.maxAttempts < 1 || r.maxAttempts > MAX_ATTEMPTS) {
    report(`${at}.max_attempts`, `must be a whole number from 1 to ${MAX_ATTEMPTS} (got ${r.maxAttempts})`);
  }
  checkDurationMs(`${at}.initial_interval`, r.initialIntervalMs, report);
  checkDurationMs(`${at}.max_interval`, r.maxIntervalMs, report);
  if (r.maxIntervalMs < r.initialIntervalMs) {
    report(
      `${at}.max_interval`,
      `must not be shorter than initial_interval (${r.maxIntervalMs} ms < ${r.initialIntervalMs} ms)`,
    );
  }
  if (!(Number.isFinite(r.backoffCoefficient) && r.backoffCoefficient >= 1 && r.backoffCoefficient <= MAX_BACKOFF)) {
    report(`${at}.backoff_coefficient`, `must be from 1 to ${MAX_BACKOFF} (got ${r.backoffCoefficient})`);
  }
  r.nonRetryableErrors.forEach((name, k) => {
    if (name.trim() === "") report(`${at}.non_retryable_errors[${k}]`, "must not be empty");
    checkStorable(`${at}.non_retryable_errors[${k}]`, name, report);
  });
}

/**
 * Reports the problems of step `i` that do not involve other steps.
 *
 * @example
 * const out: FieldViolation[] = [];
 * checkStep(def.steps[0], 0, (field, description) => out.push({ field, description }));
 */
export function checkStep(step: StepDef, i: number, report: Report): void {
  const at = `steps[${i}]`;
  if (!ID_PATTERN.test(step.id)) report(`${at}.id`, `${JSON.stringify(step.id)} must match ${ID_PATTERN.source}`);
  if (!ID_PATTERN.test(step.action)) {
    report(`${at}.action`, `${JSON.stringify(step.action)} must match ${ID_PATTERN.source}`);
  }
  if (step.when !== undefined && step.when !== "") {
    const problem = checkCel(step.when);
    if (problem !== undefined) report(`${at}.when`, `invalid CEL: ${problem}`);
    checkStorable(`${at}.when`, step.when, report);
  }
  checkInput(at, step.input, report);
  if (!Object.values<string>(TriggerRule).includes(step.triggerRule)) {
    report(`${at}.trigger_rule`, `unknown trigger rule ${JSON.stringify(step.triggerRule)}`);
  }
  checkRetry(`${at}.retry`, step.retry, report);
  checkDurationMs(`${at}.timeout`, step.timeoutMs, report);
  checkDurationMs(`${at}.heartbeat_timeout`, step.heartbeatTimeoutMs, report);
}
