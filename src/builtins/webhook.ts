/**
 * `webhook`: input {url, payload, headers?, timeout?} → POSTs the payload as
 * JSON, signed with the workflow's webhook secret (or the server default; see
 * `signature.ts`; no secret at all: unsigned). Output and errors as for `http.request`,
 * the egress policy included.
 *
 * @example
 * ```yaml
 * - id: notify
 *   action: webhook
 *   input: { url: "https://hooks.example.com/weft", payload: { order: "${ input.order }" } }
 * ```
 */
import { httpExchange, readTarget } from "./http-request.js";
import { signatureHeaders } from "./signature.js";
import { asObject, badInput, type BuiltinAction } from "./types.js";

const NAME = "webhook";

export const webhook: BuiltinAction = {
  name: NAME,
  async run(raw, ctx) {
    const input = asObject(raw);
    if (!input) return badInput(NAME, "input must be an object {url, payload}");
    const target = readTarget(NAME, input);
    if ("kind" in target) return target;
    const body = JSON.stringify(input.payload ?? null);
    const secret = await ctx.signingSecret();
    const signed = secret ? signatureHeaders(secret, body, ctx.now) : { "content-type": "application/json" };
    const headers = { ...target.headers, ...signed };
    return httpExchange({ method: "POST", url: target.url, headers, body, timeoutMs: target.timeoutMs }, ctx);
  },
};
