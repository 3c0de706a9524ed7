/**
 * One real server process, called over every protocol it speaks on its one
 * port: gRPC (connect-node and grpc-js), Connect JSON over HTTP/1.1 (plain
 * fetch), gRPC-Web, plus CORS, health endpoints, reflection and size limits.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { create, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerReflection, ServerReflectionRequestSchema } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  ServerReflection as ServerReflectionAlpha,
  ServerReflectionRequestSchema as ServerReflectionRequestSchemaAlpha,
} from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { file_weft_v1_common } from "../../gen/weft/v1/common_pb.js";
import { file_weft_v1_run_service } from "../../gen/weft/v1/run_service_pb.js";
import { file_weft_v1_worker_service } from "../../gen/weft/v1/worker_service_pb.js";
import { file_weft_v1_workflow_service } from "../../gen/weft/v1/workflow_service_pb.js";
import { connectClients, grpcClients, grpcWebClients } from "../support/clients.js";
import { weftDescriptorSet } from "../support/descriptor-set.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";

const run = promisify(execFile);

const SPEC = {
  id: "proto-hello",
  steps: [
    { id: "greet", action: "greet" },
    { id: "shout", action: "shout", dependsOn: ["greet"] },
  ],
};

describe("one port, every protocol", () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess({ env: { DATABASE_URL: undefined, REDIS_URL: undefined } });
    await grpcClients(server.url).workflows.createWorkflow({ source: { case: "workflow", value: SPEC } });
  });
  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
  });

  it("serves gRPC over cleartext HTTP/2 (connect-node)", async () => {
    const { workflows, runs } = grpcClients(server.url);
    const got = await workflows.getWorkflow({ id: "proto-hello" });
    expect(got.workflow?.version).toBe(1);
    expect(got.workflow?.spec?.steps.map((s) => s.id)).toEqual(["greet", "shout"]);
    const { runId } = await workflows.triggerWorkflow({ workflowId: "proto-hello" });
    const { run: r } = await runs.getRun({ runId });
    expect(r?.workflowId).toBe("proto-hello");
    expect(r?.steps.map((s) => s.stepId).sort()).toEqual(["greet", "shout"]);
  });

  it("serves a foreign gRPC client (@grpc/grpc-js)", async () => {
    const def = protoLoader.loadFileDescriptorSetFromBuffer(Buffer.from(weftDescriptorSet()), {
      keepCase: true,
      defaults: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      weft: { v1: { WorkflowService: grpc.ServiceClientConstructor } };
    };
    const client = new pkg.weft.v1.WorkflowService(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    try {
      const call = <T>(method: string, req: object) =>
        new Promise<T>((resolve, reject) =>
          (client[method] as (r: object, cb: (e: grpc.ServiceError | null, v: T) => void) => void).call(
            client,
            req,
            (e, v) => (e ? reject(e) : resolve(v)),
          ),
        );
      const got = await call<{ workflow: { id: string; version: number } }>("GetWorkflow", { id: "proto-hello" });
      expect(got.workflow.id).toBe("proto-hello");
      expect(got.workflow.version).toBe(1);
      const triggered = await call<{ run_id: string }>("TriggerWorkflow", {
        workflow_id: "proto-hello",
        // protobufjs sees the Struct's map as its repeated entry messages when loaded from a descriptor set.
        input: { struct_value: { fields: [{ key: "n", value: { number_value: 7 } }] } },
      });
      expect(triggered.run_id).toMatch(/^[0-9a-f-]{36}$/);
      const err = await call("GetWorkflow", { id: "9-not-an-id" }).catch((e: grpc.ServiceError) => e);
      expect((err as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
      const missing = await call("GetWorkflow", { id: "nope" }).catch((e: grpc.ServiceError) => e);
      expect((missing as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
    } finally {
      client.close();
    }
  });

  it("serves Connect JSON over HTTP/1.1 to plain fetch", async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${server.url}/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const res = await post("weft.v1.WorkflowService/TriggerWorkflow", {
      workflowId: "proto-hello",
      input: { city: "Lyon" },
    });
    expect(res.status).toBe(200);
    const { runId } = (await res.json()) as { runId: string };
    const got = (await (await post("weft.v1.RunService/GetRun", { runId })).json()) as {
      run: { input: unknown; status: string };
    };
    expect(got.run.input).toEqual({ city: "Lyon" });
    expect(got.run.status).toBe("RUN_STATUS_PENDING");
    const bad = await post("weft.v1.RunService/GetRun", { runId: "x" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe("invalid_argument");
  });

  it("serves Connect binary and gRPC-Web over HTTP/1.1", async () => {
    for (const clients of [connectClients(server.url), grpcWebClients(server.url)]) {
      const { runId } = await clients.workflows.triggerWorkflow({ workflowId: "proto-hello", idempotencyKey: "web-1" });
      const { run: r } = await clients.runs.getRun({ runId });
      expect(r?.id).toBe(runId);
    }
  });

  it("answers CORS preflights for allowed origins only", async () => {
    const preflight = (origin: string) =>
      fetch(`${server.url}/weft.v1.WorkflowService/ListWorkflows`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type,connect-protocol-version",
        },
      });
    const ok = await preflight("http://localhost:5173");
    expect(ok.status).toBeLessThan(300);
    expect(ok.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(ok.headers.get("access-control-allow-methods")).toContain("POST");
    const evil = await preflight("http://evil.example");
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("answers /healthz and /readyz", async () => {
    const h = await fetch(`${server.url}/healthz`);
    expect(h.status).toBe(200);
    const r = await fetch(`${server.url}/readyz`);
    expect(r.status).toBe(200);
  });

  it("refuses requests over the size limit with RESOURCE_EXHAUSTED", async () => {
    const big = "x".repeat(5 * 1024 * 1024);
    const err = await grpcClients(server.url)
      .workflows.triggerWorkflow({
        workflowId: "proto-hello",
        idempotencyKey: "big",
        input: { kind: { case: "stringValue", value: big } },
      })
      .catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
    const res = await fetch(`${server.url}/weft.v1.WorkflowService/TriggerWorkflow`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ workflowId: "proto-hello", input: big }),
    });
    expect(((await res.json()) as { code: string }).code).toBe("resource_exhausted");
  });

  it("lists services through reflection, without proto files (buf curl)", async () => {
    const { stdout } = await run("npx", [
      "buf",
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--list-methods",
      server.url,
    ]);
    for (const m of [
      "weft.v1.WorkflowService/CreateWorkflow",
      "weft.v1.WorkflowService/TriggerWorkflow",
      "weft.v1.RunService/WatchRun",
      "weft.v1.WorkerService/Connect",
      "grpc.health.v1.Health/Check",
    ]) {
      expect(stdout).toContain(m);
    }
    const { stdout: got } = await run("npx", [
      "buf",
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "-d",
      '{"id":"proto-hello"}',
      `${server.url}/weft.v1.WorkflowService/GetWorkflow`,
    ]);
    expect(JSON.parse(got).workflow.id).toBe("proto-hello");
  });

  it("resolves every weft message through reflection (v1 and v1alpha)", async () => {
    const transport = createGrpcTransport({ baseUrl: server.url });
    const names = [
      file_weft_v1_common,
      file_weft_v1_workflow_service,
      file_weft_v1_run_service,
      file_weft_v1_worker_service,
    ].flatMap((f) => f.messages.map((m) => m.typeName));
    expect(names.length).toBeGreaterThan(40);
    const versions = [
      { service: ServerReflection, request: ServerReflectionRequestSchema },
      { service: ServerReflectionAlpha, request: ServerReflectionRequestSchemaAlpha },
    ] as const;
    for (const { service, request } of versions) {
      const client = createClient(service as typeof ServerReflection, transport);
      async function* requests() {
        for (const symbol of names) {
          yield create(request as typeof ServerReflectionRequestSchema, {
            messageRequest: { case: "fileContainingSymbol", value: symbol },
          });
        }
      }
      let i = 0;
      for await (const res of client.serverReflectionInfo(requests())) {
        const symbol = names[i++]!;
        expect(res.messageResponse.case, symbol).toBe("fileDescriptorResponse");
        if (res.messageResponse.case !== "fileDescriptorResponse") continue;
        const files = res.messageResponse.value.fileDescriptorProto.map((b) =>
          fromBinary(FileDescriptorProtoSchema, b),
        );
        const short = symbol.replace(/^weft\.v1\./, "").split(".")[0]!;
        expect(
          files.some((f) => f.package === "weft.v1" && f.messageType.some((m) => m.name === short)),
          symbol,
        ).toBe(true);
      }
      expect(i).toBe(names.length);
    }
  });
});
