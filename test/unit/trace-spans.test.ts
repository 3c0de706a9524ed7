/**
 * The server's tracing hooks without a server: off (no endpoint) means the
 * do-nothing hooks and no provider; on, the trigger hook parents its spans on
 * a request's traceparent and hands each run its span's context, and the
 * dispatch hook backdates the step span to when the step was ready, adds the
 * queue-wait child, and ends the step span only for the attempt it opened.
 */
import { trace } from "@opentelemetry/api";
import { useInMemoryTracing } from "../support/in-memory-tracing.js";
import { describe, expect, it } from "vitest";
import { NO_DISPATCH_TRACER, NO_TRIGGER_TRACER } from "../../src/dispatch/tracer.js";
import { createLogger } from "../../src/log.js";
import { createDispatchTracer, createTriggerTracer } from "../../src/observability/trace-spans.js";
import { startTracing } from "../../src/observability/tracing.js";
import type { ClaimedTask, TriggerInput } from "../../src/store/types.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER = "00f067aa0ba902b7";

describe("tracing off", () => {
  it("returns the do-nothing hooks and registers no provider", async () => {
    const tracing = startTracing({ endpoint: undefined, logger: createLogger({ level: "silent" }) });
    expect(tracing.enabled).toBe(false);
    expect(tracing.dispatch).toBe(NO_DISPATCH_TRACER);
    expect(tracing.triggers).toBe(NO_TRIGGER_TRACER);
    expect(trace.getTracer("probe").startSpan("probe").isRecording()).toBe(false);
    await tracing.shutdown();
  });
});

describe("tracing hooks", () => {
  const { exporter, provider } = useInMemoryTracing();
  const tracer = provider.getTracer("test");

  it("trigger: one span per run under the caller's traceparent, its context on the run", async () => {
    const triggers = createTriggerTracer(tracer);
    let seen: TriggerInput[] = [];
    const headers = new Headers({ traceparent: `00-${TRACE_ID}-${CALLER}-01` });
    const inputs = [
      { namespace: "default", workflowId: "a", input: {} },
      { namespace: "default", workflowId: "b", input: {} },
    ];
    await triggers.trigger(
      inputs,
      async (i) => {
        seen = i;
        return [
          { ok: true, runId: "r1", created: true },
          { ok: false, reason: "WORKFLOW_NOT_FOUND", message: "gone" },
        ];
      },
      headers,
    );
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(["weft.trigger a", "weft.trigger b"]);
    for (const [k, span] of spans.entries()) {
      expect(span.spanContext().traceId).toBe(TRACE_ID);
      expect(span.parentSpanContext?.spanId).toBe(CALLER);
      expect(seen[k]!.traceparent).toBe(`00-${TRACE_ID}-${span.spanContext().spanId}-01`);
    }
    expect(spans[0]!.attributes).toMatchObject({ "weft.run_id": "r1", "weft.run_created": true });
    expect(spans[1]!.status.code).toBe(2);
    expect(inputs[0]).not.toHaveProperty("traceparent"); // the caller's inputs are left alone
  });

  it("dispatch: a backdated step span with its queue wait, ended by its own attempt's outcome", () => {
    const dispatch = createDispatchTracer(tracer);
    const task: ClaimedTask = {
      taskId: "t1",
      namespace: "default",
      runId: "r1",
      stepId: "s1",
      workflowId: "wf",
      action: "act",
      input: {},
      attempt: 1,
      leaseToken: 7n,
      queuedMs: 250,
      runTraceparent: `00-${TRACE_ID}-${CALLER}-01`,
    };
    const before = Date.now();
    dispatch.sending(task, "w1");
    const [wait] = exporter.getFinishedSpans();
    expect(wait?.name).toBe("weft.queue_wait");
    const waitMs = (wait!.duration[0] * 1e9 + wait!.duration[1]) / 1e6;
    expect(waitMs).toBeGreaterThanOrEqual(249);
    expect(task.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-${wait!.parentSpanContext?.spanId}-01$`));

    const outcome = {
      taskId: "t1",
      workerId: "w1",
      outcome: { kind: "error" as const, error: { type: "BOOM", message: "no", retryable: true } },
    };
    dispatch.settled({ ...outcome, leaseToken: 6n }, { taskId: "t1", accepted: false });
    expect(exporter.getFinishedSpans()).toHaveLength(1); // a stale token does not end this attempt's span
    dispatch.settled({ ...outcome, leaseToken: 7n }, { taskId: "t1", accepted: true });
    const step = exporter.getFinishedSpans()[1]!;
    expect(step.name).toBe("weft.step s1");
    expect(step.parentSpanContext?.spanId).toBe(CALLER);
    expect(step.status).toEqual({ code: 2, message: "BOOM: no" });
    expect(step.attributes).toMatchObject({ "weft.run_id": "r1", "weft.attempt": 1, "weft.worker_id": "w1" });
    expect(step.startTime[0] * 1000 + step.startTime[1] / 1e6).toBeLessThanOrEqual(before - 249);
  });
});
