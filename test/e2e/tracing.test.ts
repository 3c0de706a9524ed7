/**
 * OpenTelemetry traces across the server and an SDK worker: a server process
 * started with `--otlp-endpoint` exports to a fake OTLP collector (a local
 * HTTP server taking `POST /v1/traces` JSON), an SDK worker in this process
 * records into an in-memory exporter. A three-step chain triggered with the
 * caller's `traceparent` makes one trace: the trigger span under the caller's
 * span, a step span per step with its queue-wait child, and the worker's
 * span (and the handler's own) under its step span. With tracing off the
 * task carries no trace context and the server exports nothing.
 */
import { randomBytes } from "node:crypto";
import { context, propagation, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunStatus } from "../../gen/weft/v1/common_pb.js";
import { createWeftClient, jsonToValue } from "../../sdk/index.js";
import { requirePostgres } from "../support/db.js";
import { uniqueId } from "../support/execution.js";
import { startHttpStub, type HttpStub } from "../support/http-stub.js";
import { rawWorkerStream } from "../support/raw-worker.js";
import { defineWorkflow, trigger, waitForRun, WorkerPool } from "../support/runs.js";
import { startWeft, type Weft } from "../support/weft.js";

const hasPostgres = await requirePostgres();

/** A span as the collector got it (OTLP/JSON: hex ids, times in nanoseconds). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  status?: { code?: number };
  attributes?: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}

/** Every span the collector received, with the resource's service name. */
function collected(stub: HttpStub): (OtlpSpan & { service: string })[] {
  return stub.to("/v1/traces").flatMap((req) => {
    const body = JSON.parse(req.body) as {
      resourceSpans: {
        resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
        scopeSpans: { spans: OtlpSpan[] }[];
      }[];
    };
    return body.resourceSpans.flatMap((rs) => {
      const service = rs.resource?.attributes?.find((a) => a.key === "service.name")?.value.stringValue ?? "";
      return rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => ({ ...s, service })));
    });
  });
}

const attr = (span: OtlpSpan, key: string): string | undefined => {
  const v = span.attributes?.find((a) => a.key === key)?.value;
  return v?.stringValue ?? (v?.intValue === undefined ? undefined : String(v.intValue));
};

/** A ReadableSpan's end in nanoseconds since the epoch. */
const endNs = (span: ReadableSpan): bigint => BigInt(span.endTime[0]) * 1_000_000_000n + BigInt(span.endTime[1]);

