/**
 * Proto ⇄ domain conversions. The engine and the store never see protobuf
 * types; these functions are the only bridge.
 */
import { create, fromJson, toJson, type JsonValue as PbJson } from "@bufbuild/protobuf";
import { type Duration, ValueSchema, timestampFromDate, type Value } from "@bufbuild/protobuf/wkt";
import {
  FailureSchema,
  RunEventSchema,
  RunEventType,
  RunSchema,
  RunStatus as PbRunStatus,
  RunTrigger as PbRunTrigger,
  StepRunSchema,
  StepStatus as PbStepStatus,
  TriggerRule as PbTriggerRule,
  WorkflowSchema,
  WorkflowSpecSchema,
  type Failure as PbFailure,
  type Run,
  type RunEvent,
  type RetryPolicy as PbRetryPolicy,
  type Workflow,
  type WorkflowSpec,
} from "../../gen/weft/v1/common_pb.js";
import type { StepStatus } from "../engine/model.js";
import {
  DEFAULT_RETRY,
  RunStatus,
  TriggerRule,
  type Failure,
  type JsonValue,
  type RetryPolicy,
  type WorkflowDef,
} from "../engine/model.js";
import type { RunEventRecord, RunRecord, StepRunRecord, WorkflowRecord } from "../store/index.js";

/** google.protobuf.Value → JSON; unset → `fallback`. */
export function valueToJson(v: Value | undefined, fallback: JsonValue = null): JsonValue {
  return v ? (toJson(ValueSchema, v) as JsonValue) : fallback;
}

/** JSON → google.protobuf.Value. */
export function jsonToValue(v: JsonValue): Value {
  return fromJson(ValueSchema, v as PbJson);
}

/** Duration → milliseconds; unset or zero → undefined. */
export function durationMs(d: Duration | undefined): number | undefined {
  if (!d) return undefined;
  const ms = Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6);
  return ms > 0 ? ms : undefined;
}

const triggerRules: Record<PbTriggerRule, TriggerRule> = {
  [PbTriggerRule.UNSPECIFIED]: TriggerRule.ALL_SUCCEEDED,
  [PbTriggerRule.ALL_SUCCEEDED]: TriggerRule.ALL_SUCCEEDED,
  [PbTriggerRule.ALL_DONE]: TriggerRule.ALL_DONE,
  [PbTriggerRule.ANY_FAILED]: TriggerRule.ANY_FAILED,
};

function retryPolicy(r: PbRetryPolicy | undefined): RetryPolicy {
  if (!r) return { ...DEFAULT_RETRY, nonRetryableErrors: [] };
  const initialIntervalMs = durationMs(r.initialInterval) ?? DEFAULT_RETRY.initialIntervalMs;
  return {
    maxAttempts: Math.max(1, r.maxAttempts),
    initialIntervalMs,
    backoffCoefficient: r.backoffCoefficient > 0 ? r.backoffCoefficient : DEFAULT_RETRY.backoffCoefficient,
    // Unset: the default cap, but never below the initial interval the user chose.
    maxIntervalMs: durationMs(r.maxInterval) ?? Math.max(DEFAULT_RETRY.maxIntervalMs, initialIntervalMs),
    nonRetryableErrors: [...r.nonRetryableErrors],
  };
}

/** The engine's view of a spec. */
export function specToDef(spec: WorkflowSpec): WorkflowDef {
  return {
    id: spec.id,
    name: spec.name,
    description: spec.description,
    steps: spec.steps.map((s) => ({
      id: s.id,
      action: s.action,
      dependsOn: [...s.dependsOn],
      input: s.input ? valueToJson(s.input) : undefined,
      when: s.when || undefined,
      triggerRule: triggerRules[s.triggerRule] ?? TriggerRule.ALL_SUCCEEDED,
      retry: retryPolicy(s.retry),
      timeoutMs: durationMs(s.timeout),
      heartbeatTimeoutMs: durationMs(s.heartbeatTimeout),
    })),
    output: spec.output || undefined,
    on: {
      events: [...(spec.on?.events ?? [])],
      schedules: [...(spec.on?.schedules ?? [])],
      eventTriggers: (spec.on?.eventTriggers ?? []).map((t) =>
        t.filter ? { name: t.name, filter: t.filter } : { name: t.name },
      ),
    },
    webhooks: {
      onComplete: [...(spec.webhooks?.onComplete ?? [])],
      onFailure: [...(spec.webhooks?.onFailure ?? [])],
      onStep: [...(spec.webhooks?.onStep ?? [])],
      ...(spec.webhooks?.secret ? { secret: spec.webhooks.secret } : {}),
    },
    timeoutMs: durationMs(spec.timeout),
    retentionMs: durationMs(spec.retention),
  };
}

/** The spec as stored and as returned to clients (proto JSON). */
export function specToJson(spec: WorkflowSpec): JsonValue {
  return toJson(WorkflowSpecSchema, spec) as JsonValue;
}

