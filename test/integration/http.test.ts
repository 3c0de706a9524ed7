/**
 * The one-port HTTP server, for real over sockets: gRPC over h2c (connect-node
 * and grpc-js), Connect JSON over HTTP/1.1 (plain fetch), gRPC-Web
 * (connect-web), CORS, probes, reflection (buf curl and a v1alpha client),
 * request ids, size limits, split first bytes, and graceful close.
 */
import { execFile } from "node:child_process";
import * as http from "node:http";
import * as net from "node:net";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport as createNodeGrpcWebTransport } from "@connectrpc/connect-node";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterEach, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import * as reflectionV1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as reflectionV1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { file_weft_v1_run_service } from "../../gen/weft/v1/run_service_pb.js";
import { file_weft_v1_worker_service } from "../../gen/weft/v1/worker_service_pb.js";
import { file_weft_v1_workflow_service } from "../../gen/weft/v1/workflow_service_pb.js";
import { registerHealth } from "../../src/api/health.js";
import { registerReflection } from "../../src/api/reflection.js";
import { requestContextKey } from "../../src/http/request-context.js";
import { createHttpServer, type HttpServer } from "../../src/http/server.js";
import { createLogger } from "../../src/log.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const BUF = `${root}node_modules/.bin/buf`;
const HEALTH_PROTO = `${root}node_modules/grpc-health-check/proto/health/v1/health.proto`;
const MAX_BYTES = 64 * 1024;

interface Started {
  server: HttpServer;
  port: number;
  url: string;
  /** What Check/Watch/`/readyz` report; flip it in a test. */
  state: { healthy: boolean; ready: () => Promise<boolean>; gate?: Promise<void> };
  logs: Record<string, unknown>[];
  /** Request ids seen by an interceptor through `requestContextKey`. */
  seenIds: string[];
  /** Set by a test that leaves a call open on purpose. */
  expectForcedClose?: boolean;
}

const started: Started[] = [];

async function start(): Promise<Started> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n"))
        if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const seenIds: string[] = [];
  const spy: Interceptor = (next) => (req) => {
    seenIds.push(req.contextValues.get(requestContextKey).id);
    return next(req);
  };
  const state: Started["state"] = { healthy: true, ready: async () => true };
  const server = createHttpServer({
    routes: (router) => {
      registerHealth(router, {
        check: async () => {
          await state.gate;
          return state.healthy;
        },
        watchIntervalMs: 50,
      });
      registerReflection(router, {
        files: [file_weft_v1_workflow_service, file_weft_v1_run_service, file_weft_v1_worker_service],
      });
    },
    port: 0,
    host: "127.0.0.1",
    corsOrigins: ["http://localhost:*", "http://127.0.0.1:*"],
    maxRequestBytes: MAX_BYTES,
    ready: () => state.ready(),
    logger: createLogger({ level: "debug", destination: sink }),
    interceptors: [spy],
  });
  const { port } = await server.listen();
  const s = { server, port, url: `http://127.0.0.1:${port}`, state, logs, seenIds };
  started.push(s);
  return s;
}

// A call left open (a stream nobody cancels, an upload nobody finished) makes
// close() wait out its grace period, which it logs: that is a leak.
afterEach(async () => {
  for (const s of started.splice(0)) {
    await s.server.close({ graceMs: 2000 });
    expect(s.server.connections()).toBe(0);
    if (!s.expectForcedClose)
      expect(s.logs.filter((l) => String(l["msg"]).startsWith("grace period over"))).toEqual([]);
  }
});

const postJson = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

