/**
 * `createWeftClient` and `triggerAndWait` against fake Workflow/Run services
 * on real servers: HTTP/2 (h2c) for gRPC, HTTP/1.1 for the Connect protocol.
 */
import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { create, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { RunEventType, RunSchema, RunStatus, type Run } from "../../gen/weft/v1/common_pb.js";
import { RunService } from "../../gen/weft/v1/run_service_pb.js";
import { WorkflowService } from "../../gen/weft/v1/workflow_service_pb.js";
import {
  RunTimeoutError,
  createWeftClient,
  jsonToValue,
  triggerAndWait,
  valueToJson,
  type WeftClient,
} from "../../sdk/index.js";

const RUN_ID = "01900000-0000-7000-8000-0000000000aa";

interface FakeApi {
  url: string;
  triggered: { workflowId: string; input: JsonValue; idempotencyKey: string }[];
  getRuns: number;
  close(): Promise<void>;
}

const closers: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function run(status: RunStatus, output?: JsonValue): Run {
  return create(RunSchema, {
    id: RUN_ID,
    workflowId: "wf",
    status,
    output: output === undefined ? undefined : jsonToValue(output),
  });
}

/** `statuses`: what GetRun answers, call by call (the last repeats). */
async function startApi(opts: {
  watch?: "stream" | "unimplemented";
  statuses: RunStatus[];
  header?: string[];
  http1?: boolean;
}): Promise<FakeApi> {
  const api: FakeApi = { url: "", triggered: [], getRuns: 0, close: async () => {} };
  const statusAt = (i: number): RunStatus => opts.statuses[Math.min(i, opts.statuses.length - 1)] as RunStatus;
  const runService: Partial<ServiceImpl<typeof RunService>> = {
    getRun: () => ({ run: run(statusAt(api.getRuns++), "polled") }),
  };
  if (opts.watch === "stream") {
    runService.watchRun = async function* () {
      yield { event: { sequence: 1n, type: RunEventType.SNAPSHOT, run: run(RunStatus.RUNNING) } };
      await new Promise((r) => setTimeout(r, 20));
      yield { event: { sequence: 2n, type: RunEventType.STEP_STATUS, stepId: "a" } };
      yield {
        event: {
          sequence: 3n,
          type: RunEventType.RUN_STATUS,
          runStatus: RunStatus.SUCCEEDED,
          run: run(RunStatus.SUCCEEDED, { done: true }),
        },
      };
    };
  }
  const sockets = new Set<{ destroy(): void }>();
  const handler = connectNodeAdapter({
    routes(router) {
      router.service(WorkflowService, {
        triggerWorkflow(req, ctx) {
          opts.header?.push(ctx.requestHeader.get("authorization") ?? "");
          api.triggered.push({
            workflowId: req.workflowId,
            input: valueToJson(req.input),
            idempotencyKey: req.idempotencyKey,
          });
          return { runId: RUN_ID, created: true };
        },
      });
      router.service(RunService, runService);
    },
  });
  const server = opts.http1 ? http.createServer(handler) : http2.createServer(handler);
  server.on(opts.http1 ? "connection" : "session", (s: { destroy(): void; on(e: "close", f: () => void): void }) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  closers.push(api.close);
  return api;
}

function client(url: string, protocol: "grpc" | "connect" = "grpc", headers?: Record<string, string>): WeftClient {
  const c = createWeftClient(url, { protocol, headers });
  closers.push(c.close);
  return c;
}

describe("triggerAndWait", () => {
  it("triggers with plain JSON input and follows WatchRun to the final run (gRPC)", async () => {
    const seen: string[] = [];
    const api = await startApi({ watch: "stream", statuses: [RunStatus.RUNNING], header: seen });
    const weft = client(api.url, "grpc", { authorization: "Bearer t" });
    const done = await triggerAndWait(weft, "wf", { amount: 3, tags: ["a"] }, { idempotencyKey: "k-1" });
    expect(done.status).toBe(RunStatus.SUCCEEDED);
    expect(valueToJson(done.output)).toEqual({ done: true });
    expect(api.triggered).toEqual([{ workflowId: "wf", input: { amount: 3, tags: ["a"] }, idempotencyKey: "k-1" }]);
    expect(api.getRuns).toBe(0);
    expect(seen).toEqual(["Bearer t"]);
  });

  it("polls GetRun when WatchRun is UNIMPLEMENTED (Connect protocol)", async () => {
    const api = await startApi({
      watch: "unimplemented",
      statuses: [RunStatus.PENDING, RunStatus.RUNNING, RunStatus.FAILED],
      http1: true,
    });
    const weft = client(api.url, "connect");
    const done = await triggerAndWait(weft, "wf", undefined, { pollMs: 10 });
    expect(done.status).toBe(RunStatus.FAILED);
    expect(api.getRuns).toBe(3);
    expect(api.triggered[0]?.input).toBeNull();
  });

  it("rejects with RunTimeoutError naming the run and its last status", async () => {
    const api = await startApi({ watch: "unimplemented", statuses: [RunStatus.RUNNING] });
    const weft = client(api.url);
    const err = await triggerAndWait(weft, "wf", {}, { pollMs: 10, timeoutMs: 150 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunTimeoutError);
    expect(err).toMatchObject({ runId: RUN_ID, workflowId: "wf", lastStatus: RunStatus.RUNNING, timeoutMs: 150 });
    expect((err as Error).message).toMatch(/did not finish within 150 ms \(last status: RUNNING\)/);
  });

  it("passes other errors through", async () => {
    const api = await startApi({ watch: "unimplemented", statuses: [RunStatus.RUNNING] });
    const weft = client(api.url);
    await api.close();
    const err = await triggerAndWait(weft, "wf", {}, { timeoutMs: 2_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unavailable);
  });
});
