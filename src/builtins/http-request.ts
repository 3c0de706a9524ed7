/**
 * `http.request`: input {method, url, headers, body, timeout} → output
 * {status, headers, body}. The body is sent as JSON unless it is a string;
 * the answer's body is parsed as JSON when its content type says JSON, else
 * kept as text.
 *
 * Errors: a non-2xx answer is `HTTP_<status>` (retryable for 5xx and 429,
 * not for other 4xx); no answer within `timeout` (default 30 s) is `TIMEOUT`
 * and a network failure `NETWORK_ERROR`, both retryable; a body above the
 * payload limit `PAYLOAD_TOO_LARGE` (not retryable, and not read further); an
 * address the egress policy refuses, on any hop, `EGRESS_DENIED` (not
 * retryable: the next attempt would be refused too). Whether a retry
 * happens is the step's retry policy, as for any worker step.
 *
 * @example
 * ```yaml
 * - id: fetch
 *   action: http.request
 *   input: { method: GET, url: "https://api.example.com/items/${ input.id }", timeout: 5s }
 *   retry: { max_attempts: 3 }
 * ```
 */
import { parseDurationMs } from "../engine/duration-text.js";
import { cancelled, egressDenied, httpStatus, networkError, payloadTooLarge, timeout } from "../engine/failures.js";
import type { JsonValue } from "../engine/model.js";
import { EgressDeniedError, type EgressResponse } from "./egress-client.js";
import { asObject, badInput, failed, type BuiltinAction, type BuiltinContext, type BuiltinOutcome } from "./types.js";

const NAME = "http.request";
const DEFAULT_TIMEOUT_MS = 30_000;
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Performs one HTTP exchange through the egress client; shared with the `webhook` built-in. */
export async function httpExchange(
  req: { method: string; url: string; headers: Record<string, string>; body?: string; timeoutMs: number },
  ctx: Pick<BuiltinContext, "signal" | "egress"> & { maxOutputBytes?: number },
): Promise<BuiltinOutcome> {
  const { signal } = ctx;
  const maxBytes = ctx.maxOutputBytes ?? Number.POSITIVE_INFINITY;
  const ownTimeout = AbortSignal.timeout(req.timeoutMs);
  const both = AbortSignal.any([signal, ownTimeout]);
  const describe = `${req.method} ${req.url}`;
  try {
    const res = await ctx.egress.request({
      method: req.method,
      url: req.url,
      headers: req.headers,
      ...(req.body !== undefined ? { body: req.body } : {}),
      signal: both,
    });
    const text = await readCapped(res, maxBytes);
    // A body cut short by an abort may read as a shorter one: the abort decides.
    both.throwIfAborted();
    if (text === undefined) {
      return failed(
        payloadTooLarge(
          `${describe}: response body above the payload limit of ${maxBytes} bytes (--max-payload-bytes)`,
        ),
      );
    }
    const headers: Record<string, JsonValue> = { ...res.headers };
    let body: JsonValue = text;
    if (/\bjson\b/i.test(res.headers["content-type"] ?? "") && text !== "") {
      try {
        body = JSON.parse(text) as JsonValue;
      } catch {
        body = text;
      }
    }
    if (res.status < 200 || res.status > 299) {
      return failed(httpStatus(res.status, `${describe} answered ${res.status}: ${text.slice(0, 500)}`));
    }
    return { kind: "output", output: { status: res.status, headers, body } };
  } catch (err) {
    if (signal.aborted) return failed(cancelled(`${describe}: cancelled (${String(signal.reason)})`, true));
    if (ownTimeout.aborted) return failed(timeout(`${describe}: no answer within ${req.timeoutMs} ms`));
    if (err instanceof EgressDeniedError) return failed(egressDenied(`${describe}: ${err.message}`));
    const code = (err as NodeJS.ErrnoException).code;
    return failed(networkError(`${describe}: ${code ?? (err as Error).message}`));
  }
}

/** The body as text, or undefined once it passes `maxBytes` (the rest is not read). */
async function readCapped(res: EgressResponse, maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      res.body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Reads the common {url, headers, timeout} settings. */
export function readTarget(
  action: string,
  input: Record<string, JsonValue>,
): { url: string; headers: Record<string, string>; timeoutMs: number } | BuiltinOutcome {
  const url = input.url;
  if (typeof url !== "string" || !/^https?:\/\//i.test(url)) return badInput(action, "url must be an http(s) URL");
  const headers: Record<string, string> = {};
  const given = asObject(input.headers ?? {});
  if (!given) return badInput(action, "headers must be an object of strings");
  for (const [k, v] of Object.entries(given)) headers[k.toLowerCase()] = typeof v === "string" ? v : JSON.stringify(v);
  const timeoutMs = input.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDurationMs(input.timeout);
  if (timeoutMs === undefined || !(timeoutMs > 0))
    return badInput(action, `timeout must be a positive duration, got ${JSON.stringify(input.timeout)}`);
  return { url, headers, timeoutMs };
}

export const httpRequest: BuiltinAction = {
  name: NAME,
  async run(raw, ctx) {
    const input = asObject(raw);
    if (!input) return badInput(NAME, "input must be an object {method, url, headers, body, timeout}");
    const method = (typeof input.method === "string" ? input.method : "GET").toUpperCase();
    if (!METHODS.has(method)) return badInput(NAME, `unknown method ${JSON.stringify(input.method)}`);
    const target = readTarget(NAME, input);
    if ("kind" in target) return target;
    let body: string | undefined;
    if (input.body !== undefined && input.body !== null) {
      body = typeof input.body === "string" ? input.body : JSON.stringify(input.body);
      if (typeof input.body !== "string" && !target.headers["content-type"])
        target.headers["content-type"] = "application/json";
    }
    return httpExchange({ method, ...target, ...(body !== undefined ? { body } : {}) }, ctx);
  },
};
