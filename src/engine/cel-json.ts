/**
 * Converts a CEL result back into plain JSON.
 *
 * Mapping: `double` → number (must be finite); `int` / `uint` → number when
 * within ±2^53-1, else its decimal string (the proto3 JSON form of 64-bit
 * integers); map → object (keys stringified: `1` → `"1"`, `true` → `"true"`);
 * list → array; bytes → base64 string; `google.protobuf.Duration` → `"1.5s"`;
 * `google.protobuf.Timestamp` → RFC 3339 UTC string; a type → its name.
 */
import { isCelList, isCelMap, isCelType, isCelUint } from "@bufbuild/cel";
import type { CelValue } from "@bufbuild/cel";
import type { JsonObject, JsonValue } from "./model.js";

/** Thrown by {@link celToJson} for a value with no JSON form. */
export class CelJsonError extends Error {
  override name = "CelJsonError";
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function intToJson(v: bigint): number | string {
  return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v.toString();
}

function keyToString(k: unknown): string {
  if (isCelUint(k)) return k.value.toString();
  return String(k);
}

function nanosText(nanos: number): string {
  if (nanos === 0) return "";
  return `.${String(nanos).padStart(9, "0").replace(/0+$/, "")}`;
}

function messageToJson(v: { message?: unknown }): JsonValue {
  const msg = v.message as { $typeName?: string; seconds?: bigint; nanos?: number } | undefined;
  const seconds = msg?.seconds ?? 0n;
  const nanos = msg?.nanos ?? 0;
  if (msg?.$typeName === "google.protobuf.Duration") {
    const negative = seconds < 0n || nanos < 0;
    const abs = seconds < 0n ? -seconds : seconds;
    return `${negative ? "-" : ""}${abs}${nanosText(Math.abs(nanos))}s`;
  }
  if (msg?.$typeName === "google.protobuf.Timestamp") {
    const iso = new Date(Number(seconds) * 1000).toISOString().replace(/\.000Z$/, "");
    return `${iso}${nanosText(nanos)}Z`;
  }
  throw new CelJsonError(`a ${msg?.$typeName ?? "message"} value has no JSON form`);
}

/**
 * Converts a CEL value to JSON; throws {@link CelJsonError} for non-finite
 * doubles and values with no JSON form (e.g. arbitrary protobuf messages).
 *
 * @example
 * import { run } from "@bufbuild/cel";
 * celToJson(run("[1, 2.5, {'a': null}]") as CelValue); // [1, 2.5, { a: null }]
 */
export function celToJson(v: CelValue): JsonValue {
  switch (typeof v) {
    case "string":
    case "boolean":
      return v;
    case "number":
      if (!Number.isFinite(v)) throw new CelJsonError(`the number ${v} has no JSON form`);
      return v;
    case "bigint":
      return intToJson(v);
  }
  if (v === null) return null;
  if (isCelUint(v)) return intToJson(v.value);
  if (v instanceof Uint8Array) return Buffer.from(v).toString("base64");
  if (isCelList(v)) {
    const out: JsonValue[] = [];
    for (const item of v) out.push(celToJson(item));
    return out;
  }
  if (isCelMap(v)) {
    // fromEntries defines own properties, so a "__proto__" key stays data.
    const entries: [string, JsonValue][] = [];
    for (const [k, item] of v) entries.push([keyToString(k), celToJson(item)]);
    return Object.fromEntries(entries) as JsonObject;
  }
  if (isCelType(v)) return v.name;
  return messageToJson(v as { message?: unknown });
}