describe.skipIf(!hasPostgres)("tracing", () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let stub: HttpStub;
  const workers = new WorkerPool();

  beforeAll(async () => {
    // The worker's process, as an application would set it up: a provider registered globally.
    provider.register();
    stub = await startHttpStub();
    stub.on("/v1/traces", (_req, res) => res.json(200, {}));
  });
  afterAll(async () => {
    await workers.stopAll();
    await stub?.close();
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });

  it("makes one trace of a three-step run, continued in the worker under each step's span", async () => {
    let weft: Weft | undefined;
    try {
      weft = await startWeft({ args: ["--otlp-endpoint", stub.url] });
      const id = uniqueId("traced");
      await defineWorkflow(weft.client, {
        id,
        steps: [
          { id: "a", action: `${id}.a` },
          { id: "b", action: `${id}.b`, depends_on: ["a"] },
          { id: "c", action: `${id}.c`, depends_on: ["b"] },
        ],
      });
      // The handler's own span must nest under the SDK's task span.
      const work = () => trace.getTracer("test").startActiveSpan("user.work", (s) => s.end());
      await workers.start(
        { address: weft.url },
        { [`${id}.a`]: () => (work(), 1), [`${id}.b`]: () => (work(), 2), [`${id}.c`]: () => (work(), 3) },
      );

      const traceId = randomBytes(16).toString("hex");
      const callerSpanId = randomBytes(8).toString("hex");
      const caller = createWeftClient(weft.url, { headers: { traceparent: `00-${traceId}-${callerSpanId}-01` } });
      const { runId } = await caller.workflows.triggerWorkflow({ workflowId: id, input: jsonToValue({}) });
      caller.close();
      expect((await waitForRun(weft.client, runId)).status).toBe(RunStatus.SUCCEEDED);
      const secondRunId = await trigger(weft.client, id);
      expect((await waitForRun(weft.client, secondRunId)).status).toBe(RunStatus.SUCCEEDED);
      await weft.stop(); // flushes the server's batched spans

      const server = collected(stub).filter((s) => s.service === "weft");
      const triggers = server.filter((s) => s.name === `weft.trigger ${id}`);
      const firstTrigger = triggers.find((s) => s.traceId === traceId);
      expect(firstTrigger?.parentSpanId).toBe(callerSpanId);
      expect(firstTrigger && attr(firstTrigger, "weft.run_id")).toBe(runId);

      const first = server.filter((s) => s.traceId === traceId);
      const steps = first.filter((s) => s.name.startsWith("weft.step "));
      expect(steps.map((s) => s.name).sort()).toEqual(["weft.step a", "weft.step b", "weft.step c"]);
      for (const step of steps) {
        expect(step.parentSpanId).toBe(firstTrigger!.spanId);
        expect(attr(step, "weft.run_id")).toBe(runId);
        expect(attr(step, "weft.attempt")).toBe("1");
        const waits = first.filter((s) => s.name === "weft.queue_wait" && s.parentSpanId === step.spanId);
        expect(waits).toHaveLength(1);
      }
      // Every span the server made for the first run is in the caller's trace.
      expect(first.length).toBe(1 + 3 * 2);

      const worker = exporter.getFinishedSpans();
      const tasks = worker.filter((s) => s.name.startsWith("weft.task ") && s.spanContext().traceId === traceId);
      expect(tasks).toHaveLength(3);
      for (const task of tasks) {
        const stepId = task.attributes["weft.step_id"];
        const step = steps.find((s) => s.name === `weft.step ${String(stepId)}`)!;
        expect(task.parentSpanContext?.spanId).toBe(step.spanId);
        // The step span ends when the result commits: after the worker's span.
        expect(BigInt(step.endTimeUnixNano)).toBeGreaterThanOrEqual(endNs(task));
        const own = worker.filter(
          (s) => s.name === "user.work" && s.parentSpanContext?.spanId === task.spanContext().spanId,
        );
        expect(own).toHaveLength(1);
      }
      expect(worker.filter((s) => s.spanContext().traceId === traceId)).toHaveLength(6);

      // The run triggered without a traceparent has a trace of its own.
      const secondTrigger = triggers.find((s) => attr(s, "weft.run_id") === secondRunId);
      expect(secondTrigger).toBeDefined();
      expect(secondTrigger!.traceId).not.toBe(traceId);
      expect(secondTrigger!.parentSpanId ?? "").toBe("");
      const second = server.filter((s) => s.traceId === secondTrigger!.traceId);
      expect(second.filter((s) => s.name.startsWith("weft.step "))).toHaveLength(3);
      expect(worker.filter((s) => s.spanContext().traceId === secondTrigger!.traceId)).toHaveLength(6);
    } finally {
      await workers.stopAll();
      await weft?.stop();
    }
  }, 60_000);

  it("with tracing off sends tasks without a traceparent, stores none and starts no exporter", async () => {
    let weft: Weft | undefined;
    const stream = () => rawWorkerStream(weft!.url);
    let raw: ReturnType<typeof stream> | undefined;
    try {
      weft = await startWeft();
      const id = uniqueId("untraced");
      await defineWorkflow(weft.client, { id, steps: [{ id: "a", action: `${id}.a` }] });
      raw = stream();
      raw.send({ case: "hello", value: { workerName: "raw", actions: [`${id}.a`], slots: 1 } });
      expect((await raw.next()).msg.case).toBe("welcome");
      // A caller's traceparent alone does not turn tracing on.
      const caller = createWeftClient(weft.url, {
        headers: { traceparent: `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01` },
      });
      const { runId } = await caller.workflows.triggerWorkflow({ workflowId: id, input: jsonToValue({}) });
      caller.close();
      const msg = await raw.next();
      const task =
        msg.msg.case === "task" ? msg.msg.value : msg.msg.case === "tasks" ? msg.msg.value.tasks[0] : undefined;
      expect(task?.runId).toBe(runId);
      expect(task?.traceparent).toBe("");
      const db = new pg.Client({ connectionString: weft.databaseUrl });
      await db.connect();
      try {
        const { rows } = await db.query("select traceparent from runs where id = $1", [runId]);
        expect(rows).toEqual([{ traceparent: null }]);
      } finally {
        await db.end();
      }
      raw.close();
      raw = undefined;
      await weft.stop();
      expect(weft.server.logs.some((l) => l.includes("tracing: exporting"))).toBe(false);
    } finally {
      raw?.close();
      await weft?.stop();
    }
  }, 60_000);
});
