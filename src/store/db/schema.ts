/**
 * The database as Kysely sees it: one row type per table, in snake_case.
 *
 * Nothing outside `src/store/` imports these types; `mappers.ts` turns rows
 * into the domain records of `records.ts`. jsonb columns are written through
 * `jsonb()` (see `json.ts`) and read back already parsed by the driver.
 */
import type { ColumnType, Generated, InsertObject, Selectable } from "kysely";
import type { Failure, JsonValue, RunStatus, StepStatus, WorkflowDef } from "../../engine/model.js";
import type { RunEventRecord, RunTrigger } from "../records.js";

/** A jsonb column: read parsed, written as an expression (`jsonb(value)`). */
export type Jsonb<T> = ColumnType<T, T, T>;
/** A nullable jsonb column. */
export type NullableJsonb<T> = ColumnType<T | null, T | null | undefined, T | null>;
/** A timestamptz column filled by `default now()`. */
export type CreatedAt = ColumnType<Date, Date | undefined, never>;
/** A nullable timestamptz column. */
export type Timestamp = ColumnType<Date | null, Date | null | undefined, Date | null>;

/** `workflows`: one row per workflow id; soft-deleted with `deleted_at`. */
export interface WorkflowsTable {
  /** The key is (namespace, id) (0007). */
  namespace: string;
  id: string;
  latest_version: number;
  created_at: CreatedAt;
  deleted_at: Timestamp;
}

/** `workflow_versions`: immutable versions, one per distinct spec hash. */
export interface WorkflowVersionsTable {
  namespace: string;
  workflow_id: string;
  version: number;
  spec: Jsonb<JsonValue>;
  def: Jsonb<WorkflowDef>;
  spec_hash: string;
  created_at: CreatedAt;
  /** `def.webhooks` when it lists any URL, else null: generated, for the outbox trigger (0003). */
  hooks: ColumnType<JsonValue | null, never, never>;
}

/** `runs`: one row per run; the id is a time-ordered UUIDv7. */
export interface RunsTable {
  id: string;
  /** The workflow's namespace (0007). */
  namespace: string;
  workflow_id: string;
  workflow_version: number;
  status: RunStatus;
  /** Null when `input_z` holds the input (0012). */
  input: NullableJsonb<JsonValue>;
  output: NullableJsonb<JsonValue>;
  error: NullableJsonb<Failure>;
  idempotency_key: string | null;
  created_at: CreatedAt;
  started_at: Timestamp;
  ended_at: Timestamp;
  deadline_at: Timestamp;
  /** What started the run (0010): `api`, `event` or `schedule`; null for runs started before. */
  trigger: ColumnType<RunTrigger | null, RunTrigger | null | undefined, RunTrigger | null>;
  /** W3C trace context of the trigger span (0005); null when the starting server did not trace. */
  traceparent: ColumnType<string | null, string | null | undefined, string | null>;
  /** A finished run's input, deflated (`packed-json.ts`, 0012); `input` is then null. */
  input_z: ColumnType<Uint8Array | null, never, never>;
}

/** `step_runs`: one row per step of a run, created with the run. */
export interface StepRunsTable {
  run_id: string;
  /** The run's namespace, for the claim index (0007). */
  namespace: string;
  step_id: string;
  action: string;
  status: StepStatus;
  attempts: Generated<number>;
  output: NullableJsonb<JsonValue>;
  error: NullableJsonb<Failure>;
  not_before: Timestamp;
  /** int8: pg returns it as a string, PGlite as a number. */
  lease_token: ColumnType<
    string | number | null,
    bigint | number | string | null | undefined,
    bigint | number | string | null
  >;
  worker_id: string | null;
  created_at: CreatedAt;
  queued_at: Timestamp;
  started_at: Timestamp;
  ended_at: Timestamp;
  /** The rendered input, written when the step is queued (0002). */
  input: NullableJsonb<JsonValue>;
  /** The step's start-to-close timeout, copied from the definition (0002). */
  timeout_ms: ColumnType<string | number | null, number | null | undefined, number | null>;
  /** The step's heartbeat timeout, copied from the definition (0002). */
  heartbeat_timeout_ms: number | null;
  /** When the current attempt times out (0002). */
  deadline_at: Timestamp;
  /** A built-in's durable timer, e.g. when a `delay` step is due (0003). */
  timer_at: Timestamp;
  /** True: `input` is stored without the run input, which the claim adds back (0009). */
  merge_run_input: ColumnType<boolean | null, boolean | null | undefined, boolean | null>;
  /** `worker_id` when it is a UUID in canonical text (0012); `worker_id` is then null. */
  worker_uuid: ColumnType<string | null, string | null | undefined, string | null>;
}

