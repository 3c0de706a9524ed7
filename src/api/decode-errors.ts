/**
 * Our words for the errors connect-node raises while it reads a request,
 * before any handler or interceptor runs (see `withEarlyErrors` in
 * src/http/early-errors.ts): a request above the size limit names the
 * setting that sets it, not connect's `readMaxBytes`.
 *
 * @example
 *   createHttpServer({ ..., earlyErrors: explainDecodeError({ maxRequestBytes: 4 << 20 }) });
 */
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import { OPTIONS } from "../config.js";
import { resourceExhausted } from "./errors.js";

const LIMIT_SETTING = `--${OPTIONS.maxRequestBytes.flag} / ${OPTIONS.maxRequestBytes.env}`;

/**
 * `message size 5000 is larger than configured readMaxBytes 4096`, its
 * variant without the number (a body read in pieces), and the one after
 * decompression (`message is larger than … after decompression`).
 */
const READ_MAX_BYTES =
  /^message(?: size)?(?: (\d+))? is larger than configured readMaxBytes \d+( after decompression)?$/;

/**
 * The map for `withEarlyErrors`: returns our error for one connect raised
 * while reading the request, undefined for any other.
 *
 * @example
 *   const explain = explainDecodeError({ maxRequestBytes: 4096 });
 *   explain(new ConnectError("message size 5000 is larger than configured readMaxBytes 4096", Code.ResourceExhausted), method);
 *   // → RESOURCE_EXHAUSTED "the request (5000 bytes) is larger than the server's limit of 4096 bytes (--max-request-bytes / WEFT_MAX_REQUEST_BYTES)"
 */
export function explainDecodeError(opts: {
  maxRequestBytes: number;
}): (err: ConnectError, method: DescMethod) => ConnectError | undefined {
  return (err) => {
    if (err.code === Code.ResourceExhausted) {
      const m = READ_MAX_BYTES.exec(err.rawMessage);
      if (!m) return undefined;
      const size = m[1] ? ` (${m[1]} bytes)` : "";
      const after = m[2] ? " once decompressed" : "";
      return resourceExhausted(
        `the request${size} is larger than the server's limit of ${opts.maxRequestBytes} bytes${after} (${LIMIT_SETTING})`,
      );
    }
    return undefined;
  };
}
