/**
 * API keys and the audit trail (tables of migration 0006). Keys are few and
 * read through the authenticator's cache; audit rows are appended in
 * batches by the server's audit writer and trimmed by its retention loop.
 */
import { sql, type Kysely } from "kysely";
import { decodePageToken, encodePageToken, pageLimit } from "../reads/page-token.js";
import type { Database } from "../db/schema.js";
import type { AccessStore, ApiKeyRecord, AuditEventRecord, AuditFilter, AuditPage } from "../access-types.js";

const AUDIT_ID = /^[0-9]{1,19}$/;
const DENIED = ["unauthenticated", "permission_denied", "resource_exhausted"];

/**
 * @example
 *   const access = createAccessStore(db);
 *   await access.createKey({ id, sha256, name: "ci", role: "developer", actionPatterns: [], namespaces: ["default"] });
 */
export function createAccessStore(db: Kysely<Database>): AccessStore {
  return {
    async createKey(row) {
      const inserted = await db
        .insertInto("api_keys")
        .values({
          id: row.id,
          secret_sha256: row.sha256,
          name: row.name,
          role: row.role,
          action_patterns: row.actionPatterns,
          namespaces: row.namespaces,
          created_by: row.createdBy ?? null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return keyRecord(inserted);
    },
    async listKeys() {
      const rows = await db.selectFrom("api_keys").selectAll().orderBy("created_at", "desc").orderBy("id").execute();
      return rows.map(keyRecord);
    },
    async findKey(id) {
      const row = await db.selectFrom("api_keys").selectAll().where("id", "=", id).executeTakeFirst();
      return row && keyRecord(row);
    },
    async revokeKey(id) {
      const row = await db
        .updateTable("api_keys")
        .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirst();
      return row && keyRecord(row);
    },
    async countKeys() {
      const row = await db
        .selectFrom("api_keys")
        .select((eb) => eb.fn.countAll<string | number>().as("n"))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async appendAudit(events) {
      if (events.length === 0) return;
      await db
        .insertInto("audit_events")
        .values(
          events.map((e) => ({
            key_id: e.keyId ?? null,
            role: e.role ?? null,
            procedure: e.procedure,
            namespace: e.namespace ?? null,
            target: e.target ?? null,
            outcome: e.outcome,
            peer: e.peer ?? null,
          })),
        )
        .execute();
    },
    listAudit: (filter) => listAudit(db, filter),
    async purgeAudit(before, limit) {
      const result = await db
        .deleteFrom("audit_events")
        .where(
          "id",
          "in",
          db.selectFrom("audit_events").select("id").where("time", "<", before).orderBy("time").limit(limit),
        )
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

async function listAudit(db: Kysely<Database>, f: AuditFilter): Promise<AuditPage> {
  const limit = pageLimit(f.pageSize);
  const after = decodePageToken(f.pageToken, AUDIT_ID);
  let q = db.selectFrom("audit_events").selectAll();
  if (after !== undefined) q = q.where("id", "<", after);
  if (f.since !== undefined) q = q.where("time", ">=", f.since);
  if (f.before !== undefined) q = q.where("time", "<", f.before);
  if (f.keyId) q = q.where("key_id", "=", f.keyId);
  if (f.procedure) {
    q = f.procedure.startsWith("/")
      ? q.where("procedure", "=", f.procedure)
      : q.where("procedure", "like", `%/${f.procedure.replace(/[\\%_]/g, (c) => `\\${c}`)}`);
  }
  if (f.deniedOnly) q = q.where("outcome", "in", DENIED);
  const rows = await q
    .orderBy("id", "desc")
    .limit(limit + 1)
    .execute();
  const items = rows.slice(0, limit).map((r): AuditEventRecord => ({
    id: BigInt(r.id),
    time: r.time,
    procedure: r.procedure,
    outcome: r.outcome,
    ...(r.key_id === null ? {} : { keyId: r.key_id }),
    ...(r.role === null ? {} : { role: r.role }),
    ...(r.namespace === null ? {} : { namespace: r.namespace }),
    ...(r.target === null ? {} : { target: r.target }),
    ...(r.peer === null ? {} : { peer: r.peer }),
  }));
  const last = items.at(-1);
  return {
    items,
    ...(rows.length > limit && last ? { next: encodePageToken(String(last.id)) } : {}),
  };
}

function keyRecord(row: {
  id: string;
  secret_sha256: Uint8Array;
  name: string;
  role: string;
  action_patterns: string[];
  namespaces: string[];
  created_by: string | null;
  created_at: Date;
  revoked_at: Date | null;
}): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    actionPatterns: row.action_patterns,
    namespaces: row.namespaces,
    createdAt: row.created_at,
    sha256: row.secret_sha256,
    ...(row.created_by === null ? {} : { createdBy: row.created_by }),
    ...(row.revoked_at === null ? {} : { revokedAt: row.revoked_at }),
  };
}
