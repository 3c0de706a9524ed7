/**
 * The Weft TypeScript SDK: a worker that runs actions for the control plane,
 * and typed clients to define workflows and trigger runs.
 *
 * @example
 * ```ts
 * import { Worker, TaskError, createWeftClient, triggerAndWait } from "weft/sdk";
 *
 * const worker = new Worker({ address: "http://127.0.0.1:8080", name: "billing-1", slots: 4 });
 * worker.register("charge", async (input: { cents: number }, ctx) => {
 *   if (input.cents <= 0) throw TaskError.nonRetryable("BAD_AMOUNT", "cents must be positive");
 *   return { ok: true, attempt: ctx.attempt };
 * });
 * await worker.start();
 * ```
 */
export { Worker } from "./worker.js";
export type { WorkerOptions, WorkerLogger } from "./worker-options.js";
export { WorkerState } from "./worker-state.js";
export type { WorkerEvents, TaskInfo } from "./worker-events.js";
export { TaskError, toTaskError } from "./context.js";
export { SdkErrorType, SDK_RETRYABLE } from "./failures.js";
export type { TaskContext, TaskHandler } from "./context.js";
export { createWeftClient, triggerAndWait, isTerminal, RunTimeoutError } from "./client.js";
export type { WeftClient, WeftClientOptions, TriggerAndWaitOptions, TlsFiles } from "./client.js";
export { jsonToValue, valueToJson } from "./value.js";
export { createBackoff } from "./backoff.js";
export type { Backoff, BackoffOptions } from "./backoff.js";
export { RunStatus, StepStatus } from "../gen/weft/v1/common_pb.js";
export type { Run, StepRun, Failure } from "../gen/weft/v1/common_pb.js";
