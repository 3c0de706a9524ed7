/**
 * `http.request`: input {method, url, headers, body, timeout} → output
 * {status, headers, body}. The body is sent as JSON unless it is a string;
 * the answer's body is parsed as JSON when its content type says JSON, else
 * kept as text.
 *
 * Errors: a non-2xx answer is `HTTP_<status>` (retryable for 5xx and 429,
 * not for other 4xx); no answer within `timeout` (default 30 s) is `TIMEOUT`
 * and a network failure `NETWORK_ERROR`, both retryable; a body above the
 * payload limit `PAYLOAD_TOO_LARGE` (not retryable, and not read further). Whether a retry
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
import { cancelled, httpStatus, networkError, payloadTooLarge, timeout } from "../engine/failures.js";
import type { JsonValue } from "../engine/model.js";
import { asObject, badInput, failed, type BuiltinAction, type BuiltinOutcome } from "./types.js";

const NAME = "http.request";
const DEFAULT_TIMEOUT_MS = 30_000;
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Performs one HTTP exchange; shared with the `webhook` built-in. */
export async function httpExchange(
  req: { method: string; url: string; headers: Record<string, string>; body?: string; timeoutMs: number },
  signal: AbortSignal,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<BuiltinOutcome> {
  const ownTimeout = AbortSignal.timeout(req.timeoutMs);
  const describe = `${req.method} ${req.url}`;
  try {
    const res = await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      ...(req.body !== undefined ? { body: req.body } : {}),
      signal: AbortSignal.any([signal, ownTimeout]),
      redirect: "follow",
    });
    const text = await readCapped(res, maxBytes);
    if (text === undefined) {
      return failed(
        payloadTooLarge(
          `${describe}: response body above the payload limit of ${maxBytes} bytes (--max-payload-bytes)`,
        ),
      );
    }
    const headers: Record<string, JsonValue> = {};
    res.headers.forEach((value, key) => (headers[key] = value));
    let body: JsonValue = text;
    if (/\bjson\b/i.test(res.headers.get("content-type") ?? "") && text !== "") {
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
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return failed(networkError(`${describe}: ${cause?.code ?? cause?.message ?? (err as Error).message}`));
  }
}

/** The body as text, or undefined once it passes `maxBytes` (the rest is not read). */
async function readCapped(res: Response, maxBytes: number): Promise<string | undefined> {
  if (!res.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
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
    return httpExchange({ method, ...target, ...(body !== undefined ? { body } : {}) }, ctx.signal, ctx.maxOutputBytes);
  },
};
