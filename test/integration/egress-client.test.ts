/**
 * The egress client (src/builtins/egress-client.ts) against local HTTP stubs:
 * what it keeps of fetch (redirects, 303 → GET, credentials dropped across
 * origins, compressed bodies, a redirect limit) and what it adds (every hop
 * and every looked-up name held to the policy). Through http.request's
 * exchange too: a refusal is EGRESS_DENIED, not retryable.
 */
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEgressClient, EgressDeniedError, type EgressResponse } from "../../src/builtins/egress-client.js";
import { createEgressPolicy } from "../../src/builtins/egress-policy.js";
import { httpExchange } from "../../src/builtins/http-request.js";
import { startHttpStub, type HttpStub } from "../support/http-stub.js";

const open = createEgressClient(createEgressPolicy({ allow: [], deny: [], denyInternal: false }));
const keyed = createEgressClient(createEgressPolicy({ allow: [], deny: [], denyInternal: true }));
const signal = new AbortController().signal;

async function text(res: EgressResponse): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res.body as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}

describe("the egress client", () => {
  let a: HttpStub;
  let b: HttpStub;

  beforeAll(async () => {
    [a, b] = await Promise.all([startHttpStub(), startHttpStub({ host: "127.0.0.2" })]);
    a.on("/echo", (req, res) => res.json(200, { method: req.method, body: req.body, auth: req.headers.authorization }));
    b.on("/echo", (req, res) => res.json(200, { method: req.method, body: req.body, auth: req.headers.authorization }));
    a.on("/see-other", (_req, res) => void res.raw.writeHead(303, { location: "/echo" }).end());
    a.on("/keep", (_req, res) => void res.raw.writeHead(307, { location: "/echo" }).end());
    a.on("/elsewhere", (_req, res) => void res.raw.writeHead(302, { location: `${b.url}/echo` }).end());
    a.on("/loop", (_req, res) => void res.raw.writeHead(302, { location: "/loop" }).end());
    a.on(
      "/zipped",
      (_req, res) =>
        void res.raw
          .writeHead(200, { "content-encoding": "gzip", "content-type": "text/plain" })
          .end(gzipSync("unzipped")),
    );
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  const post = (url: string, headers: Record<string, string> = {}) =>
    open.request({ method: "POST", url, headers: { "content-type": "text/plain", ...headers }, body: "hi", signal });

  it("a 303 goes on as a GET without the body; a 307 keeps both", async () => {
    expect(JSON.parse(await text(await post(`${a.url}/see-other`)))).toMatchObject({ method: "GET", body: "" });
    const kept = await post(`${a.url}/keep`);
    expect(kept.url).toBe(`${a.url}/echo`);
    expect(JSON.parse(await text(kept))).toMatchObject({ method: "POST", body: "hi" });
  });

  it("credentials go along within an origin, never to another one", async () => {
    const same = await post(`${a.url}/keep`, { authorization: "Bearer s" });
    expect(JSON.parse(await text(same)).auth).toBe("Bearer s");
    const other = await post(`${a.url}/elsewhere`, { authorization: "Bearer s" });
    expect(other.url).toBe(`${b.url}/echo`);
    expect(JSON.parse(await text(other)).auth).toBeUndefined();
  });

  it("decodes a gzip body, and gives up after twenty redirects", async () => {
    const res = await open.request({ method: "GET", url: `${a.url}/zipped`, headers: {}, signal });
    expect(await text(res)).toBe("unzipped");
    await expect(open.request({ method: "GET", url: `${a.url}/loop`, headers: {}, signal })).rejects.toThrow(
      "more than 20 redirects",
    );
  });

  it("refuses a denied address whether written out or looked up, before sending anything", async () => {
    const before = a.requests.length;
    await expect(keyed.request({ method: "GET", url: `${a.url}/echo`, headers: {}, signal })).rejects.toThrow(
      EgressDeniedError,
    );
    await expect(
      keyed.request({ method: "GET", url: `http://localhost:${a.port}/echo`, headers: {}, signal }),
    ).rejects.toThrow(/^localhost \(resolved to .*\) is in the loopback range/);
    await expect(
      keyed.request({ method: "GET", url: `http://[::ffff:127.0.0.1]:${a.port}/echo`, headers: {}, signal }),
    ).rejects.toThrow(/is in the loopback range 127\.0\.0\.0\/8/);
    expect(a.requests.length).toBe(before);
  });

  it("a redirect to an address the deny list names is refused at that hop, before anything is sent there", async () => {
    const client = createEgressClient(createEgressPolicy({ allow: [], deny: ["127.0.0.2"], denyInternal: false }));
    const [sentA, sentB] = [a.to("/elsewhere").length, b.requests.length];
    await expect(client.request({ method: "GET", url: `${a.url}/elsewhere`, headers: {}, signal })).rejects.toThrow(
      "127.0.0.2 is denied by --egress-deny 127.0.0.2",
    );
    expect(a.to("/elsewhere").length).toBe(sentA + 1);
    expect(b.requests.length).toBe(sentB);
  });

  it("http.request's exchange turns a refusal into EGRESS_DENIED, not retryable", async () => {
    const outcome = await httpExchange(
      { method: "GET", url: `${a.url}/echo`, headers: {}, timeoutMs: 5_000 },
      { signal, egress: keyed },
    );
    expect(outcome).toMatchObject({ kind: "error", error: { type: "EGRESS_DENIED", retryable: false } });
    expect(outcome.kind === "error" && outcome.error.message).toBe(
      `GET ${a.url}/echo: 127.0.0.1 is in the loopback range 127.0.0.0/8, denied while auth is on; allow it with --egress-allow 127.0.0.0/8`,
    );
    const ok = await httpExchange(
      { method: "GET", url: `${a.url}/echo`, headers: {}, timeoutMs: 5_000 },
      { signal, egress: open },
    );
    expect(ok).toMatchObject({ kind: "output", output: { status: 200, body: { method: "GET" } } });
  });
});
