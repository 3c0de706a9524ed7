/**
 * The tracing hooks the dispatcher and the trigger paths call, as interfaces
 * with do-nothing defaults (like the metrics observer in `observer.ts`): the
 * OpenTelemetry implementation lives in `src/observability/`, wired at the
 * composition root only when an OTLP endpoint is configured. With the
 * defaults no span object exists, no trace context is read or written, and
 * the claim and trigger statements are the untraced ones.
 *
 * @example
 *   const dispatcher = createDispatcher({ store, leases, logger, options, tracer: tracing.dispatch });
 */
import type { ClaimedTask, CompletionResult, TaskOutcome, TriggerInput, TriggerResult } from "../store/index.js";

export interface DispatchTracer {
  /** Claims read each run's trace context (`ClaimOptions.traceparents`) only when true. */
  readonly enabled: boolean;
  /**
   * A claimed task is about to go down the stream of worker `workerId`:
   * opens its step span under the run's trace and sets `task.traceparent`.
   */
  sending(task: ClaimedTask, workerId: string): void;
  /** A result or a loss of the task was settled by the store: its step span ends. */
  settled(outcome: TaskOutcome, result: CompletionResult): void;
}

/** Starts runs (the store, or the server's trigger buffer in front of it). */
export type StartRuns = (inputs: TriggerInput[]) => Promise<TriggerResult[]>;

export interface TriggerTracer {
  /**
   * Starts `inputs` through `start` inside a trigger span per run, each run
   * carrying its span's trace context; `headers` (a request's) may hold the
   * caller's `traceparent` to join.
   */
  trigger(inputs: TriggerInput[], start: StartRuns, headers?: Headers): Promise<TriggerResult[]>;
}

/** The default: traces nothing. */
export const NO_DISPATCH_TRACER: DispatchTracer = {
  enabled: false,
  sending() {},
  settled() {},
};

/** The default: starts the runs as they are. */
export const NO_TRIGGER_TRACER: TriggerTracer = {
  trigger: (inputs, start) => start(inputs),
};
