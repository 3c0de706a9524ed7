/**
 * The spans of a run's trace, made by the hooks `tracing.ts` wires in when
 * tracing is on:
 *
 * - `weft.trigger <workflow>`: one per run a trigger call starts (the API's
 *   TriggerWorkflow(s), PublishEvent, a schedule tick), from the call until
 *   its runs are committed. Its parent is the caller's `traceparent` header
 *   when there is one; else it is the root of a new trace. Its W3C context is
 *   stored on the run row (`runs.traceparent`), so any replica, before or
 *   after a restart, continues the same trace.
 * - `weft.step <step id>`: one per attempt, child of the trigger span, from
 *   the moment the step was ready (the claim's `queuedMs`, by the database's
 *   clock) until its result commits or the task is lost or handed back. Its
 *   context goes to the worker as `Task.traceparent`.
 * - `weft.queue_wait`: the step's wait in the queue, first child of the step.
 *
 * @example
 *   const triggers = createTriggerTracer(provider.getTracer("weft"));
 *   const results = await triggers.trigger(inputs, (i) => store.triggerRuns(i), request.header);
 */
import {
  propagation,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
  type Tracer,
} from "@opentelemetry/api";
import type { DispatchTracer, TriggerTracer } from "../dispatch/tracer.js";

/** Reads propagation headers from a Fetch `Headers` (Connect's request headers). */
const HEADERS: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

/** The W3C `traceparent` of `ctx` (what the registered propagator injects). */
function traceparentOf(ctx: Context): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent;
}

/** A context whose span is the remote one described by `traceparent`. */
function fromTraceparent(traceparent: string | undefined): Context {
  return traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
}

/**
 * Trigger spans over `tracer`, one per run started.
 *
 * @example
 *   const triggers = createTriggerTracer(tracer);
 *   await triggers.trigger([{ workflowId: "billing", input: {} }], start); // the run row gets the span's traceparent
 */
export function createTriggerTracer(tracer: Tracer): TriggerTracer {
  return {
    async trigger(inputs, start, headers) {
      const parent = headers ? propagation.extract(ROOT_CONTEXT, headers, HEADERS) : ROOT_CONTEXT;
      const spans = inputs.map((i) =>
        tracer.startSpan(`weft.trigger ${i.workflowId}`, { attributes: { "weft.workflow_id": i.workflowId } }, parent),
      );
      const traced = inputs.map((input, k) => {
        const traceparent = traceparentOf(trace.setSpan(parent, spans[k]!));
        return traceparent === undefined ? input : { ...input, traceparent };
      });
      try {
        const results = await start(traced);
        results.forEach((r, k) => {
          const span = spans[k]!;
          if (r.ok) span.setAttributes({ "weft.run_id": r.runId, "weft.run_created": r.created });
          else span.setStatus({ code: SpanStatusCode.ERROR, message: r.reason });
        });
        return results;
      } catch (err) {
        for (const span of spans) {
          span.recordException(err instanceof Error ? err : String(err));
          span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
        }
        throw err;
      } finally {
        for (const span of spans) span.end();
      }
    },
  };
}

/**
 * Step and queue-wait spans over `tracer`, kept open per task until the
 * attempt's outcome (with the same lease token) settles.
 *
 * @example
 *   const dispatch = createDispatchTracer(tracer);
 *   dispatch.sending(task, session.id); // task.traceparent is now the step span's
 *   dispatch.settled(outcome, result); // the step span ends
 */
export function createDispatchTracer(tracer: Tracer): DispatchTracer {
  /** Task id → the open step span of its attempt with this lease token. */
  const open = new Map<string, { span: Span; token: bigint }>();
  return {
    enabled: true,
    sending(task, workerId) {
      const now = Date.now();
      const readyAt = now - (task.queuedMs ?? 0);
      const parent = fromTraceparent(task.runTraceparent);
      const span = tracer.startSpan(
        `weft.step ${task.stepId}`,
        {
          startTime: readyAt,
          attributes: {
            "weft.run_id": task.runId,
            "weft.workflow_id": task.workflowId,
            "weft.step_id": task.stepId,
            "weft.action": task.action,
            "weft.attempt": task.attempt,
            "weft.worker_id": workerId,
          },
        },
        parent,
      );
      const ctx = trace.setSpan(parent, span);
      tracer.startSpan("weft.queue_wait", { startTime: readyAt }, ctx).end(now);
      task.traceparent = traceparentOf(ctx);
      // An earlier attempt this replica still tracks ended without a settled outcome here.
      open.get(task.taskId)?.span.end();
      open.set(task.taskId, { span, token: task.leaseToken });
    },
    settled(outcome, result) {
      const held = open.get(outcome.taskId);
      if (held === undefined || held.token !== outcome.leaseToken) return;
      open.delete(outcome.taskId);
      const { span } = held;
      if (outcome.outcome.kind === "error") {
        const { type, message } = outcome.outcome.error;
        span.setAttribute("weft.error_type", type);
        span.setStatus({ code: SpanStatusCode.ERROR, message: `${type}: ${message}` });
      }
      if (!result.accepted) span.setAttribute("weft.result_refused", result.reason ?? "stale");
      span.end();
    },
  };
}
