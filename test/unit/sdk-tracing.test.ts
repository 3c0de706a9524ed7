/**
 * The SDK's task span (sdk/tracing.ts through runHandler): opened under the
 * task's traceparent and active while the handler runs, ERROR on a failure,
 * and not opened at all for a task without a traceparent.
 */
import { create } from "@bufbuild/protobuf";
import { trace } from "@opentelemetry/api";
import { useInMemoryTracing } from "../support/in-memory-tracing.js";
import { describe, expect, it } from "vitest";
import { TaskSchema } from "../../gen/weft/v1/worker_service_pb.js";
import { TaskError } from "../../sdk/index.js";
import { createTaskContext, runHandler } from "../../sdk/task-runner.js";

const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const PARENT = "b7ad6b7169203331";

describe("the SDK's task span", () => {
  const { exporter } = useInMemoryTracing();

  const task = (traceparent: string) =>
    create(TaskSchema, { taskId: "t1", runId: "r1", stepId: "s1", action: "act", attempt: 2, traceparent });
  const run = (t: ReturnType<typeof task>, handler: () => unknown) =>
    runHandler(
      handler as never,
      t,
      createTaskContext(t, new AbortController().signal, () => {}),
    );

  it("runs the handler inside weft.task <action>, under the task's traceparent", async () => {
    let active: string | undefined;
    const outcome = await run(task(`00-${TRACE_ID}-${PARENT}-01`), () => {
      active = trace.getActiveSpan()?.spanContext().spanId;
      return 1;
    });
    expect(outcome.case).toBe("outputJson");
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe("weft.task act");
    expect(span?.spanContext().traceId).toBe(TRACE_ID);
    expect(span?.parentSpanContext?.spanId).toBe(PARENT);
    expect(span?.attributes).toMatchObject({ "weft.run_id": "r1", "weft.step_id": "s1", "weft.attempt": 2 });
    expect(active).toBe(span?.spanContext().spanId);
  });

  it("marks the span ERROR with the failure type", async () => {
    const outcome = await run(task(`00-${TRACE_ID}-${PARENT}-01`), () => {
      throw TaskError.nonRetryable("NO_NAME", "no name");
    });
    expect(outcome.case).toBe("error");
    const [span] = exporter.getFinishedSpans();
    expect(span?.status).toEqual({ code: 2, message: "NO_NAME: no name" });
    expect(span?.attributes["weft.error_type"]).toBe("NO_NAME");
  });

  it("opens no span for a task without a traceparent", async () => {
    await run(task(""), () => 1);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