/**
 * A stored workflow as clients see it. The webhook secret is write-only:
 * the answer says only that one is set (`webhooks.secret_set`).
 */
export function workflowToProto(w: WorkflowRecord): Workflow {
  const spec = fromJson(WorkflowSpecSchema, w.spec as PbJson, { ignoreUnknownFields: true });
  if (spec.webhooks) {
    spec.webhooks.secretSet = spec.webhooks.secret !== "";
    spec.webhooks.secret = "";
  }
  return create(WorkflowSchema, {
    namespace: w.namespace,
    id: w.id,
    version: w.version,
    spec,
    createTime: timestampFromDate(w.createdAt),
    deleteTime: w.deletedAt ? timestampFromDate(w.deletedAt) : undefined,
  });
}

export const runStatusToProto: Record<RunStatus, PbRunStatus> = {
  PENDING: PbRunStatus.PENDING,
  RUNNING: PbRunStatus.RUNNING,
  SUCCEEDED: PbRunStatus.SUCCEEDED,
  FAILED: PbRunStatus.FAILED,
  CANCELLED: PbRunStatus.CANCELLED,
  TIMED_OUT: PbRunStatus.TIMED_OUT,
};

export const stepStatusToProto: Record<StepStatus, PbStepStatus> = {
  PENDING: PbStepStatus.PENDING,
  QUEUED: PbStepStatus.QUEUED,
  RUNNING: PbStepStatus.RUNNING,
  SUCCEEDED: PbStepStatus.SUCCEEDED,
  FAILED: PbStepStatus.FAILED,
  SKIPPED: PbStepStatus.SKIPPED,
  CANCELLED: PbStepStatus.CANCELLED,
};

/** Proto run status → domain; UNSPECIFIED → undefined (no filter). */
export function runStatusFromProto(s: PbRunStatus): RunStatus | undefined {
  const name = PbRunStatus[s] as keyof typeof RunStatus | "UNSPECIFIED" | undefined;
  return name && name !== "UNSPECIFIED" ? RunStatus[name] : undefined;
}

export function failureToProto(f: Failure | undefined): PbFailure | undefined {
  return f ? create(FailureSchema, { message: f.message, type: f.type, retryable: f.retryable ?? false }) : undefined;
}

function stepRunToProto(s: StepRunRecord) {
  return create(StepRunSchema, {
    stepId: s.stepId,
    action: s.action,
    status: stepStatusToProto[s.status],
    attempts: s.attempts,
    input: s.input === undefined ? undefined : jsonToValue(s.input),
    output: s.output === undefined ? undefined : jsonToValue(s.output),
    error: failureToProto(s.error),
    createTime: timestampFromDate(s.createdAt),
    startTime: s.startedAt ? timestampFromDate(s.startedAt) : undefined,
    endTime: s.endedAt ? timestampFromDate(s.endedAt) : undefined,
    workerId: s.workerId ?? "",
  });
}

export function runToProto(r: RunRecord): Run {
  return create(RunSchema, {
    id: r.id,
    namespace: r.namespace,
    workflowId: r.workflowId,
    workflowVersion: r.workflowVersion,
    status: runStatusToProto[r.status],
    input: jsonToValue(r.input),
    output: r.output === undefined ? undefined : jsonToValue(r.output),
    error: failureToProto(r.error),
    createTime: timestampFromDate(r.createdAt),
    startTime: r.startedAt ? timestampFromDate(r.startedAt) : undefined,
    endTime: r.endedAt ? timestampFromDate(r.endedAt) : undefined,
    steps: r.steps.map(stepRunToProto),
    idempotencyKey: r.idempotencyKey ?? "",
    trigger: r.trigger ? RUN_TRIGGERS[r.trigger] : PbRunTrigger.UNSPECIFIED,
  });
}

const RUN_TRIGGERS: Record<NonNullable<RunRecord["trigger"]>, PbRunTrigger> = {
  api: PbRunTrigger.API,
  event: PbRunTrigger.EVENT,
  schedule: PbRunTrigger.SCHEDULE,
};

const eventTypes: Record<RunEventRecord["type"], RunEventType> = {
  RUN_STATUS: RunEventType.RUN_STATUS,
  STEP_STATUS: RunEventType.STEP_STATUS,
  STALE_RESULT: RunEventType.STALE_RESULT,
  WEBHOOK: RunEventType.WEBHOOK,
};

export function runEventToProto(e: RunEventRecord, sequence: number): RunEvent {
  return create(RunEventSchema, {
    sequence: BigInt(sequence),
    time: timestampFromDate(e.time),
    type: eventTypes[e.type],
    runStatus: e.runStatus ? runStatusToProto[e.runStatus] : PbRunStatus.UNSPECIFIED,
    stepId: e.stepId ?? "",
    stepStatus: e.stepStatus ? stepStatusToProto[e.stepStatus] : PbStepStatus.UNSPECIFIED,
    attempt: e.attempt ?? 0,
    workerId: e.workerId ?? "",
    error: failureToProto(e.error),
    message: e.message ?? "",
  });
}
