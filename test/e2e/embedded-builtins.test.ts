/**
 * Single-node mode (embedded PGlite, in-process leases, no DATABASE_URL or
 * REDIS_URL): built-ins, an event trigger, a schedule and a run webhook all
 * work the same, since they share the store and dispatcher code paths.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunStatus } from "../../gen/weft/v1/common_pb.js";
import { jsonToValue, valueToJson } from "../../src/api/convert.js";
import { verifySignature } from "../../src/builtins/signature.js";
import { grpcClients, type Clients } from "../support/clients.js";
import { eventually } from "../support/execution.js";
import { startHttpStub, type HttpStub } from "../support/http-stub.js";
import { startServerProcess, tempDataDir, type ServerProcess } from "../support/server-process.js";

describe("built-ins and triggers in embedded mode", () => {
  let server: ServerProcess;
  let stub: HttpStub;
  let c: Clients;

  beforeAll(async () => {
    stub = await startHttpStub();
    server = await startServerProcess({
      env: {
        DATABASE_URL: undefined,
        REDIS_URL: undefined,
        WEFT_DATA_DIR: tempDataDir(),
        WEFT_WEBHOOK_SECRET: "embedded",
        WEFT_SWEEP_INTERVAL_MS: "100",
        WEFT_SHUTDOWN_GRACE_MS: "1000",
      },
    });
    c = grpcClients(server.url);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await stub?.close();
  }, 60_000);

  it("an event starts http.request → delay → transform, and on_complete is delivered signed", async () => {
    stub.on("/price", (_req, res) => res.json(200, { price: 7 }));
    stub.on("/done", (_req, res) => res.text(200, "ok"));
    const yaml = [
      "id: embedded",
      "on: { events: [go] }",
      `webhooks: { on_complete: ["${stub.url}/done"] }`,
      "steps:",
      `  - { id: get, action: http.request, input: { url: "${stub.url}/price" } }`,
      "  - { id: wait, action: delay, depends_on: [get], input: { duration: 0.5s } }",
      '  - { id: calc, action: transform, depends_on: [wait], input: { expression: "steps.get.body.price * input.qty" } }',
      "",
    ].join("\n");
    await c.workflows.createWorkflow({ source: { case: "yaml", value: yaml } });
    const { runIds } = await c.workflows.publishEvent({ name: "go", payload: jsonToValue({ qty: 3 }) });
    expect(runIds).toHaveLength(1);
    const run = await eventually(
      async () => {
        const { run } = await c.runs.getRun({ runId: runIds[0]! });
        return run?.status === RunStatus.SUCCEEDED || run?.status === RunStatus.FAILED ? run : undefined;
      },
      15_000,
      "the run",
    );
    expect(run.status).toBe(RunStatus.SUCCEEDED);
    expect(valueToJson(run.steps.find((s) => s.stepId === "calc")!.output)).toBe(21);
    const hook = await eventually(() => stub.to("/done")[0], 10_000, "on_complete");
    expect(verifySignature("embedded", hook.body, hook.headers["x-weft-signature"] as string, new Date())).toBe(true);
  }, 30_000);

  it("a schedule fires every second", async () => {
    await c.workflows.createWorkflow({
      source: {
        case: "yaml",
        value: `id: embedded-tick\non: { schedules: ["* * * * * *"] }\nsteps:\n  - { id: s, action: transform, input: { expression: "1" } }\n`,
      },
    });
    const runs = await eventually(
      async () => {
        const { runs } = await c.runs.listRuns({ workflowId: "embedded-tick" });
        return runs.length >= 2 ? runs : undefined;
      },
      10_000,
      "two scheduled runs",
    );
    await c.workflows.deleteWorkflow({ id: "embedded-tick" });
    expect(new Set(runs.map((r) => (valueToJson(r.input) as { scheduled_at: string }).scheduled_at)).size).toBe(
      runs.length,
    );
  }, 30_000);
});
