/**
 * Errors a newcomer meets before any handler runs, through a real server
 * process: a request above the size limit names `--max-request-bytes` on
 * every protocol (connect-node's own wording names its `readMaxBytes`).
 */
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunService } from "../../gen/weft/v1/run_service_pb.js";
import { WorkflowService } from "../../gen/weft/v1/workflow_service_pb.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";

const LIMIT = 65536;

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  return p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => ConnectError.from(e),
  );
}

describe("errors before the handler", () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess({
      env: { DATABASE_URL: undefined, REDIS_URL: undefined, WEFT_MAX_REQUEST_BYTES: String(LIMIT) },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const transports = (): Record<string, Transport> => ({
    grpc: createGrpcTransport({ baseUrl: server.url }),
    "grpc-web": createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    connect: createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    "connect-json": createConnectTransport({ baseUrl: server.url, httpVersion: "1.1", useBinaryFormat: false }),
  });
  const sizeMessage = expect.stringMatching(new RegExp(`--max-request-bytes.*${LIMIT}|${LIMIT}.*--max-request-bytes`));

  it("a request above the limit names --max-request-bytes and the limit, on every protocol, unary and streaming", async () => {
    const big = "x".repeat(LIMIT + 10);
    for (const [name, transport] of Object.entries(transports())) {
      const unary = await failure(
        createClient(WorkflowService, transport).triggerWorkflow({ workflowId: "w", idempotencyKey: big }),
      );
      expect([name, unary.code, unary.rawMessage]).toEqual([name, Code.ResourceExhausted, sizeMessage]);
      expect(unary.rawMessage).not.toContain("readMaxBytes");
      const stream = await failure(
        (async () => {
          for await (const _ of createClient(RunService, transport).watchRun({ runId: big })) void _;
        })(),
      );
      expect([name, stream.code, stream.rawMessage]).toEqual([name, Code.ResourceExhausted, sizeMessage]);
    }
  });

  it("Connect JSON from plain fetch, with a content length and chunked", async () => {
    const body = JSON.stringify({ workflowId: "w", idempotencyKey: "x".repeat(LIMIT + 10) });
    for (const init of [{ body }, { body: new Blob([body]).stream(), duplex: "half" }] as RequestInit[]) {
      const res = await fetch(`${server.url}/weft.v1.WorkflowService/TriggerWorkflow`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        ...init,
      });
      expect(res.status).toBe(429);
      expect(await res.json()).toEqual({ code: "resource_exhausted", message: sizeMessage });
    }
  });

  it("an unknown JSON field is named with the field it likely meant, not ignored", async () => {
    const res = await fetch(`${server.url}/weft.v1.WorkflowService/TriggerWorkflow`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ workflowID: "hello" }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; message: string; details?: { type: string }[] };
    expect(body.code).toBe("invalid_argument");
    expect(body.message).toMatch(/workflowID.*unknown field.*workflowId.*workflow_id/);
    expect(body.message).not.toContain("at least 1 characters");
    expect(body.details?.map((d) => d.type)).toEqual(["google.rpc.BadRequest"]);
    // One in a nested message is named with the message it is in.
    const nested = await fetch(`${server.url}/weft.v1.WorkflowService/CreateWorkflow`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ workflow: { id: "w", steps: [{ id: "a", action: "x", dependsOM: [] }] } }),
    });
    expect(nested.status).toBe(400);
    expect(((await nested.json()) as { message: string }).message).toMatch(/dependsOM.*unknown field.*dependsOn/);
  });

  it("a bare GET on an RPC path says, in one line, that it takes POST, with a curl example", async () => {
    const url = (rpc: string) => `${server.url}/weft.v1.WorkflowService/${rpc}`;
    // POST only: 405 with Allow, as connect answers it, now with the way to call it.
    const trigger = await fetch(url("TriggerWorkflow"));
    expect(trigger.status).toBe(405);
    expect(trigger.headers.get("allow")).toBe("POST");
    expect(trigger.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await trigger.text();
    expect(text.trimEnd().split("\n")).toHaveLength(1);
    expect(text).toContain(`curl -s --json '{}' ${url("TriggerWorkflow")}`);
    // Also reachable by Connect GET: 415 as connect answers it, and the GET form named.
    const list = await fetch(url("ListWorkflows"));
    expect(list.status).toBe(415);
    const listText = await list.text();
    expect(listText).toContain(`curl -s --json '{}' ${url("ListWorkflows")}`);
    expect(listText).toContain("encoding=json&message=");
    // A real Connect GET still works, and so do the probes and preflights.
    const get = await fetch(`${url("ListWorkflows")}?connect=v1&encoding=json&message=${encodeURIComponent("{}")}`);
    expect(get.status).toBe(200);
    expect(await get.json()).toMatchObject({});
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const preflight = await fetch(url("ListWorkflows"), {
      method: "OPTIONS",
      headers: { origin: "http://localhost:5173", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(204);
    // Unknown paths stay 404.
    expect((await fetch(`${server.url}/weft.v1.WorkflowService/Nope`)).status).toBe(404);
  });
});
