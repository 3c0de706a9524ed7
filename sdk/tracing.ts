/**
 * Continues the server's trace in the worker: a task that carries a W3C
 * `traceparent` (the server's `weft.step` span, sent only by a server with
 * tracing on) runs its handler inside a `weft.task <action>` span under it,
 * made active so the handler's own spans nest beneath. Only the
 * OpenTelemetry API is used: with no tracer provider registered in the
 * worker's process (the application's choice) every call is a no-op.
 *
 * @example
 * ```ts
 * const outcome = await inTaskSpan(task, () => runUntraced(handler, task, ctx));
 * ```
 */
import { propagation, ROOT_CONTEXT, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Task } from "../gen/weft/v1/worker_service_pb.js";

/** Resolves through the global provider at each span, so one registered after import is used. */
const tracer = trace.getTracer("weft-sdk");

/**
 * Runs `run` inside the task's span, whose parent is `task.traceparent`; an
 * `error` outcome sets the span's status to ERROR with the failure's type.
 *
 * @example
 * ```ts
 * await inTaskSpan(task, async () => ({ case: "outputJson", value: new Uint8Array(), text: "null" }));
 * ```
 */
export function inTaskSpan<T extends { case: string; value: unknown }>(task: Task, run: () => Promise<T>): Promise<T> {
  const parent = propagation.extract(ROOT_CONTEXT, { traceparent: task.traceparent });
  const attributes = {
    "weft.run_id": task.runId,
    "weft.workflow_id": task.workflowId,
    "weft.step_id": task.stepId,
    "weft.action": task.action,
    "weft.attempt": task.attempt,
    "weft.task_id": task.taskId,
  };
  return tracer.startActiveSpan(`weft.task ${task.action}`, { attributes }, parent, async (span) => {
    try {
      const outcome = await run();
      if (outcome.case === "error") {
        const failure = outcome.value as { type: string; message: string };
        span.setAttribute("weft.error_type", failure.type);
        span.setStatus({ code: SpanStatusCode.ERROR, message: `${failure.type}: ${failure.message}` });
      }
      return outcome;
    } finally {
      span.end();
    }
  });
}
