/**
 * Checks every request before its handler runs: protovalidate rules, then the
 * limits protovalidate cannot express (Value depth, text Postgres cannot
 * store: NUL characters and lone UTF-16 surrogates). All violations are
 * reported at once.
 *
 * @example
 *   const checks = createRequestChecks();
 *   connectNodeAdapter({ routes, interceptors: [checks.interceptor] });
 */
import type { DescMessage, Message } from "@bufbuild/protobuf";
import { toJson } from "@bufbuild/protobuf";
import { reflect, pathToString, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import type { Interceptor } from "@connectrpc/connect";
import { createValidator } from "@bufbuild/protovalidate";
import { findUnstorableStrings, jsonDepth, unstorableText } from "../engine/json.js";
import type { JsonValue } from "../engine/model.js";
import { MAX_VALUE_DEPTH } from "../engine/validate.js";
import { invalidArgument, type FieldViolation } from "./errors.js";

/** Requests whose handlers run the checks themselves, merged with checks of their own. */
const SELF_VALIDATING = new Set(["weft.v1.CreateWorkflowRequest"]);

export interface RequestChecks {
  /** Every violation of `msg`, field paths prefixed with `prefix` when given. */
  check(schema: DescMessage, msg: Message, prefix?: string): FieldViolation[];
  /** Throws `INVALID_ARGUMENT` listing the violations, if any. */
  assertValid(schema: DescMessage, msg: Message, prefix?: string): void;
  /** Validates unary and server-stream requests; client-stream messages are the handler's job. */
  interceptor: Interceptor;
}

/** Creates the validator once (it compiles and caches rules per message type). */
export function createRequestChecks(): RequestChecks {
  const validator = createValidator();
  const check = (schema: DescMessage, msg: Message, prefix = ""): FieldViolation[] => {
    const out: FieldViolation[] = [];
    const result = validator.validate(schema, msg as never);
    if (result.kind === "invalid") {
      for (const v of result.error.violations) {
        out.push({ field: join(prefix, pathToString(v.field)), description: v.message });
      }
    } else if (result.kind === "error") {
      throw result.error;
    }
    walk(reflect(schema, msg), prefix, out);
    return out;
  };
  const assertValid = (schema: DescMessage, msg: Message, prefix?: string): void => {
    const violations = check(schema, msg, prefix);
    if (violations.length > 0) throw invalidArgument(violations);
  };
  const interceptor: Interceptor = (next) => async (req) => {
    if (!req.stream && !SELF_VALIDATING.has(req.method.input.typeName)) assertValid(req.method.input, req.message);
    return next(req);
  };
  return { check, assertValid, interceptor };
}

function join(prefix: string, field: string): string {
  if (!prefix) return field;
  return field ? `${prefix}.${field}` : prefix;
}

/** Finds strings Postgres cannot store and over-deep Values anywhere in a message. */
function walk(msg: ReflectMessage, path: string, out: FieldViolation[]): void {
  if (msg.desc.typeName === ValueSchema.typeName) {
    const json = toJson(ValueSchema, msg.message as never) as JsonValue;
    if (jsonDepth(json) > MAX_VALUE_DEPTH) {
      out.push({ field: path, description: `value is nested deeper than ${MAX_VALUE_DEPTH} levels` });
      return;
    }
    for (const bad of findUnstorableStrings(json, path)) {
      out.push({ field: bad.path, description: `strings may not contain ${bad.problem}` });
    }
    return;
  }
  for (const field of msg.fields) {
    if (!msg.isSet(field)) continue;
    const name = join(path, field.name);
    switch (field.fieldKind) {
      case "scalar":
        textCheck(msg.get(field), name, out);
        break;
      case "message":
        walk(msg.get(field), name, out);
        break;
      case "list": {
        let i = 0;
        for (const item of msg.get(field)) {
          const itemPath = `${name}[${i++}]`;
          if (field.listKind === "message") walk(item as ReflectMessage, itemPath, out);
          else textCheck(item, itemPath, out);
        }
        break;
      }
      case "map":
        for (const [key, value] of msg.get(field)) {
          const itemPath = `${name}[${JSON.stringify(String(key))}]`;
          textCheck(key, itemPath, out);
          if (field.mapKind === "message") walk(value as ReflectMessage, itemPath, out);
          else textCheck(value, itemPath, out);
        }
        break;
      case "enum":
        break;
    }
  }
}

function textCheck(value: unknown, path: string, out: FieldViolation[]): void {
  const problem = typeof value === "string" ? unstorableText(value) : undefined;
  if (problem !== undefined) out.push({ field: path, description: `strings may not contain ${problem}` });
}
