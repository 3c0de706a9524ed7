/**
 * OpenTelemetry traces, off unless an OTLP endpoint is configured. When on:
 * a `NodeTracerProvider` batching spans to `<endpoint>/v1/traces` (OTLP,
 * JSON over HTTP), resource `service.name=weft`, registered globally (W3C
 * `traceparent` propagation, AsyncLocalStorage context), and the two hooks
 * the server wires in: `triggers` (a `weft.trigger <workflow>` span per run
 * started, joining a request's `traceparent`) and `dispatch` (a
 * `weft.step <step id>` span per attempt with its `weft.queue_wait` child;
 * its context goes to the worker as `Task.traceparent`). The spans
 * themselves are made in `trace-spans.ts`.
 *
 * When off: `enabled` is false and the hooks are the do-nothing defaults of
 * `src/dispatch/tracer.ts`; no provider, no exporter, no span object.
 *
 * @example
 *   const tracing = startTracing({ endpoint: config.otlpEndpoint, logger });
 *   const dispatcher = createDispatcher({ ..., tracer: tracing.dispatch });
 *   await tracing.shutdown(); // flushes what is batched
 */
import { context, diag, DiagLogLevel, propagation, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { NO_DISPATCH_TRACER, NO_TRIGGER_TRACER, type DispatchTracer, type TriggerTracer } from "../dispatch/tracer.js";
import type { Logger } from "../log.js";
import { createDispatchTracer, createTriggerTracer } from "./trace-spans.js";

export interface Tracing {
  readonly enabled: boolean;
  /** Where the trigger paths (API, events, schedules) start runs. */
  readonly triggers: TriggerTracer;
  /** What the dispatcher tells about each task it sends and settles. */
  readonly dispatch: DispatchTracer;
  /** Exports what is still batched and unregisters the global provider; when off, resolves at once. */
  shutdown(): Promise<void>;
}

/** Tracing when no endpoint is configured. */
const OFF: Tracing = {
  enabled: false,
  triggers: NO_TRIGGER_TRACER,
  dispatch: NO_DISPATCH_TRACER,
  shutdown: () => Promise.resolve(),
};

/**
 * Starts tracing when `endpoint` (an OTLP/HTTP base URL such as
 * `http://collector:4318`) is set; returns the off object otherwise.
 *
 * @example
 *   const tracing = startTracing({ endpoint: "http://127.0.0.1:4318", logger });
 *   tracing.enabled; // true
 */
export function startTracing(opts: { endpoint: string | undefined; logger: Logger }): Tracing {
  const { endpoint, logger } = opts;
  if (!endpoint) return OFF;
  const url = `${endpoint.replace(/\/+$/, "")}/v1/traces`;
  // The SDK reports failed exports through `diag` only; without a logger they would vanish.
  diag.setLogger(
    {
      error: (message, ...args) => logger.warn({ args }, `tracing: ${message}`),
      warn: (message, ...args) => logger.warn({ args }, `tracing: ${message}`),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    DiagLogLevel.WARN,
  );
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": "weft" }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
  provider.register();
  const tracer = provider.getTracer("weft");
  logger.info({ url }, "tracing: exporting spans over OTLP/HTTP");
  return {
    enabled: true,
    triggers: createTriggerTracer(tracer),
    dispatch: createDispatchTracer(tracer),
    async shutdown() {
      try {
        await provider.shutdown();
      } catch (err) {
        logger.warn({ err }, "tracing: the last spans could not be exported");
      }
      trace.disable();
      propagation.disable();
      context.disable();
      diag.disable();
    },
  };
}
