/**
 * `isDatabaseUnavailable` on the errors node-postgres really raises: a
 * refused connection and a terminated backend are "retry later", a bad
 * statement on a reachable database is not.
 */
import pg from "pg";
import { describe, expect, it } from "vitest";
import { isDatabaseUnavailable } from "../../src/store/db/unavailable.js";
import { postgresUrl, requirePostgres } from "../support/db.js";
import { freePort } from "../support/free-port.js";

const hasPostgres = await requirePostgres();

async function failure(work: () => Promise<unknown>): Promise<unknown> {
  return work().then(
    () => {
      throw new Error("expected a failure");
    },
    (err: unknown) => err,
  );
}

describe.skipIf(!hasPostgres)("isDatabaseUnavailable", () => {
  it("is true for a refused connection, through the pool and wrapped as a cause", async () => {
    const pool = new pg.Pool({
      connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/postgres`,
      connectionTimeoutMillis: 2_000,
    });
    const err = await failure(() => pool.query("select 1"));
    await pool.end();
    expect(isDatabaseUnavailable(err)).toBe(true);
    expect(isDatabaseUnavailable(new Error("migration (setup) failed", { cause: err }))).toBe(true);
  });

  it("is true for a backend terminated by an administrator (57P01), false for a bad statement", async () => {
    const client = new pg.Client({ connectionString: postgresUrl() });
    client.on("error", () => undefined);
    await client.connect();
    const syntax = await failure(() => client.query("selec 1"));
    expect(isDatabaseUnavailable(syntax)).toBe(false);
    expect(isDatabaseUnavailable(await failure(() => client.query("select 1/0")))).toBe(false);
    const pid = ((await client.query("select pg_backend_pid() as pid")).rows[0] as { pid: number }).pid;
    const admin = new pg.Client({ connectionString: postgresUrl() });
    await admin.connect();
    await admin.query("select pg_terminate_backend($1)", [pid]);
    await admin.end();
    const terminated = await failure(() => client.query("select pg_sleep(0)"));
    expect(isDatabaseUnavailable(terminated)).toBe(true);
    await client.end().catch(() => undefined);
  });
});
