/**
 * Postgres for tests: where it is, whether it answers, and throwaway databases.
 *
 * Honest skipping: without Postgres a local run skips the Postgres suites,
 * but with `CI` set a missing Postgres fails the run instead.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * The server tests use: `TEST_DATABASE_URL`, else `DATABASE_URL`, else the local default.
 *
 * @example
 * ```ts
 * const client = new pg.Client(postgresUrl());
 * ```
 */
export function postgresUrl(): string {
  return process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";
}

/**
 * Whether Postgres answers. Unreachable: throws when `CI` is set (the suite
 * must fail, not skip), else returns false.
 *
 * @example
 * ```ts
 * const hasPostgres = await requirePostgres();
 * describe.skipIf(!hasPostgres)("on postgres", () => { ... });
 * ```
 */
export async function requirePostgres(): Promise<boolean> {
  const client = new pg.Client({ connectionString: postgresUrl(), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch (error) {
    if (process.env.CI) throw new Error(`Postgres at ${postgresUrl()} is required in CI`, { cause: error });
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A uniquely named database created for one suite. */
export interface TestDatabase {
  name: string;
  url: string;
  /** Terminates its connections and drops it. Safe to call twice. */
  drop(): Promise<void>;
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresUrl(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates an empty database `weft_test_<random>` on the test server.
 *
 * @example
 * ```ts
 * const db = await createTestDatabase();
 * const store = await createPostgresStore({ url: db.url });
 * // ...
 * await store.close();
 * await db.drop();
 * ```
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `weft_test_${randomBytes(6).toString("hex")}`;
  await withAdmin((c) => c.query(`create database ${name}`));
  const url = new URL(postgresUrl());
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () =>
      withAdmin(async (c) => {
        // A closed pg pool resolves before its sockets are gone: give those a moment,
        // so terminating them does not surface as pool errors in the closed store.
        for (let i = 0; i < 20; i++) {
          const { rows } = await c.query("select count(*)::int as n from pg_stat_activity where datname = $1", [name]);
          if (rows[0].n === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await c.query(
          "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
          [name],
        );
        await c.query(`drop database if exists ${name} with (force)`);
      }),
  };
}