/** `run_events`: the append-only history of every run. */
export interface RunEventsTable {
  /** bigserial: pg returns it as a string, PGlite as a number (or bigint when large). */
  id: ColumnType<string | number | bigint, never, never>;
  run_id: string;
  time: CreatedAt;
  /** Null on rows written since 0012, which keep `type_code` instead; the same for both statuses. */
  type: RunEventRecord["type"] | null;
  run_status: RunStatus | null;
  step_id: string | null;
  step_status: StepStatus | null;
  attempt: number | null;
  worker_id: string | null;
  error: NullableJsonb<Failure>;
  message: string | null;
  /** `weft_code(type)`, a one-byte `"char"` (0012); `weft_name` reads it back. */
  type_code: string | null;
  run_status_code: string | null;
  step_status_code: string | null;
  /** `worker_id` when it is a UUID in canonical text (0012); `worker_id` is then null. */
  worker_uuid: string | null;
}

/** `webhook_deliveries`: the run-webhook outbox, filled by a trigger on `run_events` (0003). */
export interface WebhookDeliveriesTable {
  id: ColumnType<string | number, never, never>;
  run_id: string;
  event_id: string | number;
  kind: "run.finished" | "run.failed" | "step.finished";
  url: string;
  run_status: RunStatus | null;
  step_id: string | null;
  step_status: StepStatus | null;
  step_attempt: number | null;
  error: NullableJsonb<Failure>;
  attempts: Generated<number>;
  next_at: ColumnType<Date, Date | undefined, Date>;
  delivered_at: Timestamp;
  failed_at: Timestamp;
  last_error: string | null;
  created_at: CreatedAt;
}

/** `api_keys`: one row per API key; the secret itself is never stored (0006). */
export interface ApiKeysTable {
  id: string;
  secret_sha256: Buffer | Uint8Array;
  name: string;
  role: string;
  action_patterns: ColumnType<string[], string[] | undefined, string[]>;
  /** The namespaces the key may use; `*` is every one (0007). */
  namespaces: ColumnType<string[], string[] | undefined, string[]>;
  created_by: string | null;
  created_at: CreatedAt;
  revoked_at: Timestamp;
}

/** `audit_events`: mutating and refused calls, newest trimmed by retention (0006). */
export interface AuditEventsTable {
  /** bigserial: pg returns it as a string, PGlite as a number. */
  id: ColumnType<string | number | bigint, never, never>;
  time: CreatedAt;
  key_id: string | null;
  role: string | null;
  procedure: string;
  /** The namespace the call named (0007). */
  namespace: ColumnType<string | null, string | null | undefined, string | null>;
  target: string | null;
  outcome: string;
  peer: string | null;
}

/**
 * Every table Weft keeps.
 *
 * @example
 * ```ts
 * const db = new Kysely<Database>({ dialect });
 * const rows = await db.selectFrom("runs").selectAll().execute();
 * ```
 */
export interface Database {
  workflows: WorkflowsTable;
  workflow_versions: WorkflowVersionsTable;
  runs: RunsTable;
  step_runs: StepRunsTable;
  run_events: RunEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  api_keys: ApiKeysTable;
  audit_events: AuditEventsTable;
}

export type WorkflowVersionRow = Selectable<WorkflowVersionsTable>;
export type RunRow = Selectable<RunsTable>;
export type StepRunRow = Selectable<StepRunsTable>;
export type RunEventRow = Selectable<RunEventsTable>;
/** Insert rows: values or SQL expressions such as `jsonb(value)` and `now()`. */
export type NewRun = InsertObject<Database, "runs">;
export type NewStepRun = InsertObject<Database, "step_runs">;
export type NewRunEvent = InsertObject<Database, "run_events">;
