/**
 * Which workflow versions a trigger batch plans against: the ones the
 * definition cache believes current (`cachedVersions`, no query), or the ones
 * read from the database (`loadVersions`, one query plus one for definitions
 * not cached yet). The trigger statement checks the cache's belief; see
 * `trigger-runs.ts`.
 */
import type { Kysely } from "kysely";
import { workflowKey, type DefCache } from "../reads/def-cache.js";
import type { TriggerInput } from "../records.js";
import type { Database } from "../db/schema.js";

/** Per workflow (keyed by `workflowKey`), its latest version and the pinned ones that exist. */
export type Versions = Map<string, { latest: number; versions: Set<number> }>;

/**
 * The versions as the cache believes them, or undefined if it does not know
 * every workflow of the batch (or a definition is not cached).
 *
 * @example
 * ```ts
 * const versions = cachedVersions(inputs, defs) ?? (await loadVersions(db, inputs, defs));
 * ```
 */
export function cachedVersions(inputs: TriggerInput[], defs: DefCache): Versions | undefined {
  const versions: Versions = new Map();
  for (const input of inputs) {
    const key = workflowKey(input);
    let entry = versions.get(key);
    if (entry === undefined) {
      const latest = defs.latest(input.namespace, input.workflowId);
      if (latest === undefined || defs.get(input.namespace, input.workflowId, latest) === undefined) return undefined;
      versions.set(key, (entry = { latest, versions: new Set([latest]) }));
    }
    if (input.version) {
      if (defs.get(input.namespace, input.workflowId, input.version) === undefined) return undefined;
      entry.versions.add(input.version);
    }
  }
  return versions;
}

/**
 * One query for every distinct workflow of the batch: each live workflow's
 * latest version plus any pinned versions asked for. Notes each latest
 * version in the cache and caches the definitions it lacked.
 *
 * @example
 * ```ts
 * const versions = await loadVersions(trx, inputs, defs);
 * ```
 */
export async function loadVersions(db: Kysely<Database>, inputs: TriggerInput[], defs: DefCache): Promise<Versions> {
  const workflows = [...new Map(inputs.map((i) => [workflowKey(i), i])).values()];
  const pinned = [...new Set(inputs.map((i) => i.version ?? 0).filter((v) => v > 0))];
  const rows = await db
    .selectFrom("workflows as w")
    .innerJoin("workflow_versions as v", (j) =>
      j.onRef("v.namespace", "=", "w.namespace").onRef("v.workflow_id", "=", "w.id"),
    )
    .select(["w.namespace", "w.id", "w.latest_version", "v.version"])
    .where((eb) =>
      eb(
        eb.refTuple("w.namespace", "w.id"),
        "in",
        workflows.map((w) => eb.tuple(w.namespace, w.workflowId)),
      ),
    )
    .where("w.deleted_at", "is", null)
    .where((eb) => {
      const latest = eb("v.version", "=", eb.ref("w.latest_version"));
      return pinned.length === 0 ? latest : eb.or([latest, eb("v.version", "in", pinned)]);
    })
    .execute();
  const versions: Versions = new Map();
  for (const row of rows) {
    const key = workflowKey({ namespace: row.namespace, workflowId: row.id });
    let entry = versions.get(key);
    if (entry === undefined) versions.set(key, (entry = { latest: row.latest_version, versions: new Set() }));
    entry.versions.add(row.version);
  }
  for (const w of workflows) defs.noteLatest(w.namespace, w.workflowId, versions.get(workflowKey(w))?.latest);
  // Definitions are immutable per version: read only the ones not cached yet.
  await defs.load(
    db,
    rows.map((r) => ({ namespace: r.namespace, workflowId: r.id, version: r.version })),
  );
  return versions;
}
