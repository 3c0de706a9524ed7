/**
 * Built-in actions run by the control plane itself, through a real server
 * process on Postgres and Redis, against a local HTTP server standing in for
 * the outside world: http.request (success, retry on 5xx, no retry on 4xx,
 * timeout and retry), transform, webhook (signed), and a durable delay that
 * survives a restart of the server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunStatus, StepStatus } from "../../gen/weft/v1/common_pb.js";
import { verifySignature } from "../../src/builtins/signature.js";
import { eventually } from "../support/execution.js";
import { startHttpStub, type HttpStub } from "../support/http-stub.js";
import { stackAvailable, startStack, type Stack } from "../support/stack.js";
import { valueToJson } from "../../src/api/convert.js";

const available = await stackAvailable();
const SECRET = "builtin-test-secret";

describe.skipIf(!available)("built-in actions", () => {
  let stack: Stack;
  let stub: HttpStub;

  beforeAll(async () => {
    stub = await startHttpStub();
    stack = await startStack({ env: { WEFT_WEBHOOK_SECRET: SECRET } });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await stub?.close();
  }, 60_000);

  const run = async (id: string, steps: string, input?: unknown) => {
    await stack.createYaml(`id: ${id}\nsteps:\n${steps}`);
    const { runId } = await stack.c.workflows.triggerWorkflow({
      workflowId: id,
      ...(input === undefined ? {} : { input: { kind: { case: "stringValue", value: String(input) } } }),
    });
    return stack.waitRun(runId);
  };

  it("http.request: 200 → status, headers and the parsed JSON body", async () => {
    stub.on("/ok", (req, res) =>
      res.json(200, { hello: "world", method: req.method, sent: JSON.parse(req.body || "null") }),
    );
    const done = await run(
      "http-ok",
      `  - id: call\n    action: http.request\n    input: { method: POST, url: "${stub.url}/ok", body: { n: 1 }, headers: { x-test: yes } }\n`,
    );
    expect(done.status).toBe(RunStatus.SUCCEEDED);
    const out = valueToJson(done.steps[0]!.output) as {
      status: number;
      headers: Record<string, string>;
      body: unknown;
    };
    expect(out.status).toBe(200);
    expect(out.headers["content-type"]).toBe("application/json");
    expect(out.body).toEqual({ hello: "world", method: "POST", sent: { n: 1 } });
    expect(stub.to("/ok")[0]!.headers["x-test"]).toBe("yes");
  });

  it("http.request: 500 then 200 → retried, succeeds on attempt 2", async () => {
    stub.on("/flaky", (_req, res, n) => (n === 1 ? res.text(500, "down") : res.text(200, "fine")));
    const done = await run(
      "http-flaky",
      `  - id: call\n    action: http.request\n    input: { url: "${stub.url}/flaky" }\n    retry: { max_attempts: 3, initial_interval: 0.1s }\n`,
    );
    expect(done.status).toBe(RunStatus.SUCCEEDED);
    expect(done.steps[0]!.attempts).toBe(2);
    expect(valueToJson(done.steps[0]!.output)).toMatchObject({ status: 200, body: "fine" });
    const history = await stack.c.runs.getRunHistory({ runId: done.id });
    expect(history.events.some((e) => e.error?.type === "HTTP_500")).toBe(true);
  });

  it("http.request: 404 → fails at once, error type HTTP_404, no retry", async () => {
    stub.on("/missing", (_req, res) => res.text(404, "nope"));
    const done = await run(
      "http-404",
      `  - id: call\n    action: http.request\n    input: { url: "${stub.url}/missing" }\n    retry: { max_attempts: 5, initial_interval: 0.1s }\n`,
    );
    expect(done.status).toBe(RunStatus.FAILED);
    expect(done.steps[0]!.status).toBe(StepStatus.FAILED);
    expect(done.steps[0]!.attempts).toBe(1);
    expect(done.steps[0]!.error?.type).toBe("HTTP_404");
    expect(stub.to("/missing")).toHaveLength(1);
  });

  it("http.request: a hanging endpoint → TIMEOUT, retried, then succeeds", async () => {
    stub.on("/hang", (_req, res, n) => (n === 1 ? undefined : res.json(200, { late: false })));
    const started = Date.now();
    const done = await run(
      "http-hang",
      `  - id: call\n    action: http.request\n    input: { url: "${stub.url}/hang", timeout: 0.5s }\n    retry: { max_attempts: 2, initial_interval: 0.1s }\n`,
    );
    expect(done.status).toBe(RunStatus.SUCCEEDED);
    expect(done.steps[0]!.attempts).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    const history = await stack.c.runs.getRunHistory({ runId: done.id });
    expect(history.events.some((e) => e.error?.type === "TIMEOUT")).toBe(true);
  });

  it("http.request: the step's own timeout applies as for worker steps: the attempt is cancelled and retried", async () => {
    let aborted = 0;
    stub.on("/hang-step", (_req, res, n) => {
      if (n === 1) res.raw.on("close", () => aborted++);
      else res.json(200, { ok: true });
    });
    const done = await run(
      "http-step-timeout",
      `  - id: call\n    action: http.request\n    input: { url: "${stub.url}/hang-step" }\n    timeout: 0.5s\n    retry: { max_attempts: 2, initial_interval: 0.1s }\n`,
    );
    expect(done.status).toBe(RunStatus.SUCCEEDED);
    expect(done.steps[0]!.attempts).toBe(2);
    const history = await stack.c.runs.getRunHistory({ runId: done.id });
    expect(history.events.some((e) => e.error?.type === "TIMEOUT")).toBe(true);
    expect(aborted).toBe(1); // the first request was aborted by the cancel, not left hanging
  });

  it("http.request: a response body above the payload limit fails at once with PAYLOAD_TOO_LARGE", async () => {
    stub.on("/huge", (_req, res) => res.text(200, "z".repeat(2 * 1024 * 1024)));
    const done = await run(
      "http-huge",
      `  - id: call\n    action: http.request\n    input: { url: "${stub.url}/huge" }\n    retry: { max_attempts: 3, initial_interval: 0.1s }\n`,
    );
    expect(done.status).toBe(RunStatus.FAILED);
    expect(done.steps[0]!.attempts).toBe(1);
    expect(done.steps[0]!.error?.type).toBe("PAYLOAD_TOO_LARGE");
  });

  it("transform: a CEL expression over input and step outputs", async () => {
    stub.on("/items", (_req, res) => res.json(200, { items: [{ price: 2 }, { price: 5 }] }));
    const done = await run(
      "transform",
      [
        `  - id: fetch\n    action: http.request\n    input: { url: "${stub.url}/items" }\n`,
        `  - id: total\n    action: transform\n    depends_on: [fetch]\n    input: { expression: "{\\"prices\\": steps.fetch.body.items.map(i, i.price), \\"n\\": size(input)}" }\n`,
      ].join(""),
      "abc",
    );
    expect(done.status).toBe(RunStatus.SUCCEEDED);
    expect(valueToJson(done.steps.find((s) => s.stepId === "total")!.output)).toEqual({ prices: [2, 5], n: 3 });
  });

  it("webhook: POSTs the payload as JSON with a valid x-weft-signature", async () => {
    stub.on("/hook", (_req, res) => res.text(204, ""));
    const done = await run(
      "webhook-step",
      `  - id: notify\n    action: webhook\n    input: { url: "${stub.url}/hook", payload: { order: 42 } }\n`,
    );
    expect(done.status).toBe(RunStatus.SUCCEEDED);
    const [req] = stub.to("/hook");
    expect(JSON.parse(req!.body)).toEqual({ order: 42 });
    expect(verifySignature(SECRET, req!.body, req!.headers["x-weft-signature"] as string, new Date())).toBe(true);
    expect(verifySignature("wrong", req!.body, req!.headers["x-weft-signature"] as string, new Date())).toBe(false);
  });

  it("a built-in still running when its server shuts down is requeued without using up an attempt", async () => {
    stub.on("/slow-once", (_req, res, n) => (n === 1 ? undefined : res.json(200, { second: true })));
    await stack.createYaml(
      `id: rolling\nsteps:\n  - id: call\n    action: http.request\n    input: { url: "${stub.url}/slow-once" }\n`,
    );
    const { runId } = await stack.c.workflows.triggerWorkflow({ workflowId: "rolling" });
    await eventually(() => (stub.to("/slow-once").length === 1 ? true : undefined), 10_000, "the first request");
    await stack.restart(); // grace 1 s, then the hanging attempt is aborted and handed back
    const done = await stack.waitRun(runId, { timeoutMs: 30_000 });
    expect(done.status).toBe(RunStatus.SUCCEEDED); // max_attempts is 1: a lost attempt would have failed it
    expect(done.steps[0]!.attempts).toBe(1);
    const { events } = await stack.c.runs.getRunHistory({ runId });
    expect(events.some((e) => e.message.startsWith("requeued"))).toBe(true);
  }, 60_000);

  it("delay survives a restart midway: total wall time about the delay, not twice", async () => {
    await stack.createYaml(
      `id: nap\nsteps:\n  - id: wait\n    action: delay\n    input: { duration: 10s }\n  - id: after\n    action: transform\n    depends_on: [wait]\n    input: { expression: "steps.wait.waited_ms" }\n`,
    );
    const started = Date.now();
    const { runId } = await stack.c.workflows.triggerWorkflow({ workflowId: "nap" });
    await new Promise((r) => setTimeout(r, 3000));
    await stack.restart();
    const upAfter = Date.now() - started;
    const done = await stack.waitRun(runId, { timeoutMs: 30_000 });
    const elapsed = Date.now() - started;
    expect(done.status).toBe(RunStatus.SUCCEEDED);
    expect(valueToJson(done.steps.find((s) => s.stepId === "after")!.output)).toBe(10_000);
    expect(elapsed).toBeGreaterThanOrEqual(10_000);
    // Done about when the delay ends (or as soon as the restarted server is up, if it came up later);
    // a timer started again would end 10 s after the restart at the earliest.
    expect(elapsed).toBeLessThan(Math.max(10_000, upAfter) + 2_500);
    const { events } = await stack.c.runs.getRunHistory({ runId });
    expect(events.filter((e) => e.message.startsWith("timer set"))).toHaveLength(1);
  }, 60_000);
});
