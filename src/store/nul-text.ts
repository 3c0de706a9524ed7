/**
 * NUL characters (and lone UTF-16 surrogates): Postgres stores them neither
 * in `text` nor in `jsonb`, so a value carrying one would fail the whole
 * transaction (and leave the run stuck). Values from workers are checked and
 * refused precisely (`findUnstorableStrings`); server-made text (cancel
 * reasons, expression error messages) is scrubbed of NULs instead.
 */
import { findUnstorableStrings } from "../engine/json.js";
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
 * A not-retryable failure naming where a value holds text Postgres cannot
 * store (NUL characters, lone surrogates), or undefined when it is storable.
 *
 * @example
 * ```ts
 * const bad = nulFailure(output, "output", INVALID_OUTPUT); // { type: "INVALID_OUTPUT", message: "... output.a[1]" }
 * ```
 */
export function nulFailure(value: JsonValue, path: string, type: string): Failure | undefined {
  const found = findUnstorableStrings(value, path);
  if (found.length === 0) return undefined;
  const shown =
    found
      .slice(0, 5)
      .map((f) => `${scrubNul(f.path)} (${f.problem})`)
      .join(", ") + (found.length > 5 ? `, … (${found.length} in all)` : "");
  return { type, message: `${path} holds text that cannot be stored, at ${shown}`, retryable: false };
}
