/**
 * Workflow definitions: create (versioned by spec hash), read, list, soft-delete.
 *
 * Every function takes a `Kysely<Database>`; pass a transaction to compose.
 */
import { sql, type Kysely } from "kysely";
import { jsonb } from "../db/json.js";
import { toWorkflowRecord } from "./mappers.js";
import { decodePageToken, encodePageToken, pageLimit, WORKFLOW_ID_PATTERN } from "./page-token.js";
import type { Database } from "../db/schema.js";
import type { CreateWorkflowInput, Page, WorkflowRecord } from "../types.js";

/**
 * Creates a workflow version unless one with the same spec hash exists.
 *
 * Strategy: `INSERT ... ON CONFLICT (id) DO UPDATE` both creates the
 * `workflows` row and row-locks it, so concurrent creates of one id queue
 * behind each other; each then looks for its spec hash with a fresh (read
 * committed) snapshot and finds the version the first one committed. A
 * re-create of a deleted workflow makes it live again, reusing the version
 * whose hash matches or appending a new one.
 *
 * @example
 * ```ts
 * const { workflow, created } = await createWorkflow(db, { id, spec, def, specHash });
 * ```
 */
export function createWorkflow(
  db: Kysely<Database>,
  input: CreateWorkflowInput,
): Promise<{ workflow: WorkflowRecord; created: boolean }> {
  return db.transaction().execute(async (trx) => {
    const head = await trx
      .insertInto("workflows")
      .values({ namespace: input.namespace, id: input.id, latest_version: 0 })
      .onConflict((oc) =>
        oc.columns(["namespace", "id"]).doUpdateSet((eb) => ({ latest_version: eb.ref("workflows.latest_version") })),
      )
      .returning(["latest_version", "deleted_at"])
      .executeTakeFirstOrThrow();

    const existing = await trx
      .selectFrom("workflow_versions")
      .selectAll()
      .where("namespace", "=", input.namespace)
      .where("workflow_id", "=", input.id)
      .where("spec_hash", "=", input.specHash)
      .executeTakeFirst();
    if (existing !== undefined) {
      if (head.deleted_at !== null) {
        await trx
          .updateTable("workflows")
          .set({ deleted_at: null })
          .where("namespace", "=", input.namespace)
          .where("id", "=", input.id)
          .execute();
      }
      return { workflow: toWorkflowRecord({ ...existing, deleted_at: null }), created: false };
    }

    const version = head.latest_version + 1;
    const row = await trx
      .insertInto("workflow_versions")
      .values({
        namespace: input.namespace,
        workflow_id: input.id,
        version,
        spec: jsonb(input.spec),
        def: jsonb(input.def),
        spec_hash: input.specHash,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .updateTable("workflows")
      .set({ latest_version: version, deleted_at: null })
      .where("namespace", "=", input.namespace)
      .where("id", "=", input.id)
      .execute();
    return { workflow: toWorkflowRecord({ ...row, deleted_at: null }), created: true };
  });
}

/** Live workflows of a namespace joined with one of their versions (the latest unless narrowed). */
function liveVersions(db: Kysely<Database>, namespace: string) {
  return db
    .selectFrom("workflows as w")
    .innerJoin("workflow_versions as v", (join) =>
      join.onRef("v.namespace", "=", "w.namespace").onRef("v.workflow_id", "=", "w.id"),
    )
    .selectAll("v")
    .select("w.deleted_at")
    .where("w.namespace", "=", namespace)
    .where("w.deleted_at", "is", null);
}

/**
 * A live workflow at `version`, or at its latest version when `version` is 0 or absent.
 *
 * @example
 * ```ts
 * const latest = await getWorkflow(db, "default", "billing");
 * const v2 = await getWorkflow(db, "default", "billing", 2);
 * ```
 */
export async function getWorkflow(
  db: Kysely<Database>,
  namespace: string,
  id: string,
  version?: number,
): Promise<WorkflowRecord | undefined> {
  let query = liveVersions(db, namespace).where("w.id", "=", id);
  query = version ? query.where("v.version", "=", version) : query.whereRef("v.version", "=", "w.latest_version");
  const row = await query.executeTakeFirst();
  return row && toWorkflowRecord(row);
}

/**
 * Version numbers of a live workflow, ascending; empty when it is unknown or deleted.
 *
 * @example
 * ```ts
 * const versions = await listWorkflowVersions(db, "default", "billing"); // [1, 2]
 * ```
 */
export async function listWorkflowVersions(db: Kysely<Database>, namespace: string, id: string): Promise<number[]> {
  const rows = await liveVersions(db, namespace).where("w.id", "=", id).orderBy("v.version").execute();
  return rows.map((r) => r.version);
}

/**
 * The latest version of each live workflow, ordered by id, keyset-paged
 * (the token is the base64url of the last id).
 *
 * @throws InvalidPageTokenError for a token this function did not make.
 * @example
 * ```ts
 * const page = await listWorkflows(db, { namespace: "default", pageSize: 100, pageToken: previous.next });
 * ```
 */
export async function listWorkflows(
  db: Kysely<Database>,
  opts: { namespace: string; pageSize: number; pageToken?: string },
): Promise<Page<WorkflowRecord>> {
  const after = decodePageToken(opts.pageToken, WORKFLOW_ID_PATTERN);
  const limit = pageLimit(opts.pageSize);
  let query = liveVersions(db, opts.namespace).whereRef("v.version", "=", "w.latest_version");
  if (after !== undefined) query = query.where("w.id", ">", after);
  const rows = await query
    .orderBy("w.id")
    .limit(limit + 1)
    .execute();
  const items = rows.slice(0, limit).map(toWorkflowRecord);
  const last = items.at(-1);
  return rows.length > limit && last ? { items, next: encodePageToken(last.id) } : { items };
}

/**
 * Soft-deletes a workflow: it disappears from get, list and trigger; runs keep going.
 *
 * @example
 * ```ts
 * if (!(await deleteWorkflow(db, "default", "billing"))) throw notFound();
 * ```
 */
export async function deleteWorkflow(db: Kysely<Database>, namespace: string, id: string): Promise<boolean> {
  const row = await db
    .updateTable("workflows")
    .set({ deleted_at: sql<Date>`now()` })
    .where("namespace", "=", namespace)
    .where("id", "=", id)
    .where("deleted_at", "is", null)
    .returning("id")
    .executeTakeFirst();
  return row !== undefined;
}
