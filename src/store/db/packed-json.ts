/**
 * A finished run's input, kept deflated (`runs.input_z`, migration 0012)
 * instead of as jsonb: Postgres compresses nothing inside a row under ~2 KiB,
 * and a 1 KiB input is most of a finished run's bytes (docs/benchmarks.md,
 * issue 18). Only finished runs are packed (once, when the run finishes:
 * `change-set.ts`), so the claim, which merges the input of live runs, and
 * the completions never inflate one on their hot path.
 *
 * The packed text has its object keys in jsonb's order (shorter first, then
 * by UTF-8 bytes), so an unpacked input parses to the very object the jsonb
 * column gave: reads return the same whichever way the row keeps it.
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { JsonValue } from "../../engine/model.js";
import type { RunRow } from "./schema.js";

/** Texts shorter gain too little; longer ones Postgres compresses itself (the row passes ~2 KiB). */
const MIN_TEXT = 256;
const MAX_TEXT = 4096;

/**
 * The input deflated, base64 (for `decode(…, 'base64')` in SQL), or undefined
 * when packing would not pay (a small or large input, or one that does not shrink).
 *
 * @example
 * ```ts
 * const z = packJson(run.input); // "q1YqSs1JLcpMUbJSMlTSUSpILC5W…" or undefined
 * ```
 */
export function packJson(value: JsonValue | undefined): string | undefined {
  if (value === undefined || value === null || typeof value !== "object") return undefined;
  const text = Buffer.from(JSON.stringify(inJsonbOrder(value)));
  if (text.length < MIN_TEXT || text.length > MAX_TEXT) return undefined;
  const packed = deflateRawSync(text);
  return packed.length < text.length * 0.8 ? packed.toString("base64") : undefined;
}

/**
 * A packed value back: pg gives a `bytea` as a Buffer, PGlite as a Uint8Array.
 *
 * @example
 * ```ts
 * const input = row.input_z === null ? row.input : unpackJson(row.input_z);
 * ```
 */
export function unpackJson(packed: Uint8Array): JsonValue {
  return JSON.parse(inflateRawSync(packed).toString("utf8")) as JsonValue;
}

/**
 * A run's input, whichever way its row keeps it (jsonb, or deflated once finished: `packed-json.ts`).
 *
 * @example
 * ```ts
 * const input = runInput(row);
 * ```
 */
export function runInput(row: Pick<RunRow, "input" | "input_z">): JsonValue {
  return row.input_z === null ? (row.input as JsonValue) : unpackJson(row.input_z);
}

/**
 * A step's stored input with the run input put back when it was stored
 * without it (`stored-input.ts`): what `input || jsonb_build_object('input',
 * <run input>)` makes in SQL, keys in jsonb's order.
 *
 * @example
 * ```ts
 * mergeRunInput({ steps: { a: 1 } }, { n: 1 }); // { input: { n: 1 }, steps: { a: 1 } }
 * ```
 */
export function mergeRunInput(stored: JsonValue, input: JsonValue): JsonValue {
  return { input, ...(stored as Record<string, JsonValue>) };
}

/** A copy of `value` whose object keys are in jsonb's order: byte length, then bytes. */
function inJsonbOrder(value: JsonValue): JsonValue {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(inJsonbOrder);
  const out: Record<string, JsonValue> = {};
  for (const key of Object.keys(value).sort(jsonbKeyOrder)) out[key] = inJsonbOrder(value[key]!);
  return out;
}

/** UTF-16 order is UTF-8 order except between surrogates and U+E000–U+FFFF: compare bytes when either occurs. */
function jsonbKeyOrder(a: string, b: string): number {
  const byLength = Buffer.byteLength(a) - Buffer.byteLength(b);
  if (byLength !== 0) return byLength;
  if (/[\ud800-\uffff]/.test(a + b)) return Buffer.compare(Buffer.from(a), Buffer.from(b));
  return a < b ? -1 : a > b ? 1 : 0;
}
