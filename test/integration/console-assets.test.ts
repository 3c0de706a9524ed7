/**
 * The console on the one port, over real sockets: index.html for `/` and
 * the console's routes (not cached), hashed assets cached for a year and
 * gzipped on request, a 404 for an unknown asset, and RPCs untouched on both
 * HTTP/1.1 (Connect) and h2c (gRPC). The committed bundle is served whole.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { registerHealth } from "../../src/api/health.js";
import { createHttpServer, type HttpServer } from "../../src/http/server.js";
import { createLogger } from "../../src/log.js";

const INDEX = '<!doctype html><script type="module" src="/assets/app-3f9a0c12.js"></script>';
const SCRIPT = `console.log(${JSON.stringify("x".repeat(4000))});\n`;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function get(url: string, headers: Record<string, string> = {}, method = "GET"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

const HTML = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };

async function serve(consoleDir: string | undefined): Promise<{ server: HttpServer; url: string }> {
  const server = createHttpServer({
    routes: (router) => registerHealth(router, { check: async () => true }),
    port: 0,
    host: "127.0.0.1",
    corsOrigins: [],
    maxRequestBytes: 1 << 20,
    ready: async () => true,
    logger: createLogger({ level: "silent" }),
    ...(consoleDir ? { consoleDir } : {}),
  });
  const { port } = await server.listen();
  return { server, url: `http://127.0.0.1:${port}` };
}

describe("the console on the one port", () => {
  let dir: string;
  let server: HttpServer;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "weft-console-"));
    mkdirSync(join(dir, "assets"));
    writeFileSync(join(dir, "index.html"), INDEX);
    writeFileSync(join(dir, "assets", "app-3f9a0c12.js"), SCRIPT);
    ({ server, url } = await serve(dir));
  });
  afterAll(async () => {
    await server?.close({ graceMs: 100 });
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers / and the console's own routes with index.html, not cached", async () => {
    for (const path of ["/", "/runs", "/runs/0193a5b2-0000-7000-8000-000000000000?step=greet", "/workflows/my.flow"]) {
      const res = await get(url + path, HTML);
      expect(res.status, path).toBe(200);
      expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(res.headers["cache-control"]).toBe("no-cache");
      expect(res.body.toString()).toBe(INDEX);
    }
    const head = await get(url + "/", HTML, "HEAD");
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });

  it("serves hashed assets for a year, gzipped when asked, and 404s an unknown one", async () => {
    const plain = await get(`${url}/assets/app-3f9a0c12.js`);
    expect(plain.status).toBe(200);
    expect(plain.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(plain.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(plain.body.toString()).toBe(SCRIPT);

    const zipped = await get(`${url}/assets/app-3f9a0c12.js`, { "accept-encoding": "gzip, br" });
    expect(zipped.headers["content-encoding"]).toBe("gzip");
    expect(zipped.headers.vary).toBe("accept-encoding");
    expect(gunzipSync(zipped.body).toString()).toBe(SCRIPT);
    expect(zipped.body.length).toBeLessThan(SCRIPT.length / 10);

    const missing = await get(`${url}/assets/app-00000000.js`, HTML);
    expect(missing.status).toBe(404);
    expect(missing.headers["cache-control"]).toBe("no-store");
  });

  it("leaves RPC paths to the RPC server, from browsers too, on HTTP/1.1 and h2c", async () => {
    const connect = createClient(Health, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
    expect((await connect.check({})).status).toBe(Status.SERVING);
    const grpc = createClient(Health, createGrpcTransport({ baseUrl: url }));
    expect((await grpc.check({})).status).toBe(Status.SERVING);

    const bare = await get(`${url}/grpc.health.v1.Health/Check`, HTML);
    expect(bare.status).toBe(405);
    expect(bare.body.toString()).toMatch(/takes POST/);
    const unknown = await get(`${url}/weft.v1.NoService/Nothing`, HTML);
    expect(unknown.status).toBe(404);
    expect(unknown.body.toString()).not.toBe(INDEX);
  });

  it("answers a request that does not ask for HTML as before (no console)", async () => {
    const res = await get(`${url}/runs`, { accept: "application/json" });
    expect(res.status).toBe(404);
    expect(res.body.toString()).not.toBe(INDEX);
  });
});

describe("the committed console bundle", () => {
  it("serves index.html and every script and stylesheet it names", async () => {
    const dist = fileURLToPath(new URL("../../console/dist", import.meta.url));
    const { server, url } = await serve(dist);
    try {
      const index = await get(`${url}/`, HTML);
      expect(index.status).toBe(200);
      expect(index.body.toString()).toBe(readFileSync(join(dist, "index.html"), "utf8"));
      const refs = [...index.body.toString().matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
      expect(refs.length).toBeGreaterThanOrEqual(2);
      for (const ref of refs) {
        expect(ref).toMatch(/-[A-Za-z0-9_-]{8}\.(js|css)$/);
        const res = await get(url + ref);
        expect(res.status, ref).toBe(200);
        expect(res.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
      }
    } finally {
      await server.close({ graceMs: 100 });
    }
  });

  it("tells a browser how to build it when there is none", async () => {
    const { server, url } = await serve(join(tmpdir(), "weft-console-missing"));
    try {
      const res = await get(`${url}/`, HTML);
      expect(res.status).toBe(404);
      expect(res.body.toString()).toMatch(/npm run build:console/);
    } finally {
      await server.close({ graceMs: 100 });
    }
  });
});
