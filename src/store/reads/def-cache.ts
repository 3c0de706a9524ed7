/**
 * Workflow definitions by (namespace, workflow id, version), kept in memory.
 *
 * Versions are immutable, so a cached definition never goes stale; the hot
 * paths (trigger, complete, retry) then read no `def` jsonb once warm. A miss
 * costs one query for all missing versions of a batch. The cache holds at most
 * `max` entries and forgets the least recently added first.
 *
 * It also remembers each workflow's latest version as last read
 * (`noteLatest`). That one can go stale (a new version, a delete, on any
 * replica), so it is only a guess for the trigger path to plan with: the
 * trigger statement checks it and inserts nothing when it was wrong.
 */
import type { Kysely } from "kysely";
import type { WorkflowDef } from "../../engine/model.js";
import type { Database } from "../db/schema.js";

export interface DefKey {
  namespace: string;
  workflowId: string;
  version: number;
}

/** A workflow's key in maps (here and the trigger path's): its namespace and id. */
export const workflowKey = (w: { namespace: string; workflowId: string }): string =>
  `${w.namespace}\u0000${w.workflowId}`;
const keyOf = (namespace: string, workflowId: string, version: number) =>
  `${workflowKey({ namespace, workflowId })}\u0000${version}`;

/**
 * @example
 * ```ts
 * const defs = new DefCache();
 * await defs.load(trx, [{ namespace: "default", workflowId: "billing", version: 3 }]);
 * const def = defs.get("default", "billing", 3);
 * ```
 */
export class DefCache {
  readonly #defs = new Map<string, WorkflowDef>();
  readonly #latest = new Map<string, number>();

  constructor(private readonly max = 1_000) {}

  /** A cached definition, or undefined. */
  get(namespace: string, workflowId: string, version: number): WorkflowDef | undefined {
    return this.#defs.get(keyOf(namespace, workflowId, version));
  }

  /** The latest version of the workflow when it was last read, or undefined. */
  latest(namespace: string, workflowId: string): number | undefined {
    return this.#latest.get(workflowKey({ namespace, workflowId }));
  }

  /** Remembers the latest version just read (undefined: the workflow is gone). */
  noteLatest(namespace: string, workflowId: string, version: number | undefined): void {
    const key = workflowKey({ namespace, workflowId });
    if (version === undefined) this.#latest.delete(key);
    else if (this.#latest.has(key) || this.#latest.size < this.max) this.#latest.set(key, version);
  }

  /** Caches a definition read elsewhere (e.g. with its version row). */
  put(namespace: string, workflowId: string, version: number, def: WorkflowDef): void {
    const key = keyOf(namespace, workflowId, version);
    if (this.#defs.has(key)) return;
    if (this.#defs.size >= this.max) {
      const oldest = this.#defs.keys().next();
      if (!oldest.done) this.#defs.delete(oldest.value);
    }
    this.#defs.set(key, def);
  }

  /**
   * Makes sure every key is cached, reading the missing ones in one query.
   * Keys with no version row stay missing (`get` returns undefined).
   */
  async load(db: Kysely<Database>, keys: readonly DefKey[]): Promise<void> {
    const missing = new Map<string, DefKey>();
    for (const k of keys) {
      const key = keyOf(k.namespace, k.workflowId, k.version);
      if (!this.#defs.has(key)) missing.set(key, k);
    }
    if (missing.size === 0) return;
    const rows = await db
      .selectFrom("workflow_versions")
      .select(["namespace", "workflow_id", "version", "def"])
      .where((eb) =>
        eb(
          eb.refTuple("namespace", "workflow_id", "version"),
          "in",
          [...missing.values()].map((k) => eb.tuple(k.namespace, k.workflowId, k.version)),
        ),
      )
      .execute();
    for (const row of rows) this.put(row.namespace, row.workflow_id, row.version, row.def);
  }
}
