/**
 * Repeated statements as prepared statements (src/store/db/pg-prepared.ts),
 * against a real Postgres: when a text gets a name, that the cap holds, and
 * that a connection drops and remakes its statements after `replanMs`.
 */
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { preparingPool } from "../../src/store/db/pg-prepared.js";
import { postgresUrl, requirePostgres } from "../support/db.js";

const hasPostgres = await requirePostgres();

describe.skipIf(!hasPostgres)("prepared statements on Postgres", () => {
  let db: Kysely<unknown> | undefined;
  afterEach(async () => {
    await db?.destroy();
    db = undefined;
  });

  /** One connection, so the session's `pg_prepared_statements` is the pool's. */
  function open(options: Parameters<typeof preparingPool>[1]): Kysely<unknown> {
    db = new Kysely<unknown>({
      dialect: new PostgresDialect({
        pool: preparingPool(new pg.Pool({ connectionString: postgresUrl(), max: 1 }), options),
      }),
    });
    return db;
  }

  async function prepared(k: Kysely<unknown>): Promise<Array<{ name: string; statement: string; prepare_time: Date }>> {
    const result = await sql<{ name: string; statement: string; prepare_time: Date }>`
      select name, statement, prepare_time from pg_prepared_statements where name like 'weft\_%' order by prepare_time`.execute(
      k,
    );
    return result.rows;
  }

  const plusOne = (k: Kysely<unknown>, n: number) =>
    sql<{ n: number }>`select ${n}::int + 1 as n`.execute(k).then((r) => r.rows[0]?.n);

  it("names a text after `after` executions and keeps answering", async () => {
    const k = open({ after: 3 });
    expect(await plusOne(k, 1)).toBe(2);
    expect(await plusOne(k, 2)).toBe(3);
    expect(await prepared(k)).toEqual([]);
    expect(await plusOne(k, 3)).toBe(4);
    expect(await plusOne(k, 40)).toBe(41);
    const rows = await prepared(k);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.name).toMatch(/^weft_[0-9a-f]{24}$/);
    expect(rows[0]?.statement).toContain("+ 1 as n");
  });

  it("names no more than `max` texts", async () => {
    const k = open({ after: 1, max: 2 });
    await sql`select 1 as a`.execute(k);
    await sql`select 2 as b`.execute(k);
    await sql`select 3 as c`.execute(k);
    await sql`select 3 as c`.execute(k);
    expect((await prepared(k)).map((r) => r.statement)).toEqual(["select 1 as a", "select 2 as b"]);
  });

  it("fails once, not until the next replan, when a table changes shape under a prepared statement", async () => {
    const k = open({ after: 1, max: 4 });
    const table = `prep_${Math.random().toString(36).slice(2, 10)}`;
    await sql`create table ${sql.table(table)} (a int)`.execute(k);
    try {
      await sql`insert into ${sql.table(table)} values (1)`.execute(k);
      const all = () => sql<Record<string, number>>`select * from ${sql.table(table)}`.execute(k).then((r) => r.rows);
      expect(await all()).toEqual([{ a: 1 }]);
      await sql`alter table ${sql.table(table)} add column b int default 2`.execute(k);
      await expect(all()).rejects.toThrow(/cached plan must not change result type/);
      expect(await all()).toEqual([{ a: 1, b: 2 }]);
    } finally {
      await sql`drop table ${sql.table(table)}`.execute(k);
    }
  });

  it("drops and remakes a connection's statements once they are `replanMs` old", async () => {
    let clock = 0;
    const k = open({ after: 1, max: 1, replanMs: 1_000, now: () => clock });
    expect(await plusOne(k, 1)).toBe(2);
    const [first] = await prepared(k);
    expect(first).toBeDefined();

    clock = 999;
    expect(await plusOne(k, 2)).toBe(3);
    expect((await prepared(k)).map((r) => r.prepare_time)).toEqual([first?.prepare_time]);

    clock = 1_000;
    // The checkout deallocates; the statement is parsed again (node-postgres must not think it still exists).
    expect(await plusOne(k, 3)).toBe(4);
    const [again] = await prepared(k);
    expect(again?.name).toBe(first?.name);
    expect(again?.prepare_time.getTime()).toBeGreaterThan(first?.prepare_time.getTime() ?? Infinity);
  });
});
