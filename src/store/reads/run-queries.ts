/**
 * Reading runs: one run with its steps, pages of runs (newest first), a run's history.
 *
 * A malformed run id (not a UUID) is simply unknown here: Postgres would
 * reject it as `uuid` input, and the API layer refuses it before it arrives.
 */
import { sql, type Kysely } from "kysely";
import type { RunStatus } from "../../engine/model.js";
import { toRunEventRecord, toRunRecord, toStepRunRecord } from "./mappers.js";
import { mergeRunInput, runInput } from "../db/packed-json.js";
import { decodePageToken, encodePageToken, pageLimit, RUN_ID_PATTERN } from "./page-token.js";
import type { Database, StepRunRow } from "../db/schema.js";
import type { Page, RunEventRecord, RunRecord, StepRunRecord } from "../types.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Runs with `has_output`, telling a JSON `null` output from none. */
function runs(db: Kysely<Database>) {
  return db
    .selectFrom("runs")
    .selectAll("runs")
    .select(sql<boolean>`runs.output is not null`.as("has_output"));
}

/** A step row as `getRun` reads it: one JSON object per step (timestamps as ISO text). */
interface StepJson {
  step_id: string;
  action: string;
  status: StepRunRow["status"];
  attempts: number;
  output: StepRunRow["output"];
  has_output: boolean;
  input: StepRunRow["input"];
  has_input: boolean;
  /** The input was stored without the run input, and the run keeps its input deflated: put it back here. */
  merge: boolean;
  error: StepRunRow["error"];
  worker_id: string | null;
  created_at: string;
  queued_at: string | null;
  started_at: string | null;
  ended_at: string | null;
}

const dateOrNull = (t: string | null): Date | null => (t === null ? null : new Date(t));

/**
 * A run with its steps in the order of the workflow definition (steps the
 * definition does not name come last, by id).
 *
 * One statement (the steps come as one JSON array): one round trip instead
 * of two, and run and steps are read under one snapshot.
 *
 * @example
 * ```ts
 * const run = await getRun(db, runId);
 * if (!run) throw notFound(runId);
 * ```
 */
export async function getRun(db: Kysely<Database>, id: string): Promise<RunRecord | undefined> {
  if (!UUID.test(id)) return undefined;
  const row = await runs(db)
    .leftJoin("workflow_versions as v", (join) =>
      join
        .onRef("v.namespace", "=", "runs.namespace")
        .onRef("v.workflow_id", "=", "runs.workflow_id")
        .onRef("v.version", "=", "runs.workflow_version"),
    )
    // Only the step ids of the definition, in order: `def` itself may be large.
    .select(sql<string[] | null>`jsonb_path_query_array(v.def, '$.steps[*].id')`.as("step_order"))
    .select(
      sql<StepJson[]>`(
        select coalesce(json_agg(json_build_object(
                 'step_id', s.step_id, 'action', s.action, 'status', s.status, 'attempts', s.attempts,
                 'output', s.output, 'has_output', s.output is not null, 'error', s.error, 'worker_id', coalesce(s.worker_id, s.worker_uuid::text),
                 'input', case when s.merge_run_input and runs.input_z is null then s.input || jsonb_build_object('input', runs.input) else s.input end,
                 'has_input', s.input is not null, 'merge', coalesce(s.merge_run_input and runs.input_z is not null, false),
                 'created_at', s.created_at, 'queued_at', s.queued_at, 'started_at', s.started_at, 'ended_at', s.ended_at
               ) order by s.step_id), '[]'::json)
        from step_runs s where s.run_id = runs.id)`.as("steps"),
    )
    .where("runs.id", "=", id)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  const input = runInput(row);
  const steps = row.steps.map((s) => ({
    ...toStepRunRecord({
      ...s,
      created_at: new Date(s.created_at),
      queued_at: dateOrNull(s.queued_at),
      started_at: dateOrNull(s.started_at),
      ended_at: dateOrNull(s.ended_at),
    }),
    ...(s.has_input && s.input !== null ? { input: s.merge ? mergeRunInput(s.input, input) : s.input } : {}),
  }));
  return toRunRecord({ ...row, input, input_z: null }, inDefinitionOrder(steps, row.step_order ?? []));
}

function inDefinitionOrder(steps: StepRunRecord[], order: string[]): StepRunRecord[] {
  const position = new Map(order.map((stepId, i) => [stepId, i]));
  const rank = (s: StepRunRecord) => position.get(s.stepId) ?? order.length;
  // Array.prototype.sort is stable: ties (unknown steps) keep their step_id order.
  return steps.sort((a, b) => rank(a) - rank(b));
}

/**
 * Runs newest first (UUIDv7 ids are time-ordered), optionally filtered,
 * keyset-paged by id; `steps` is empty on each.
 *
 * @throws InvalidPageTokenError for a token this function did not make.
 * @example
 * ```ts
 * const page = await listRuns(db, { namespace: "default", workflowId: "billing", status: "FAILED", pageSize: 50 });
 * ```
 */
export async function listRuns(
  db: Kysely<Database>,
  opts: { namespace: string; workflowId?: string; status?: RunStatus; pageSize: number; pageToken?: string },
): Promise<Page<RunRecord>> {
  const after = decodePageToken(opts.pageToken, RUN_ID_PATTERN);
  const limit = pageLimit(opts.pageSize);
  let query = runs(db).where("runs.namespace", "=", opts.namespace);
  if (opts.workflowId !== undefined) query = query.where("runs.workflow_id", "=", opts.workflowId);
  if (opts.status !== undefined) query = query.where("runs.status", "=", opts.status);
  if (after !== undefined) query = query.where("runs.id", "<", after);
  const rows = await query
    .orderBy("runs.id", "desc")
    .limit(limit + 1)
    .execute();
  const items = rows.slice(0, limit).map((row) => toRunRecord(row));
  const last = items.at(-1);
  return rows.length > limit && last ? { items, next: encodePageToken(last.id) } : { items };
}

/**
 * Every history event of a run, oldest first.
 *
 * @example
 * ```ts
 * for (const event of await getRunHistory(db, runId)) console.log(event.type, event.stepId);
 * ```
 */
export async function getRunHistory(db: Kysely<Database>, runId: string): Promise<RunEventRecord[]> {
  if (!UUID.test(runId)) return [];
  const rows = await db.selectFrom("run_events").selectAll().where("run_id", "=", runId).orderBy("id").execute();
  return rows.map(toRunEventRecord);
}
