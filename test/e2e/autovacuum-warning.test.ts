/**
 * The start-up warning about autovacuum: a server on a database where
 * autovacuum does not look after the hot tables (off on this Postgres, or
 * disabled on `step_runs` here) says so once, naming what to do; the
 * embedded server (PGlite, migration 0008 included) starts without it.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresStore } from "../../src/store/db/postgres.js";
import { createTestDatabase, requirePostgres, type TestDatabase } from "../support/db.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";

const hasPostgres = await requirePostgres();

function warnings(server: ServerProcess): string[] {
  return server.logs
    .map((line) => JSON.parse(line) as { level: string | number; msg?: string })
    .filter((e) => (e.level === "warn" || e.level === 40) && e.msg?.includes("autovacuum"))
    .map((e) => e.msg!);
}

describe.skipIf(!hasPostgres)("autovacuum warning at start", () => {
  let db: TestDatabase;
  let globalOff: boolean;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    const store = await createPostgresStore({ url: db.url });
    await store.migrate();
    await store.close();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query("alter table step_runs set (autovacuum_enabled = false)");
    globalOff = (await client.query("show autovacuum")).rows[0].autovacuum === "off";
    await client.end();
  }, 60_000);

  afterAll(async () => {
    for (const s of servers) await s.stop();
    await db?.drop();
  }, 60_000);

  it("names the table whose autovacuum is disabled, once, and the docs", async () => {
    const server = await startServerProcess({ env: { DATABASE_URL: db.url } });
    servers.push(server);
    const said = warnings(server);
    expect(said).toHaveLength(1);
    expect(said[0]).toContain("autovacuum is disabled on step_runs");
    expect(said[0]).toContain("docs/operations.md#autovacuum");
    expect(said[0]!.includes("autovacuum is off in this Postgres")).toBe(globalOff);
  }, 90_000);

  it("says nothing of it in embedded mode", async () => {
    const server = await startServerProcess({ env: { DATABASE_URL: undefined, REDIS_URL: undefined } });
    servers.push(server);
    expect(warnings(server)).toEqual([]);
  }, 90_000);
});
