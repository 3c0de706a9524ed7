/**
 * The two backends a scenario runs on, each prepared fresh for one server:
 * - `pg`: a throwaway database on the local Postgres (dropped afterwards)
 *   and Redis leases in their own database index;
 * - `embedded`: a PGlite folder in the temp dir (removed afterwards) and
 *   in-process leases.
 *
 * @example
 *   const backend = await prepareBackend("pg", options);
 *   try { ...spawn a server with backend.env... } finally { await backend.dispose(); }
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

export type BackendName = "pg" | "embedded";

export interface BackendOptions {
  /** Admin URL of the local Postgres; the bench creates and drops databases through it. */
  postgresUrl: string;
  /** Redis URL for leases (keep it off the database index others use). */
  redisUrl: string;
}

export interface Backend {
  name: BackendName;
  /** Environment for the server process. */
  env: Record<string, string | undefined>;
  /** The bench's own connection to the run database (pg only). */
  pool?: pg.Pool;
  dispose(): Promise<void>;
}

let counter = 0;

export async function prepareBackend(name: BackendName, opts: BackendOptions): Promise<Backend> {
  if (name === "embedded") {
    const dir = mkdtempSync(join(tmpdir(), "weft-bench-"));
    return {
      name,
      env: { DATABASE_URL: undefined, REDIS_URL: undefined, WEFT_DATA_DIR: dir },
      async dispose() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const dbName = `weft_bench_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const admin = new pg.Client({ connectionString: opts.postgresUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${dbName}`);
    const explainMs = process.env.BENCH_AUTO_EXPLAIN;
    if (explainMs) {
      // auto_explain for every session of this database: plans of statements slower than this go to the Postgres log.
      if (!/^\d+$/.test(explainMs)) throw new Error(`BENCH_AUTO_EXPLAIN must be a number of ms, got ${explainMs}`);
      await admin.query(`alter database ${dbName} set session_preload_libraries = 'auto_explain'`);
      await admin.query(`alter database ${dbName} set auto_explain.log_min_duration = ${explainMs}`);
      await admin.query(`alter database ${dbName} set auto_explain.log_analyze = on`);
    }
  } finally {
    await admin.end();
  }
  const url = new URL(opts.postgresUrl);
  url.pathname = `/${dbName}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  pool.on("error", () => undefined);
  return {
    name,
    env: { DATABASE_URL: url.toString(), REDIS_URL: opts.redisUrl, WEFT_DATA_DIR: undefined },
    pool,
    async dispose() {
      await pool.end();
      const c = new pg.Client({ connectionString: opts.postgresUrl });
      await c.connect();
      try {
        await c.query(`drop database if exists ${dbName} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Postgres's version string, e.g. "15.20". */
export async function postgresVersion(postgresUrl: string): Promise<string> {
  const c = new pg.Client({ connectionString: postgresUrl });
  await c.connect();
  try {
    const { rows } = await c.query<{ server_version: string }>("show server_version");
    return rows[0]?.server_version ?? "unknown";
  } finally {
    await c.end();
  }
}
