/**
 * Every reason a JSON value does not decode as a given message, each with
 * its path, where protobuf-es's `fromJson` stops at the first and names
 * protobuf types (`cannot decode message google.protobuf.Duration from
 * JSON: "banana"`). Used for workflow YAML, whose errors are then placed by
 * line and column (see workflow-spec.ts).
 *
 * @example
 *   findJsonProblems(WorkflowSpecSchema, { id: 1, steps: [{ id: "a", acton: "x" }] });
 *   // [{ path: ["id"], at: "value", message: "expected a string, got 1 (…)" },
 *   //  { path: ["steps", 0, "acton"], at: "key", message: "unknown key (did you mean action?)" }]
 */
import { ScalarType, fromJson, type DescField, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import { closestName } from "../engine/suggest.js";

/** One thing that does not decode: where (`at` the key itself, or its value) and why. */
export interface JsonProblem {
  path: (string | number)[];
  at: "key" | "value";
  message: string;
}

type JsonObject = { [key: string]: JsonValue };

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === "object" && !Array.isArray(v);

/** A short rendering of a value for a message. */
function show(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

/** The field `key` names (proto or JSON name), as protobuf-es reads it. */
function fieldByJsonKey(desc: DescMessage, key: string): DescField | undefined {
  return desc.fields.find((f) => f.name === key || f.jsonName === key);
}

/**
 * "unknown key", with the closest field name when one is close, spelled as
 * the key was (camelCase keys get the JSON name, others the proto name).
 *
 * @example
 *   unknownKeyMessage(StepSpecSchema, "dependson"); // "unknown key (did you mean depends_on?)"
 */
function unknownKeyMessage(desc: DescMessage, key: string): string {
  const camel = /[A-Z]/.test(key);
  const names = desc.fields.map((f) => (camel ? f.jsonName : f.name));
  const best = closestName(key, names);
  return best === undefined ? "unknown key" : `unknown key (did you mean ${best}?)`;
}

/**
 * Lists every problem of `json` read as `desc`, in document order; empty
 * when `fromJson(desc, json)` would succeed (depth limits aside).
 *
 * @example
 *   findJsonProblems(StepSpecSchema, { id: "a", timeout: "banana" });
 *   // [{ path: ["timeout"], at: "value", message: 'expected a duration such as 30s, 500ms or 1h30m, got "banana"' }]
 */
export function findJsonProblems(desc: DescMessage, json: unknown): JsonProblem[] {
  const out: JsonProblem[] = [];
  readMessage(desc, json, [], out);
  return out;
}

function readMessage(desc: DescMessage, json: unknown, path: (string | number)[], out: JsonProblem[]): void {
  if (desc.typeName.startsWith("google.protobuf.")) {
    // Well-known types have JSON forms of their own (Value takes anything, Duration a string…).
    const problem = decodeProblem(() => fromJson(desc, json as JsonValue));
    if (problem !== undefined) out.push({ path, at: "value", message: wktMessage(desc, json, problem) });
    return;
  }
  if (json === null) return;
  if (!isObject(json)) {
    out.push({ path, at: "value", message: `expected a mapping, got ${show(json)}` });
    return;
  }
  const seen = new Map<string, string>();
  for (const [key, value] of Object.entries(json)) {
    const field = fieldByJsonKey(desc, key);
    if (!field) {
      out.push({ path: [...path, key], at: "key", message: unknownKeyMessage(desc, key) });
      continue;
    }
    const group = field.oneof?.name ?? field.name;
    const before = seen.get(group);
    if (before !== undefined && !(field.oneof && value === null)) {
      const what = field.oneof ? `only one of ${field.oneof.fields.map((f) => f.name).join(", ")} may be set` : "";
      out.push({ path: [...path, key], at: "key", message: `${before} is set already${what ? `; ${what}` : ""}` });
      continue;
    }
    seen.set(group, key);
    readField(desc, field, key, value, [...path, key], out);
  }
}

function readField(
  desc: DescMessage,
  field: DescField,
  key: string,
  value: JsonValue,
  path: (string | number)[],
  out: JsonProblem[],
): void {
  if (value === null) return;
  /** Decodes one value (`wrapped` as the field holds it: itself, in a list, in a map) on its own. */
  const one = (item: JsonValue, wrapped: JsonValue, at: (string | number)[]) => {
    const problem = decodeProblem(() => fromJson(desc, { [key]: wrapped }));
    if (problem !== undefined) out.push({ path: at, at: "value", message: fieldMessage(field, item, problem) });
  };
  switch (field.fieldKind) {
    case "message":
      return readMessage(field.message, value, path, out);
    case "list":
      if (!Array.isArray(value))
        return void out.push({ path, at: "value", message: `expected a list, got ${show(value)}` });
      value.forEach((item, i) =>
        field.listKind === "message"
          ? readMessage(field.message, item, [...path, i], out)
          : one(item, [item], [...path, i]),
      );
      return;
    case "map":
      if (!isObject(value))
        return void out.push({ path, at: "value", message: `expected a mapping, got ${show(value)}` });
      for (const [k, v] of Object.entries(value)) {
        if (field.mapKind === "message") readMessage(field.message, v, [...path, k], out);
        else one(v, { [k]: v }, [...path, k]);
      }
      return;
    default:
      return one(value, value, path);
  }
}

/** protobuf-es's reason without its `cannot decode … from JSON:` preamble, or undefined when it decodes. */
function decodeProblem(decode: () => unknown): string | undefined {
  try {
    decode();
    return undefined;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return message.replace(/^cannot decode .*? from JSON: /, "").replace(/^(list item #\d+|map value [^:]*): /, "");
  }
}

function wktMessage(desc: DescMessage, json: unknown, problem: string): string {
  if (desc.typeName === "google.protobuf.Duration") {
    return `expected a duration such as 30s, 500ms or 1h30m, got ${show(json)}`;
  }
  return problem;
}

function fieldMessage(field: DescField, item: JsonValue, problem: string): string {
  if (field.enum) {
    // Named without the prefix the YAML may leave out (`ALL_DONE` for `TRIGGER_RULE_ALL_DONE`).
    const prefix = field.enum.sharedPrefix?.toUpperCase() ?? "";
    const short = (name: string) => (prefix && name.startsWith(prefix) ? name.slice(prefix.length) : name);
    const names = field.enum.values.filter((v) => v.number !== 0).map((v) => short(v.name));
    return `expected one of ${names.join(", ")}, got ${show(typeof item === "string" ? short(item) : item)}`;
  }
  if (field.scalar === ScalarType.STRING && (typeof item === "number" || typeof item === "boolean")) {
    return `expected a string, got ${show(item)} (quote it: "${String(item)}")`;
  }
  return problem;
}