describe("gRPC over HTTP/2", () => {
  it("answers a health check through connect-node", async () => {
    const s = await start();
    const health = createClient(Health, createGrpcTransport({ baseUrl: s.url }));
    expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
    expect((await health.check({ service: "weft.v1.RunService" })).status).toBe(Status.SERVING);
    s.state.healthy = false;
    expect((await health.check({ service: "weft.v1.WorkflowService" })).status).toBe(Status.NOT_SERVING);
    await expect(health.check({ service: "nope.Service" })).rejects.toMatchObject({ code: Code.NotFound });
    const list = await health.list({});
    expect(Object.keys(list.statuses).sort()).toEqual([
      "",
      "weft.v1.RunService",
      "weft.v1.WorkerService",
      "weft.v1.WorkflowService",
    ]);
  });

  it("streams Watch: the current status, then each change", async () => {
    const s = await start();
    const health = createClient(Health, createGrpcTransport({ baseUrl: s.url }));
    // connect's promise client drops return() from stream iterables, so
    // `break` alone would leave the call open: cancel through the signal.
    const abort = new AbortController();
    const seen: Status[] = [];
    for await (const res of health.watch({ service: "" }, { signal: abort.signal })) {
      seen.push(res.status);
      if (seen.length === 1) s.state.healthy = false;
      if (seen.length === 2) break;
    }
    abort.abort();
    expect(seen).toEqual([Status.SERVING, Status.NOT_SERVING]);
    const abortUnknown = new AbortController();
    const unknown = health.watch({ service: "nope.Service" }, { signal: abortUnknown.signal })[Symbol.asyncIterator]();
    expect((await unknown.next()).value?.status).toBe(Status.SERVICE_UNKNOWN);
    abortUnknown.abort();
    await waitFor(() => s.logs.filter((l) => l["path"] === "/grpc.health.v1.Health/Watch").length === 2);
  });

  it("serves a foreign client (@grpc/grpc-js with the health.proto of grpc-health-check)", async () => {
    const s = await start();
    const def = protoLoader.loadSync(HEALTH_PROTO, { keepCase: true, enums: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
    };
    const client = new pkg.grpc.health.v1.Health(`127.0.0.1:${s.port}`, grpc.credentials.createInsecure());
    const check = (service: string) =>
      new Promise<{ status: string }>((resolve, reject) =>
        (client["Check"] as (r: object, cb: (e: grpc.ServiceError | null, v: { status: string }) => void) => void).call(
          client,
          { service },
          (e, v) => (e ? reject(e) : resolve(v)),
        ),
      );
    try {
      expect(await check("")).toEqual({ status: "SERVING" });
      await expect(check("nope.Service")).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
      await expect(check("x".repeat(MAX_BYTES + 10))).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    } finally {
      client.close();
    }
  });
});

describe("Connect and gRPC-Web over HTTP/1.1", () => {
  it("answers Connect JSON from a plain fetch, echoing or minting a request id", async () => {
    const s = await start();
    const res = await postJson(`${s.url}/grpc.health.v1.Health/Check`, { service: "" }, { "x-request-id": "abc-123" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "SERVING" });
    expect(res.headers.get("x-request-id")).toBe("abc-123");
    expect(s.seenIds).toContain("abc-123");

    const minted = await postJson(`${s.url}/grpc.health.v1.Health/Check`, { service: "" });
    expect(minted.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    await minted.arrayBuffer();

    const missing = await postJson(`${s.url}/grpc.health.v1.Health/Check`, { service: "nope.Service" });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: "not_found" });

    const line = s.logs.find((l) => l["reqId"] === "abc-123" && l["msg"] === "request");
    expect(line).toMatchObject({
      level: "info",
      method: "POST",
      path: "/grpc.health.v1.Health/Check",
      status: 200,
      protocol: "connect",
      http: "1.1",
    });
    await waitFor(() => s.logs.some((l) => l["msg"] === "request" && l["code"] === "not_found"));
  });

  it("answers gRPC-Web (connect-web over fetch)", async () => {
    const s = await start();
    const health = createClient(Health, createGrpcWebTransport({ baseUrl: s.url }));
    expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
    await expect(health.check({ service: "nope.Service" })).rejects.toMatchObject({ code: Code.NotFound });
  });
});

