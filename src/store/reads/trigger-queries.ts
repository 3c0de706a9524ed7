/**
 * Reads for the triggers that start runs besides TriggerWorkflow: which live
 * workflows listen for an event, and which carry cron schedules. Both look at
 * the latest version of each live (not deleted) workflow only, so deleting a
 * workflow, or a new version that drops an event or a schedule, stops it.
 */
import { sql, type Kysely } from "kysely";
import type { WorkflowDef } from "../../engine/model.js";
import type { LiveWorkflow } from "../records.js";
import type { Database } from "../db/schema.js";

/**
 * Live workflows whose latest version lists `name` in `on.events` or in
 * `on.eventTriggers` (jsonb containment on the stored definition).
 *
 * @example
 * ```ts
 * const listeners = await eventListeners(db, "default", "order.created");
 * ```
 */
export async function eventListeners(db: Kysely<Database>, namespace: string, name: string): Promise<LiveWorkflow[]> {
  const rows = await latestLive(db)
    .where("w.namespace", "=", namespace)
    .where((eb) =>
      eb.or([
        eb(sql`v.def -> 'on' -> 'events'`, "@>", sql`jsonb_build_array(cast(${name} as text))`),
        eb(
          sql`v.def -> 'on' -> 'eventTriggers'`,
          "@>",
          sql`jsonb_build_array(jsonb_build_object('name', cast(${name} as text)))`,
        ),
      ]),
    )
    .execute();
  return rows.map(toLive);
}

/**
 * Live workflows whose latest version has at least one cron schedule.
 *
 * @example
 * ```ts
 * for (const wf of await scheduledWorkflows(db)) console.log(wf.def.on.schedules);
 * ```
 */
export async function scheduledWorkflows(db: Kysely<Database>): Promise<LiveWorkflow[]> {
  const rows = await latestLive(db)
    .where(sql<boolean>`jsonb_array_length(coalesce(v.def -> 'on' -> 'schedules', '[]'::jsonb)) > 0`)
    .execute();
  return rows.map(toLive);
}

function latestLive(db: Kysely<Database>) {
  return db
    .selectFrom("workflows as w")
    .innerJoin("workflow_versions as v", (j) =>
      j
        .onRef("v.namespace", "=", "w.namespace")
        .onRef("v.workflow_id", "=", "w.id")
        .onRef("v.version", "=", "w.latest_version"),
    )
    .select(["v.namespace", "v.workflow_id", "v.version", "v.def", "v.created_at"])
    .where("w.deleted_at", "is", null)
    .orderBy("v.namespace")
    .orderBy("v.workflow_id");
}

function toLive(row: {
  namespace: string;
  workflow_id: string;
  version: number;
  def: WorkflowDef;
  created_at: Date;
}): LiveWorkflow {
  return {
    namespace: row.namespace,
    workflowId: row.workflow_id,
    version: row.version,
    def: row.def,
    createdAt: row.created_at,
  };
}
