/**
 * JSON ⇄ `google.protobuf.Value`, the shape of every task input and output.
 * Outgoing values go through `JSON.stringify` semantics first, so `Date`s
 * become strings, `toJSON()` is honoured, `undefined` fields disappear and a
 * top-level `undefined` becomes `null`.
 *
 * @example
 * ```ts
 * const v = jsonToValue({ ok: true, at: new Date() });
 * valueToJson(v); // { ok: true, at: "2025-…Z" }
 * ```
 */
import { fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";

/**
 * Any JSON-serializable value → `Value`. Throws a `TypeError` for what JSON
 * cannot hold (cycles, bigints).
 *
 * @example
 * ```ts
 * jsonToValue(undefined); // Value { nullValue }
 * ```
 */
export function jsonToValue(v: unknown): Value {
  const text = JSON.stringify(v);
  return fromJson(ValueSchema, text === undefined ? null : (JSON.parse(text) as JsonValue));
}

/**
 * `Value` → JSON; an unset message or an unset kind → `null`.
 *
 * @example
 * ```ts
 * valueToJson(task.input); // { cents: 100 }
 * ```
 */
export function valueToJson(v: Value | undefined): JsonValue {
  if (!v || v.kind.case === undefined) return null;
  return toJson(ValueSchema, v);
}
