/**
 * The outbound policy over the wire: real server processes with API keys on
 * (WEFT_ADMIN_KEY), on PGlite, calling local HTTP stubs that stand in for the
 * server's own network. With keys on, http.request to 127.0.0.1 or to
 * `localhost` fails with EGRESS_DENIED (never retried, nothing sent), and a
 * run webhook to it is given up at once; `--egress-allow 127.0.0.1` lets it
 * through, but a redirect from there to another loopback address (127.0.0.2,
 * a second stub) is refused at that hop.
 */
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunEventType, RunStatus, StepStatus, type Run } from "../../gen/weft/v1/common_pb.js";
import { RunService } from "../../gen/weft/v1/run_service_pb.js";
import { WorkflowService } from "../../gen/weft/v1/workflow_service_pb.js";
import type { Clients } from "../support/clients.js";
import { eventually } from "../support/execution.js";
import { startHttpStub, type HttpStub } from "../support/http-stub.js";
import { startServerProcess, tempDataDir, type ServerProcess } from "../support/server-process.js";

const ADMIN_KEY = "egress-e2e-admin-key-0123456789abcdef0123";

function adminClients(url: string): Clients {
  const bearer: Interceptor = (next) => async (req) => {
    req.header.set("authorization", `Bearer ${ADMIN_KEY}`);
    return next(req);
  };
  const transport = createGrpcTransport({ baseUrl: url, interceptors: [bearer] });
  return { workflows: createClient(WorkflowService, transport), runs: createClient(RunService, transport) };
}

/** A server with keys on, on its own PGlite folder; `args` add egress flags. */
async function keyedServer(args: string[] = []): Promise<{ server: ServerProcess; c: Clients }> {
  const server = await startServerProcess({
    env: { WEFT_ADMIN_KEY: ADMIN_KEY, DATABASE_URL: undefined, REDIS_URL: undefined, WEFT_DATA_DIR: tempDataDir() },
    args,
  });
  return { server, c: adminClients(server.url) };
}

async function runOnce(c: Clients, id: string, yaml: string): Promise<Run> {
  await c.workflows.createWorkflow({ source: { case: "yaml", value: `id: ${id}\n${yaml}` } });
  const { runId } = await c.workflows.triggerWorkflow({ workflowId: id });
  return eventually(
    async () => {
      const { run } = await c.runs.getRun({ runId });
      return run && run.status !== RunStatus.PENDING && run.status !== RunStatus.RUNNING ? run : undefined;
    },
    20_000,
    `run ${runId} of ${id} to finish`,
  );
}

/** One http.request step to `url`, with attempts to spare: a denial must not use them. */
const callStep = (url: string) =>
  `steps:\n  - id: call\n    action: http.request\n    input: { url: "${url}" }\n    retry: { max_attempts: 3, initial_interval: 100ms }\n`;

describe("outbound requests with API keys on", () => {
  let stub: HttpStub;
  let other: HttpStub;
  let closed: Awaited<ReturnType<typeof keyedServer>>;
  let allowed: Awaited<ReturnType<typeof keyedServer>>;

  beforeAll(async () => {
    stub = await startHttpStub();
    other = await startHttpStub({ host: "127.0.0.2" });
    stub.on("/ok", (_req, res) => res.json(200, { ok: true }));
    stub.on("/hook", (_req, res) => res.text(200, "ok"));
    other.on("/inside", (_req, res) => res.json(200, { reached: "127.0.0.2" }));
    stub.on("/away", (_req, res) => void res.raw.writeHead(302, { location: `${other.url}/inside` }).end());
    stub.on("/home", (_req, res) => void res.raw.writeHead(307, { location: "/ok" }).end());
    [closed, allowed] = await Promise.all([keyedServer(), keyedServer(["--egress-allow", "127.0.0.1"])]);
  }, 90_000);
  afterAll(async () => {
    await closed?.server.stop();
    await allowed?.server.stop();
    await stub?.close();
    await other?.close();
  }, 60_000);

  it("http.request to 127.0.0.1 fails with EGRESS_DENIED naming the address and the allow to add, without retry", async () => {
    const run = await runOnce(closed.c, "to-loopback", callStep(`${stub.url}/ok`));
    expect(run.status).toBe(RunStatus.FAILED);
    const step = run.steps[0]!;
    expect(step.status).toBe(StepStatus.FAILED);
    expect(step.error?.type).toBe("EGRESS_DENIED");
    expect(step.error?.retryable).toBe(false);
    expect(step.error?.message).toContain(
      "127.0.0.1 is in the loopback range 127.0.0.0/8, denied while auth is on; allow it with --egress-allow 127.0.0.0/8",
    );
    expect(step.attempts).toBe(1);
    expect(stub.to("/ok")).toHaveLength(0);
  });

  it("a hostname that resolves to a denied address (localhost) is denied too", async () => {
    const run = await runOnce(closed.c, "to-localhost", callStep(`http://localhost:${stub.port}/ok`));
    expect(run.steps[0]!.error?.type).toBe("EGRESS_DENIED");
    expect(run.steps[0]!.error?.message).toMatch(
      /localhost \(resolved to (127\.0\.0\.1|::1)\) is in the loopback range/,
    );
    expect(stub.to("/ok")).toHaveLength(0);
  });

  it("a run webhook to a denied address is given up at once, the reason in the run's history", async () => {
    const yaml = `webhooks:\n  on_complete: ["${stub.url}/hook"]\nsteps:\n  - { id: a, action: transform, input: { expression: "1 + 1" } }\n`;
    const run = await runOnce(closed.c, "hooked", yaml);
    expect(run.status).toBe(RunStatus.SUCCEEDED);
    const hooks = async () => {
      const { events } = await closed.c.runs.getRunHistory({ runId: run.id });
      return events.filter((e) => e.type === RunEventType.WEBHOOK);
    };
    await eventually(async () => ((await hooks()).length > 0 ? true : undefined), 10_000, "the webhook attempt");
    // Longer than the first retry delay (--webhook-retry-ms, 1 s by default): a retry would show by now.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const events = await hooks();
    expect(events).toHaveLength(1);
    expect(events[0]!.message).toContain("EGRESS_DENIED: 127.0.0.1 is in the loopback range");
    expect(events[0]!.message).toContain("not retried");
    expect(stub.to("/hook")).toHaveLength(0);
  });

  it("--egress-allow 127.0.0.1 lets the call through, redirects included", async () => {
    const run = await runOnce(allowed.c, "allowed", callStep(`${stub.url}/home`));
    expect(run.status).toBe(RunStatus.SUCCEEDED);
    expect(stub.to("/ok").length).toBeGreaterThan(0);
  });

  it("a redirect from an allowed host to a denied one is refused at that hop", async () => {
    const run = await runOnce(allowed.c, "redirected", callStep(`${stub.url}/away`));
    expect(run.status).toBe(RunStatus.FAILED);
    expect(run.steps[0]!.error?.type).toBe("EGRESS_DENIED");
    expect(run.steps[0]!.error?.message).toContain("127.0.0.2 is in the loopback range 127.0.0.0/8");
    expect(stub.to("/away")).toHaveLength(1);
    expect(other.to("/inside")).toHaveLength(0);
  });
});
