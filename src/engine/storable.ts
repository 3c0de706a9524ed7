/**
 * Values the store can write. NUL characters (and lone UTF-16 surrogates):
 * Postgres stores them neither in `text` nor in `jsonb`, so a value carrying
 * one would fail the whole transaction (and leave the run stuck). Values
 * from workers are checked and refused precisely (`findUnstorableStrings`);
 * server-made text (cancel reasons, expression error messages) is scrubbed
 * of NULs instead. A rendered input or run output above the payload limit
 * is refused too, by its UTF-8 size.
 */
import { payloadTooLarge } from "./failures.js";
import { findUnstorableStrings } from "./json.js";
import type { Failure, JsonValue } from "./model.js";

export { INVALID_INPUT, INVALID_OUTPUT } from "./failure-types.js";

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

/** A character outside ASCII (global: `test` resumes at `lastIndex` and allocates nothing). */
const NON_ASCII = /[\u0080-\uffff]/g;
/** ASCII characters in a row after which the count goes back to the regular expression search. */
const ASCII_GAP = 8;

/**
 * The UTF-8 size of a string in bytes, as `Buffer.byteLength(text, "utf8")`
 * counts it (a lone surrogate is written as U+FFFD: 3 bytes). JSON text is
 * mostly ASCII, one byte per UTF-16 unit: long ASCII stretches are skipped
 * by a regular expression search, which runs in the engine's compiled
 * matcher rather than a JavaScript loop. Non-ASCII text is counted one unit
 * at a time, through short ASCII gaps too (each search has a fixed cost, so
 * text mixing accents or emoji with ASCII would otherwise pay it per word).
 *
 * @example
 * ```ts
 * utf8Length("héllo"); // 6
 * utf8Length("😀"); // 4
 * ```
 */
export function utf8Length(text: string): number {
  const n = text.length;
  let size = n;
  NON_ASCII.lastIndex = 0;
  while (NON_ASCII.test(text)) {
    let i = NON_ASCII.lastIndex - 1;
    for (let ascii = 0; i < n; i++) {
      const code = text.charCodeAt(i);
      if (code < 0x80) {
        if (++ascii === ASCII_GAP) break;
        continue;
      }
      ascii = 0;
      // Beyond its one byte per unit: +1 up to U+07FF, else +2 (a surrogate pair's two units make 4 bytes).
      if (code < 0x800) size += 1;
      else {
        size += 2;
        if (code < 0xdc00 && code >= 0xd800 && i + 1 < n && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
      }
    }
    NON_ASCII.lastIndex = i;
  }
  return size;
}

/**
 * The payload-limit failure for a value above `maxBytes`, else undefined.
 * Text of at most `maxBytes / 3` UTF-16 units fits whatever it holds, so
 * ordinary inputs are never counted.
 *
 * @example
 * ```ts
 * tooLarge({ big: "x".repeat(2000) }, 1024, "run r1 step a: rendered input"); // { type: "PAYLOAD_TOO_LARGE", ... }
 * ```
 */
export function tooLarge(value: JsonValue, maxBytes: number, what: string): Failure | undefined {
  if (!Number.isFinite(maxBytes)) return undefined;
  const text = JSON.stringify(value);
  if (text.length * 3 <= maxBytes) return undefined;
  const size = utf8Length(text);
  if (size <= maxBytes) return undefined;
  return payloadTooLarge(
    `${what} is ${size} bytes, above the payload limit of ${maxBytes} bytes (--max-payload-bytes)`,
  );
}
