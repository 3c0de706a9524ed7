/**
 * The one way the server makes outbound HTTP requests (`http.request`,
 * `webhook`, run webhooks): every hop is held to the egress policy at the
 * address actually connected to. The policy is checked inside the socket's
 * DNS lookup, so a name that resolves to a denied address is denied, and a
 * name that answers differently on a second lookup (DNS rebinding) is judged
 * by the answer used. Redirects are followed here, one hop at a time, each
 * checked the same way; `fetch` would follow them unchecked.
 *
 * Node's own `http`/`https` carry the requests: the built-in `fetch` takes
 * no lookup of ours. Its own keep-alive agents mean a reused connection is
 * always one this policy let through.
 *
 * @example
 * ```ts
 * const client = createEgressClient(createEgressPolicy({ allow: [], deny: [], denyInternal: true }));
 * const res = await client.request({ method: "GET", url: "https://example.com", headers: {}, signal });
 * for await (const chunk of res.body) ...
 * ```
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { pipeline, type Readable } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import { bareHost, type EgressPolicy } from "./egress-policy.js";

/** A request the policy refused: the step fails with `EGRESS_DENIED`, never retried. */
export class EgressDeniedError extends Error {
  override readonly name = "EgressDeniedError";
}

export interface EgressRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

export interface EgressResponse {
  /** The URL that answered, after redirects. */
  url: string;
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The body, decoded when the answer is gzip, deflate or br compressed. */
  body: Readable;
}

export interface EgressClient {
  /** Sends the request, following redirects; rejects with `EgressDeniedError` when a hop is refused. */
  request(req: EgressRequest): Promise<EgressResponse>;
}

/** As many redirects as `fetch` follows before it gives up. */
const MAX_REDIRECTS = 20;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Headers that carry the caller's credentials: not sent on to another origin. */
const CREDENTIALS = ["authorization", "cookie", "proxy-authorization"];

/**
 * A client held to `policy`.
 *
 * @example
 * const client = createEgressClient(policy);
 */
export function createEgressClient(policy: EgressPolicy): EgressClient {
  const lookup = checkedLookup(policy);
  const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };
  return {
    async request(req) {
      let url = new URL(req.url);
      let { method, body } = req;
      const headers = withDefaults(req.headers);
      for (let hop = 0; ; hop++) {
        checkLiteral(policy, url);
        const res = await send(url, { method, headers, body, signal: req.signal, lookup, agents });
        const location = res.headers.location;
        const status = res.statusCode ?? 0;
        if (!REDIRECTS.has(status) || !location) return answer(url, res);
        res.resume();
        if (hop >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
        const next = new URL(location, url);
        if (next.protocol !== "http:" && next.protocol !== "https:")
          throw new Error(`redirected to a ${next.protocol} URL`);
        // What fetch does: a 303, and a 301/302 after a POST, go on as a GET without the body.
        if ((status === 303 && method !== "HEAD") || ((status === 301 || status === 302) && method === "POST")) {
          method = "GET";
          body = undefined;
          for (const h of ["content-type", "content-length", "content-encoding"]) delete headers[h];
        }
        if (next.origin !== url.origin) for (const h of CREDENTIALS) delete headers[h];
        url = next;
      }
    },
  };
}

/** The caller's headers (lower-cased) plus what fetch would have sent unasked. */
function withDefaults(given: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = { accept: "*/*", "user-agent": "weft" };
  for (const [k, v] of Object.entries(given)) headers[k.toLowerCase()] = v;
  return headers;
}

/** A URL that names an address is never looked up: the policy judges the address here. */
function checkLiteral(policy: EgressPolicy, url: URL): void {
  const host = bareHost(url.hostname);
  if (isIP(host) === 0) return;
  const verdict = policy.check(host, host);
  if (!verdict.allowed) throw new EgressDeniedError(verdict.reason);
}

/**
 * A DNS lookup that only hands the socket addresses the policy allows: a
 * name with some denied addresses connects to the others; with none left it
 * fails with the first refusal's reason.
 */
function checkedLookup(policy: EgressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, "");
      const verdicts = addresses.map((a) => ({ a, v: policy.check(hostname, a.address) }));
      const allowed = verdicts.filter((x) => x.v.allowed).map((x) => x.a);
      const refusal = verdicts.find((x) => !x.v.allowed)?.v;
      if (allowed.length === 0) {
        const reason = refusal && !refusal.allowed ? refusal.reason : `${hostname} resolved to no address`;
        return callback(new EgressDeniedError(reason), "");
      }
      if (options.all) return callback(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

type Agents = { http: HttpAgent; https: HttpsAgent };

/** One exchange, up to the answer's headers. */
function send(
  url: URL,
  r: { method: string; headers: Record<string, string>; body: string | undefined; signal: AbortSignal } & {
    lookup: LookupFunction;
    agents: Agents;
  },
): Promise<IncomingMessage> {
  const headers = { ...r.headers };
  if (r.body !== undefined) headers["content-length"] = String(Buffer.byteLength(r.body));
  const https = url.protocol === "https:";
  const options = { method: r.method, headers, signal: r.signal, lookup: r.lookup };
  return new Promise((resolve, reject) => {
    const req = https
      ? httpsRequest(url, { ...options, agent: r.agents.https }, resolve)
      : httpRequest(url, { ...options, agent: r.agents.http }, resolve);
    req.on("error", reject);
    req.end(r.body);
  });
}

function answer(url: URL, res: IncomingMessage): EgressResponse {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers))
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
  return { url: url.href, status: res.statusCode ?? 0, headers, body: decoded(res) };
}

/** The body decompressed as fetch would: gzip, deflate or br. */
function decoded(res: IncomingMessage): Readable {
  const encoding = (res.headers["content-encoding"] ?? "").trim().toLowerCase();
  const unzip =
    encoding === "gzip" || encoding === "x-gzip"
      ? createGunzip()
      : encoding === "deflate"
        ? createInflate()
        : encoding === "br"
          ? createBrotliDecompress()
          : undefined;
  if (!unzip) return res;
  return pipeline(res, unzip, () => undefined);
}
