/**
 * Migration 0008 on both backends: the hot tables carry their autovacuum
 * settings (PGlite accepts and keeps them too), and rolling it back removes them.
 */
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import type { KyselyStore } from "../../src/store/kysely-store.js";
import { migration0008, TABLE_HEALTH } from "../../src/store/migrations/0008-table-health.js";
import { requirePostgres } from "../support/db.js";
import { backends, useMigratedStore } from "../support/execution.js";

const hasPostgres = await requirePostgres();

/** Each hot table's autovacuum settings (other storage parameters, such as 0013's `parallel_workers`, left out). */
async function reloptions(store: KyselyStore): Promise<Record<string, Record<string, number>>> {
  const { rows } = await sql<{ relname: string; reloptions: string[] | null }>`
    select relname, reloptions from pg_class
    where relname in (${sql.join(Object.keys(TABLE_HEALTH))}) and relkind = 'r'
  `.execute(store.db);
  return Object.fromEntries(
    rows.map((r) => [
      r.relname,
      Object.fromEntries(
        (r.reloptions ?? [])
          .map((o) => o.split("="))
          .filter(([k]) => k!.startsWith("autovacuum_"))
          .map(([k, v]) => [k!, Number(v)]),
      ),
    ]),
  );
}

describe.each(backends(hasPostgres))("table health settings on $name", ({ skip, fresh }) => {
  let store: KyselyStore;
  useMigratedStore({ skip, fresh }, (_db, s) => (store = s));

  it.skipIf(skip)("sets each hot table's autovacuum parameters, and resets them on the way down", async () => {
    expect(await reloptions(store)).toEqual(TABLE_HEALTH);
    await migration0008.down!(store.db as never);
    expect(await reloptions(store)).toEqual(Object.fromEntries(Object.keys(TABLE_HEALTH).map((t) => [t, {}])));
    await migration0008.up(store.db as never);
    expect(await reloptions(store)).toEqual(TABLE_HEALTH);
  });
});
