/**
 * An OpenTelemetry provider recording into memory, registered globally for
 * one `describe` block (spans reset before each test, everything unregistered
 * after), so tests see the spans Weft and the SDK make through the global API.
 *
 * @example
 * ```ts
 * describe("spans", () => {
 *   const { exporter, provider } = useInMemoryTracing();
 *   it("…", () => expect(exporter.getFinishedSpans()).toHaveLength(0));
 * });
 * ```
 */
import { context, propagation, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { afterAll, beforeAll, beforeEach } from "vitest";

export function useInMemoryTracing(): { exporter: InMemorySpanExporter; provider: NodeTracerProvider } {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  beforeAll(() => provider.register());
  beforeEach(() => exporter.reset());
  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });
  return { exporter, provider };
}
