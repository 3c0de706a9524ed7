/**
 * The domain model of workflows and runs, free of protobuf and storage.
 *
 * The API layer converts `weft.v1` messages into these types; the store keeps
 * them as JSON; the planner reads and produces them.
 */

/** A JSON value, as carried by `google.protobuf.Value`. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export const TriggerRule = {
  ALL_SUCCEEDED: "ALL_SUCCEEDED",
  ALL_DONE: "ALL_DONE",
  ANY_FAILED: "ANY_FAILED",
} as const;
export type TriggerRule = (typeof TriggerRule)[keyof typeof TriggerRule];

export const RunStatus = {
  PENDING: "PENDING",
  RUNNING: "RUNNING",
  SUCCEEDED: "SUCCEEDED",
  FAILED: "FAILED",
  CANCELLED: "CANCELLED",
  TIMED_OUT: "TIMED_OUT",
} as const;
export type RunStatus = (typeof RunStatus)[keyof typeof RunStatus];

export const StepStatus = {
  PENDING: "PENDING",
  QUEUED: "QUEUED",
  RUNNING: "RUNNING",
  SUCCEEDED: "SUCCEEDED",
  FAILED: "FAILED",
  SKIPPED: "SKIPPED",
  CANCELLED: "CANCELLED",
} as const;
export type StepStatus = (typeof StepStatus)[keyof typeof StepStatus];

/** Statuses a run never leaves. */
export const FINISHED_RUN_STATUSES: readonly RunStatus[] = [
  RunStatus.SUCCEEDED,
  RunStatus.FAILED,
  RunStatus.CANCELLED,
  RunStatus.TIMED_OUT,
];
/** Statuses a step does not leave unless the run is retried. */
export const FINISHED_STEP_STATUSES: readonly StepStatus[] = [
  StepStatus.SUCCEEDED,
  StepStatus.FAILED,
  StepStatus.SKIPPED,
  StepStatus.CANCELLED,
];

export interface RetryPolicy {
  /** Every attempt counts: 3 = first + 2 retries. Always >= 1. */
  maxAttempts: number;
  initialIntervalMs: number;
  backoffCoefficient: number;
  maxIntervalMs: number;
  nonRetryableErrors: string[];
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 1,
  initialIntervalMs: 1000,
  backoffCoefficient: 2,
  maxIntervalMs: 100_000,
  nonRetryableErrors: [],
};

export interface StepDef {
  id: string;
  action: string;
  dependsOn: string[];
  /** The input template; undefined = the default `{input, steps}` object. */
  input?: JsonValue;
  /** CEL condition; undefined = always. */
  when?: string;
  triggerRule: TriggerRule;
  retry: RetryPolicy;
  timeoutMs?: number;
  heartbeatTimeoutMs?: number;
}

export interface WorkflowDef {
  id: string;
  name: string;
  description: string;
  steps: StepDef[];
  /** CEL expression for the run output; undefined = outputs of the leaf steps. */
  output?: string;
  /** `eventTriggers`: events with a CEL filter over `payload` (absent in definitions stored before it existed). */
  on: { events: string[]; schedules: string[]; eventTriggers?: EventTrigger[] };
  /** `secret`: HMAC key for signing this workflow's webhooks; absent = the server's default. */
  webhooks: { onComplete: string[]; onFailure: string[]; onStep: string[]; secret?: string };
  timeoutMs?: number;
  /** How long finished runs are kept; undefined = the server's `--retention`. */
  retentionMs?: number;
}

/** An event name with an optional CEL filter over `payload`. */
export interface EventTrigger {
  name: string;
  filter?: string;
}

/** Why a step or run failed. */
export interface Failure {
  message: string;
  type: string;
  retryable?: boolean;
}
