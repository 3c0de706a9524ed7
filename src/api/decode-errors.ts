/**
 * Our words for the errors connect-node raises while it reads a request,
 * before any handler or interceptor runs (see `withEarlyErrors` in
 * src/http/early-errors.ts): a request above the size limit names the
 * setting that sets it, not connect's `readMaxBytes`; an unknown JSON field
 * (refused: `ignoreUnknownFields: false` in src/http/rpc-adapter.ts) is named
 * with the field it likely meant, as `google.rpc.BadRequest`.
 *
 * @example
 *   createHttpServer({ ..., earlyErrors: explainDecodeError({ maxRequestBytes: 4 << 20, limitSetting: "--max-request-bytes" }) });
 */
import type { DescMessage, DescMethod } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import { closestName } from "../engine/suggest.js";
import { invalidArgument, resourceExhausted } from "./errors.js";

/**
 * `message size 5000 is larger than configured readMaxBytes 4096`, its
 * variant without the number (a body read in pieces), and the one after
 * decompression (`message is larger than … after decompression`).
 */
const READ_MAX_BYTES =
  /^message(?: size)?(?: (\d+))? is larger than configured readMaxBytes \d+( after decompression)?$/;

/** protobuf-es's words for a JSON key no field has. */
const UNKNOWN_KEY = /^cannot decode message ([\w.]+) from JSON: key "(.*)" is unknown$/;

/**
 * The map for `withEarlyErrors`: returns our error for one connect raised
 * while reading the request, undefined for any other. `limitSetting` names
 * where an operator raises the limit: the composition root knows the
 * command's flags (the API does not import the configuration).
 *
 * @example
 *   const explain = explainDecodeError({ maxRequestBytes: 4096, limitSetting: "--max-request-bytes / WEFT_MAX_REQUEST_BYTES" });
 *   explain(new ConnectError("message size 5000 is larger than configured readMaxBytes 4096", Code.ResourceExhausted), method);
 *   // → RESOURCE_EXHAUSTED "the request (5000 bytes) is larger than the server's limit of 4096 bytes (--max-request-bytes / WEFT_MAX_REQUEST_BYTES)"
 */
export function explainDecodeError(opts: {
  maxRequestBytes: number;
  limitSetting: string;
}): (err: ConnectError, method: DescMethod) => ConnectError | undefined {
  return (err, method) => {
    if (err.code === Code.InvalidArgument) return unknownField(err.rawMessage, method.input);
    if (err.code === Code.ResourceExhausted) {
      const m = READ_MAX_BYTES.exec(err.rawMessage);
      if (!m) return undefined;
      const size = m[1] ? ` (${m[1]} bytes)` : "";
      const after = m[2] ? " once decompressed" : "";
      return resourceExhausted(
        `the request${size} is larger than the server's limit of ${opts.maxRequestBytes} bytes${after} (${opts.limitSetting})`,
      );
    }
    return undefined;
  };
}

/** `INVALID_ARGUMENT` naming an unknown JSON key and the field it likely meant (both spellings). */
function unknownField(message: string, input: DescMessage): ConnectError | undefined {
  const m = UNKNOWN_KEY.exec(message);
  if (!m) return undefined;
  const [, typeName, key] = m as unknown as [string, string, string];
  const desc = findMessage(input, typeName);
  const names = desc ? desc.fields.flatMap((f) => [f.jsonName, f.name]) : [];
  const best = closestName(key, names);
  const field = desc?.fields.find((f) => f.jsonName === best || f.name === best);
  const spellings = field ? [...new Set([field.jsonName, field.name])].join(" or ") : "";
  const where = desc === input ? "" : ` in ${typeName}`;
  return invalidArgument([
    { field: key, description: `unknown field${where}${spellings ? ` (did you mean ${spellings}?)` : ""}` },
  ]);
}

/** The message named `typeName` among `root` and the messages its fields hold, nested. */
function findMessage(root: DescMessage, typeName: string): DescMessage | undefined {
  const queue = [root];
  const seen = new Set<string>();
  for (let desc = queue.shift(); desc; desc = queue.shift()) {
    if (desc.typeName === typeName) return desc;
    if (seen.has(desc.typeName)) continue;
    seen.add(desc.typeName);
    for (const f of desc.fields) if (f.message) queue.push(f.message);
  }
  return undefined;
}
