/**
 * NUL characters: Postgres stores them neither in `text` nor in `jsonb`, so a
 * value carrying one would fail the whole transaction (and leave the run
 * stuck). Values from workers are checked and refused precisely
 * (`findNulStrings`); server-made text (cancel reasons, expression error
 * messages) is scrubbed instead.
 */
import { findNulStrings } from "../engine/json.js";
import type { Failure, JsonValue } from "../engine/model.js";

/** Failure type for a result (output or error) that Postgres cannot store. */
export const INVALID_OUTPUT = "INVALID_OUTPUT";
/** Failure type for a rendered step input that Postgres cannot store. */
export const INVALID_INPUT = "INVALID_INPUT";

/**
 * The text with every NUL replaced by U+FFFD.
 *
 * @example
 * ```ts
 * scrubNul("a\u0000b"); // "a\uFFFDb"
 * ```
 */
export function scrubNul(text: string): string {
  return text.includes("\u0000") ? text.replaceAll("\u0000", "\uFFFD") : text;
}

/**
 * A failure safe to store: NULs scrubbed from its message and type.
 *
 * @example
 * ```ts
 * const error = scrubFailure(planFailure);
 * ```
 */
export function scrubFailure(failure: Failure): Failure {
  const clean: Failure = { message: scrubNul(String(failure.message)), type: scrubNul(String(failure.type)) };
  if (failure.retryable !== undefined) clean.retryable = failure.retryable;
  return clean;
}

/**
 * A not-retryable failure naming where a value holds NUL characters, or
 * undefined when the value is storable.
 *
 * @example
 * ```ts
 * const bad = nulFailure(output, "output", INVALID_OUTPUT); // { type: "INVALID_OUTPUT", message: "... output.a[1]" }
 * ```
 */
export function nulFailure(value: JsonValue, path: string, type: string): Failure | undefined {
  const paths = findNulStrings(value, path);
  if (paths.length === 0) return undefined;
  const shown = paths.slice(0, 5).map(scrubNul).join(", ") + (paths.length > 5 ? `, … (${paths.length} in all)` : "");
  return { type, message: `${path} holds a NUL character, which cannot be stored, at ${shown}`, retryable: false };
}
