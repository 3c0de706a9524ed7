/**
 * How a step's rendered input is stored: a default input (`{"input": <run
 * input>, "steps": {…}}`, made by the engine from the run's own input
 * object) is stored as `{"steps": {…}}` with `merge_run_input` set, and the
 * claim puts the run's input back (`input || jsonb_build_object('input',
 * r.input)`); any other input is stored as it is. Only the very object the
 * run holds counts as the run input: an input a template built, even an
 * equal one, is stored in full.
 */
import type { JsonValue } from "../../engine/model.js";
import { box, type Box } from "../db/json-rows.js";

/**
 * The stored form of `input` for a run whose input is `runInput`.
 *
 * @example
 * ```ts
 * storedInput({ input: run.input, steps: { a: 1 } }, run.input); // { input: { v: { steps: { a: 1 } } }, merge_run_input: true }
 * ```
 */
export function storedInput(input: JsonValue, runInput: JsonValue | undefined): { input: Box; merge_run_input?: true } {
  if (runInput !== undefined && isDefaultInput(input, runInput)) {
    return { input: box({ steps: input.steps }), merge_run_input: true };
  }
  return { input: box(input) };
}

function isDefaultInput(input: JsonValue, runInput: JsonValue): input is { input: JsonValue; steps: JsonValue } {
  if (input === null || typeof input !== "object" || Array.isArray(input)) return false;
  const keys = Object.keys(input);
  return keys.length === 2 && input.input === runInput && "steps" in input;
}
