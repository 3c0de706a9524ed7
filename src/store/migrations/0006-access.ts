/**
 * Migration 0006: who may call Weft.
 *
 * - `api_keys`: one row per key. Only a SHA-256 of the secret is kept (the
 *   secret has 256 bits of entropy, so a slow hash would add nothing); `id`
 *   is the public part of the key, shown in listings and the audit trail.
 * - `audit_events`: every mutating call and every refused call, appended by
 *   the server and trimmed by its retention loop (`audit_events_time`).
 */
import { sql, type Kysely, type Migration } from "kysely";

/**
 * The key and audit tables.
 *
 * @example
 * ```ts
 * const MIGRATIONS = { ..., "0006_access": migration0006 };
 * ```
 */
export const migration0006: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`
      create table api_keys (
        id text primary key,
        secret_sha256 bytea not null,
        name text not null,
        role text not null,
        action_patterns text[] not null default '{}',
        created_by text,
        created_at timestamptz not null default now(),
        revoked_at timestamptz
      )`.execute(db);
    await sql`
      create table audit_events (
        id bigserial primary key,
        time timestamptz not null default now(),
        key_id text,
        role text,
        procedure text not null,
        target text,
        outcome text not null,
        peer text
      )`.execute(db);
    await sql`create index audit_events_time on audit_events (time)`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await sql`drop table audit_events`.execute(db);
    await sql`drop table api_keys`.execute(db);
  },
};
