/**
 * Run webhooks through a real server process on Postgres and Redis, with a
 * local receiver: signed deliveries for on_complete, on_failure and on_step;
 * while the receiver is down the run still finishes, deliveries are retried
 * (each attempt in the run's history), also across a server restart, and all
 * arrive once it is up.
 */
import { toJson } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunEventType, RunStatus, WorkflowSchema } from "../../gen/weft/v1/common_pb.js";
import { verifySignature } from "../../src/builtins/signature.js";
import { eventually } from "../support/execution.js";
import { startHttpStub, type HttpStub } from "../support/http-stub.js";
import { stackAvailable, startStack, type Stack } from "../support/stack.js";

const available = await stackAvailable();
const SECRET = "per-workflow-secret";

describe.skipIf(!available)("run webhooks", () => {
  let stack: Stack;
  let stub: HttpStub;

  beforeAll(async () => {
    stub = await startHttpStub();
    stack = await startStack({ env: { WEFT_WEBHOOK_RETRY_MS: "200", WEFT_WEBHOOK_SECRET: "server-default" } });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await stub?.close();
  }, 60_000);

  it("a receiver that is down delays deliveries, never the run; all arrive signed once it is up", async () => {
    stub.on("/done", (_req, res) => res.text(200, "ok"));
    stub.on("/failed", (_req, res) => res.text(200, "ok"));
    stub.on("/step", (_req, res) => res.text(200, "ok"));
    await stub.down();
    await stack.createYaml(
      [
        "id: hooked",
        "webhooks:",
        `  on_complete: ["${stub.url}/done"]`,
        `  on_failure: ["${stub.url}/failed"]`,
        `  on_step: ["${stub.url}/step"]`,
        `  secret: ${SECRET}`,
        "steps:",
        '  - { id: a, action: transform, input: { expression: "input.n * 2" } }',
        '  - { id: b, action: transform, depends_on: [a], input: { expression: "steps.a + 1" } }',
        "",
      ].join("\n"),
    );
    const input = {
      kind: {
        case: "structValue" as const,
        value: { fields: { n: { kind: { case: "numberValue" as const, value: 20 } } } },
      },
    };
    const { runId } = await stack.c.workflows.triggerWorkflow({ workflowId: "hooked", input });
    const run = await stack.waitRun(runId, { timeoutMs: 10_000 });
    expect(run.status).toBe(RunStatus.SUCCEEDED);

    // Retries while the receiver is down, each in the history.
    await eventually(
      async () => {
        const { events } = await stack.c.runs.getRunHistory({ runId });
        const failures = events.filter((e) => e.type === RunEventType.WEBHOOK && e.message.includes("failed"));
        return failures.length >= 6 ? failures : undefined;
      },
      10_000,
      "failed webhook attempts in the history",
    );
    // Durable across a restart of the server.
    await stack.restart();
    await stub.up();
    await eventually(
      () => (stub.to("/done").length >= 1 && stub.to("/step").length >= 2 ? true : undefined),
      20_000,
      "deliveries",
    );

    const [done] = stub.to("/done");
    expect(verifySignature(SECRET, done!.body, done!.headers["x-weft-signature"] as string, new Date())).toBe(true);
    expect(verifySignature("server-default", done!.body, done!.headers["x-weft-signature"] as string, new Date())).toBe(
      false,
    );
    const body = JSON.parse(done!.body) as { type: string; run: { id: string; status: string; output: unknown } };
    expect(body).toMatchObject({ type: "run.finished", run: { id: runId, status: "SUCCEEDED", output: { b: 41 } } });
    expect(done!.headers["x-weft-event"]).toBe("run.finished");

    const steps = stub
      .to("/step")
      .map((r) => JSON.parse(r.body) as { step: { id: string; status: string; output: unknown } });
    expect(steps.map((s) => s.step.id).sort()).toEqual(["a", "b"]);
    expect(steps.find((s) => s.step.id === "a")?.step).toMatchObject({ status: "SUCCEEDED", output: 40 });
    for (const r of stub.to("/step"))
      expect(verifySignature(SECRET, r.body, r.headers["x-weft-signature"] as string, new Date())).toBe(true);
    expect(stub.to("/failed")).toHaveLength(0);

    // The delivery's history event commits after the receiver has answered, so wait for it.
    const delivered = await eventually(
      async () => {
        const { events } = await stack.c.runs.getRunHistory({ runId });
        const ok = events.filter((e) => e.type === RunEventType.WEBHOOK && e.message.includes("→ 200"));
        return ok.length >= 3 ? ok : undefined;
      },
      10_000,
      "three delivered webhooks in the history",
    );
    await new Promise((r) => setTimeout(r, 500));
    const { events } = await stack.c.runs.getRunHistory({ runId });
    expect(events.filter((e) => e.type === RunEventType.WEBHOOK && e.message.includes("→ 200"))).toHaveLength(
      delivered.length,
    );
    expect(delivered).toHaveLength(3);
  }, 60_000);

  it("keeps a workflow's secret write-only: reads say only that one is set", async () => {
    const yaml = (secret: string) =>
      [
        "id: secret-kept",
        "webhooks:",
        `  on_complete: ["${stub.url}/never"]`,
        ...(secret ? [`  secret: ${secret}`] : []),
        "steps:",
        '  - { id: a, action: transform, input: { expression: "1" } }',
        "",
      ].join("\n");
    await stack.createYaml(yaml(SECRET));
    const { workflow } = await stack.c.workflows.getWorkflow({ id: "secret-kept" });
    expect(workflow?.spec?.webhooks).toMatchObject({ secret: "", secretSet: true });
    const { workflows } = await stack.c.workflows.listWorkflows({});
    const listed = workflows.find((w) => w.id === "secret-kept");
    expect(listed?.spec?.webhooks).toMatchObject({ secret: "", secretSet: true });
    expect(JSON.stringify(toJson(WorkflowSchema, listed!))).not.toContain(SECRET);
    // A version without a secret of its own says so.
    await stack.createYaml(yaml(""));
    const latest = await stack.c.workflows.getWorkflow({ id: "secret-kept" });
    expect(latest.workflow?.spec?.webhooks).toMatchObject({ secret: "", secretSet: false });
  });

  it("on_failure fires for a failed run, with the server's default secret", async () => {
    stub.on("/fail2", (_req, res) => res.text(204, ""));
    stub.on("/boom", (_req, res) => res.text(400, "bad"));
    await stack.createYaml(
      `id: failing\nwebhooks: { on_failure: ["${stub.url}/fail2"] }\nsteps:\n  - { id: a, action: http.request, input: { url: "${stub.url}/boom" } }\n`,
    );
    const { runId } = await stack.c.workflows.triggerWorkflow({ workflowId: "failing" });
    expect((await stack.waitRun(runId)).status).toBe(RunStatus.FAILED);
    const req = await eventually(() => stub.to("/fail2")[0], 10_000, "failure webhook");
    expect(verifySignature("server-default", req.body, req.headers["x-weft-signature"] as string, new Date())).toBe(
      true,
    );
    expect(JSON.parse(req.body)).toMatchObject({
      type: "run.failed",
      run: { id: runId, status: "FAILED", error: { type: "HTTP_400" } },
    });
  }, 30_000);
});
