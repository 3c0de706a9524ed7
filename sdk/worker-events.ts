/**
 * What a `Worker` reports through `worker.on(…)`: for dashboards, logs and
 * tests. Listeners run synchronously; keep them cheap.
 *
 * @example
 * ```ts
 * worker.on("result", (r) => metrics.count(r.error ? "failed" : "ok"));
 * worker.on("disconnected", (d) => log.warn(`lost ${d.address}`, d.error));
 * ```
 */
import type { JsonValue } from "@bufbuild/protobuf";
import type { WorkerState } from "./worker-state.js";

/** The identity of a task, as events report it. */
export interface TaskInfo {
  taskId: string;
  runId: string;
  stepId: string;
  workflowId: string;
  action: string;
  attempt: number;
}

/** Event name → payload. */
export interface WorkerEvents {
  /** Welcomed by a server. */
  connected: { workerId: string; address: string; heartbeatIntervalMs: number };
  /** A stream ended or a connect attempt failed; `retryInMs` undefined: no retry. */
  disconnected: { address: string; error: Error | undefined; retryInMs: number | undefined };
  /** A task arrived (before it is run or refused). */
  task: TaskInfo;
  /** A result was queued for the server (sent now, or after the next welcome). */
  result: {
    taskId: string;
    leaseToken: bigint;
    output?: JsonValue;
    error?: { type: string; message: string; retryable: boolean };
  };
  /** The server answered a result; `accepted: false` means it was stale. */
  ack: { taskId: string; accepted: boolean; reason: string };
  state: { from: WorkerState; to: WorkerState };
  /** Something went wrong that the worker handles itself (logged as well). */
  error: Error;
}