describe("CORS", () => {
  const preflight = (url: string, origin: string) =>
    fetch(`${url}/grpc.health.v1.Health/Check`, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,connect-protocol-version",
      },
    });

  it("answers a preflight from an allowed origin", async () => {
    const s = await start();
    const res = await preflight(s.url, "http://localhost:5173");
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("connect-protocol-version");
    expect(res.headers.get("access-control-max-age")).toBe("7200");

    const call = await postJson(
      `${s.url}/grpc.health.v1.Health/Check`,
      { service: "" },
      { origin: "http://127.0.0.1:3000" },
    );
    expect(call.headers.get("access-control-allow-origin")).toBe("http://127.0.0.1:3000");
    expect(call.headers.get("access-control-expose-headers")?.toLowerCase()).toContain("grpc-status");
    await call.arrayBuffer();
  });

  it("gives other origins no CORS headers", async () => {
    const s = await start();
    for (const origin of ["http://evil.example", "http://localhost.evil.example:5173", "https://localhost:5173"]) {
      const res = await preflight(s.url, origin);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      await res.arrayBuffer();
    }
  });
});

describe("probes", () => {
  it("/healthz is ok, /readyz follows ready()", async () => {
    const s = await start();
    const healthz = await fetch(`${s.url}/healthz`);
    expect([healthz.status, await healthz.json()]).toEqual([200, { status: "ok" }]);
    expect((await fetch(`${s.url}/readyz`)).status).toBe(200);

    s.state.ready = async () => false;
    const notReady = await fetch(`${s.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ status: "not ready" });

    s.state.ready = () => Promise.reject(new Error("db down at 10.0.0.7"));
    const threw = await fetch(`${s.url}/readyz`);
    expect(threw.status).toBe(503);
    expect(JSON.stringify(await threw.json())).not.toContain("10.0.0.7");

    await waitFor(() => s.logs.some((l) => l["path"] === "/healthz"));
    expect(s.logs.find((l) => l["path"] === "/healthz")).toMatchObject({ level: "debug", status: 200 });
  });
});

describe("reflection", () => {
  it("lets buf curl list services and methods", async () => {
    const s = await start();
    const services = await run(BUF, [
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--list-services",
      s.url,
    ]);
    const names = services.stdout.trim().split("\n");
    expect(names).toEqual(
      expect.arrayContaining([
        "weft.v1.WorkflowService",
        "weft.v1.RunService",
        "weft.v1.WorkerService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
      ]),
    );
    const methods = await run(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", s.url]);
    expect(methods.stdout).toContain("weft.v1.WorkflowService/CreateWorkflow");
    expect(methods.stdout).toContain("weft.v1.RunService/WatchRun");
    expect(methods.stdout).toContain("weft.v1.WorkerService/Connect");
  });

  it("lets buf curl call a method it learned by reflection (v1 and v1alpha)", async () => {
    const s = await start();
    for (const reflect of ["grpc-v1", "grpc-v1alpha"]) {
      const out = await run(BUF, [
        "curl",
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "--reflect-protocol",
        reflect,
        "-d",
        '{"service":"weft.v1.RunService"}',
        `${s.url}/grpc.health.v1.Health/Check`,
      ]);
      expect(JSON.parse(out.stdout)).toEqual({ status: "SERVING" });
    }
    // A weft method: its schema (buf/validate, descriptor.proto, struct …) must resolve; the
    // method itself is not registered on this test server, hence UNIMPLEMENTED.
    const err = await run(BUF, [
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "-d",
      '{"id":"x"}',
      `${s.url}/weft.v1.WorkflowService/GetWorkflow`,
    ]).catch((e: { stderr: string }) => e);
    expect(err.stderr).toMatch(/unimplemented/i);
  });

  it("resolves symbols to files with their imports (v1alpha, connect-node client)", async () => {
    const s = await start();
    const client = createClient(reflectionV1alpha.ServerReflection, createGrpcTransport({ baseUrl: s.url }));
    const asks = [
      { case: "fileContainingSymbol" as const, value: "weft.v1.WorkflowSpec" },
      { case: "fileContainingSymbol" as const, value: "weft.v1.WorkflowService.GetWorkflow" },
      { case: "fileContainingSymbol" as const, value: "weft.v1.RUN_STATUS_RUNNING" },
      { case: "fileContainingSymbol" as const, value: "nope.Nothing" },
      { case: "fileByFilename" as const, value: "google/protobuf/struct.proto" },
      {
        case: "fileContainingExtension" as const,
        value: { containingType: "google.protobuf.FieldOptions", extensionNumber: 1159 },
      },
      { case: "allExtensionNumbersOfType" as const, value: "google.protobuf.FieldOptions" },
      { case: "listServices" as const, value: "" },
    ];
    async function* requests() {
      for (const messageRequest of asks) yield { host: "", messageRequest };
    }
    const answers: reflectionV1alpha.ServerReflectionResponse["messageResponse"][] = [];
    for await (const res of client.serverReflectionInfo(requests())) answers.push(res.messageResponse);
    expect(answers).toHaveLength(asks.length);

    const files = (i: number) => {
      const a = answers[i];
      if (a?.case !== "fileDescriptorResponse") throw new Error(`answer ${i} is ${a?.case}`);
      return a.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
    };
    const spec = files(0);
    expect(spec[0]).toBe("weft/v1/common.proto");
    expect(spec).toEqual(
      expect.arrayContaining([
        "buf/validate/validate.proto",
        "google/protobuf/descriptor.proto",
        "google/protobuf/struct.proto",
        "google/protobuf/duration.proto",
      ]),
    );
    expect(new Set(spec).size).toBe(spec.length);
    expect(files(1)[0]).toBe("weft/v1/workflow_service.proto");
    expect(files(2)[0]).toBe("weft/v1/common.proto");
    expect(answers[3]).toMatchObject({ case: "errorResponse", value: { errorCode: Code.NotFound } });
    expect(files(4)).toEqual(["google/protobuf/struct.proto"]);
    expect(files(5)[0]).toBe("buf/validate/validate.proto");
    expect(answers[6]).toMatchObject({
      case: "allExtensionNumbersResponse",
      value: { extensionNumber: expect.arrayContaining([1159]) },
    });
    expect(answers[7]?.case === "listServicesResponse" && answers[7].value.service.map((x) => x.name)).toContain(
      "grpc.health.v1.Health",
    );
  });

  it("serves v1 with an error response, not a broken stream, for unknown files", async () => {
    const s = await start();
    const client = createClient(reflectionV1.ServerReflection, createGrpcTransport({ baseUrl: s.url }));
    async function* requests() {
      yield { host: "h", messageRequest: { case: "fileByFilename" as const, value: "nope.proto" } };
      yield {
        host: "h",
        messageRequest: { case: "fileByFilename" as const, value: "grpc/reflection/v1/reflection.proto" },
      };
    }
    const answers: reflectionV1.ServerReflectionResponse[] = [];
    for await (const res of client.serverReflectionInfo(requests())) answers.push(res);
    expect(answers[0]?.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: Code.NotFound } });
    expect(answers[0]?.originalRequest?.messageRequest.value).toBe("nope.proto");
    expect(answers[1]?.messageResponse.case).toBe("fileDescriptorResponse");
  });
});

describe("limits", () => {
  const big = "x".repeat(MAX_BYTES + 1);

  it("refuses an oversized Connect JSON body with resource_exhausted (content-length and chunked)", async () => {
    const s = await start();
    const res = await postJson(`${s.url}/grpc.health.v1.Health/Check`, { service: big });
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ code: "resource_exhausted" });

    const chunked = await fetch(`${s.url}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new Blob([JSON.stringify({ service: big })]).stream(),
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(429);
    expect(await chunked.json()).toMatchObject({ code: "resource_exhausted" });

    // The connection is still good for the next call.
    expect((await postJson(`${s.url}/grpc.health.v1.Health/Check`, { service: "" })).status).toBe(200);
  });

  it("refuses an oversized message with RESOURCE_EXHAUSTED over gRPC and gRPC-Web", async () => {
    const s = await start();
    for (const transport of [
      createGrpcTransport({ baseUrl: s.url }),
      createNodeGrpcWebTransport({ baseUrl: s.url, httpVersion: "1.1" }),
    ]) {
      const health = createClient(Health, transport);
      await expect(health.check({ service: big })).rejects.toMatchObject({ code: Code.ResourceExhausted });
      expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
    }
  });
});

describe("first bytes arriving in pieces", () => {
  it("recognises an HTTP/2 preface split across writes", async () => {
    const s = await start();
    const socket = net.connect(s.port, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
    const got = new Promise<Buffer>((resolve) => socket.once("data", resolve));
    for (const piece of [preface.subarray(0, 1), preface.subarray(1, 9), preface.subarray(9)]) {
      socket.write(piece);
      await sleep(20);
    }
    socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])); // empty SETTINGS
    const first = await got;
    expect(first[3]).toBe(4); // the server's SETTINGS frame
    socket.destroy();
  });

  it("recognises HTTP/1.1 whose first byte could have begun the preface", async () => {
    const s = await start();
    const socket = net.connect(s.port, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    const body = JSON.stringify({ service: "" });
    let text = "";
    socket.on("data", (d: Buffer) => (text += d.toString()));
    socket.write("P");
    await sleep(30);
    socket.write(
      `OST /grpc.health.v1.Health/Check HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
    );
    await new Promise((r) => socket.once("close", r));
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text).toContain('{"status":"SERVING"}');
  });
});

describe("close", () => {
  it("resolves within a second with idle HTTP/2 and HTTP/1.1 clients still connected", async () => {
    const s = await start();
    const transport = createGrpcTransport({ baseUrl: s.url });
    expect((await createClient(Health, transport).check({})).status).toBe(Status.SERVING);
    const raw = net.connect(s.port, "127.0.0.1"); // a client that never speaks
    await new Promise((r) => raw.once("connect", r));
    const h1 = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve) => {
      http.get({ host: "127.0.0.1", port: s.port, path: "/healthz", agent: h1 }, (res) =>
        res.resume().on("end", resolve),
      );
    });
    expect(s.server.connections()).toBe(3);
    const t0 = Date.now();
    await s.server.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(s.server.connections()).toBe(0);
    expect(s.server.address()).toBeNull();
    h1.destroy();
    raw.destroy();
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
  });

  it("lets in-flight unary calls finish (HTTP/2 and HTTP/1.1), then closes their connections", async () => {
    const s = await start();
    let open!: () => void;
    s.state.gate = new Promise((r) => (open = r));
    const health = createClient(Health, createGrpcTransport({ baseUrl: s.url }));
    const call = health.check({});
    const fetched = postJson(`${s.url}/grpc.health.v1.Health/Check`, { service: "" });
    await waitFor(() => s.seenIds.length === 2);
    const t0 = Date.now();
    const closed = s.server.close({ graceMs: 5000 });
    await sleep(100);
    open();
    expect((await call).status).toBe(Status.SERVING);
    const res = await fetched;
    expect(res.headers.get("connection")).toBe("close");
    expect(await res.json()).toEqual({ status: "SERVING" });
    await closed;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(s.server.connections()).toBe(0);
  });

  it("ends a long-lived stream at the deadline", async () => {
    const s = await start();
    s.expectForcedClose = true;
    const health = createClient(Health, createGrpcTransport({ baseUrl: s.url }));
    const stream = health.watch({ service: "" })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.status).toBe(Status.SERVING);
    const t0 = Date.now();
    const ended = stream.next().then(
      (r) => r,
      (e: unknown) => ConnectError.from(e),
    );
    await s.server.close({ graceMs: 200 });
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(await ended).toMatchObject({ code: Code.Unavailable });
    expect(s.server.connections()).toBe(0);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await sleep(10);
  }
}
