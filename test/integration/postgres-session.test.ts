/**
 * The settings Weft gives each of its Postgres connections: `jit` off, so a
 * short statement the planner overestimates (once statistics say a table
 * is large) is not compiled for longer than it runs (docs/operations.md).
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresStore } from "../../src/store/db/postgres.js";
import type { KyselyStore } from "../../src/store/kysely-store.js";
import { createTestDatabase, requirePostgres, type TestDatabase } from "../support/db.js";

const hasPostgres = await requirePostgres();

describe.skipIf(!hasPostgres)("Postgres connections", () => {
  let db: TestDatabase;
  let store: KyselyStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    // The database's own default says on: the connections must say off anyway.
    await createPostgresStore({ url: db.url }).then(async (s) => {
      await sql.raw(`alter database "${new URL(db.url).pathname.slice(1)}" set jit = on`).execute(s.db);
      await s.close();
    });
    store = await createPostgresStore({ url: db.url, maxConnections: 3 });
  });

  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it("run with jit off, on every connection of the pool", async () => {
    const settings = await Promise.all(
      Array.from({ length: 3 }, () =>
        store.db.transaction().execute(async (trx) => {
          const { rows } = await sql<{
            jit: string;
            pid: number;
          }>`select current_setting('jit') as jit, pg_backend_pid() as pid`.execute(trx);
          await sql`select pg_sleep(0.05)`.execute(trx);
          return rows[0]!;
        }),
      ),
    );
    expect(new Set(settings.map((s) => s.pid)).size).toBe(3);
    expect(settings.map((s) => s.jit)).toEqual(["off", "off", "off"]);
  });
});
