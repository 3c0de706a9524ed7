/**
 * A private Postgres cluster on a free port, for tests that restart, stop or
 * cut off the database: never the shared one, which other suites use at the
 * same time. Made with Debian's `initdb` / `pg_ctl` (as the `postgres` user
 * when the tests run as root: Postgres refuses to run as root), trust auth
 * on 127.0.0.1, fsync off (nothing here needs to survive a power cut).
 *
 * @example
 * ```ts
 * const pg = await startPrivatePostgres();
 * const url = await pg.createDatabase("outage_a");
 * await pg.restart();          // pg_ctl restart -m fast
 * await pg.stop(); ...; await pg.start();
 * await pg.terminateAll("outage_a");
 * await pg.destroy();
 * ```
 */
import { execFile, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { freePort } from "./free-port.js";

const run = promisify(execFile);

export interface PrivatePostgres {
  port: number;
  /** A URL for `database` in this cluster. */
  url(database: string): string;
  /** Creates a database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** `pg_ctl restart -m fast`: every connection is terminated, the server comes back at once. */
  restart(): Promise<void>;
  /** `pg_ctl stop -m fast`. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** `pg_terminate_backend` of every other connection to `database`; resolves with how many. */
  terminateAll(database: string): Promise<number>;
  /** Stops the cluster and deletes its files. */
  destroy(): Promise<void>;
}

/** The folder holding Debian's Postgres server programs (the newest version), or undefined. */
function binDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => join(root, v, "bin")).find((d) => existsSync(join(d, "pg_ctl")));
}

/**
 * Whether `initdb` and `pg_ctl` are installed. Missing: throws when `CI` is
 * set (the suite must fail, not skip), else returns false.
 *
 * @example
 * ```ts
 * describe.skipIf(!requirePgCtl())("postgres outages", () => { ... });
 * ```
 */
export function requirePgCtl(): boolean {
  const ok = binDir() !== undefined;
  if (!ok && process.env.CI) throw new Error("initdb and pg_ctl are required in CI (apt-get install postgresql)");
  return ok;
}

/** Runs a Postgres program, as the `postgres` user when we are root. */
async function pgTool(program: string, args: string[]): Promise<void> {
  const bin = join(binDir()!, program);
  const asRoot = process.getuid?.() === 0;
  const [cmd, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
  try {
    await run(cmd, argv, { timeout: 60_000 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string };
    throw new Error(`${program} ${args.join(" ")} failed: ${e.stderr ?? ""}${e.stdout ?? ""}`, { cause: err });
  }
}

/** Initialises and starts a cluster on a free port. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "weft-pg-"));
  const data = join(dir, "data");
  if (process.getuid?.() === 0) {
    const ids = spawnSync("id", ["-u", "postgres"]).stdout.toString().trim();
    const gid = spawnSync("id", ["-g", "postgres"]).stdout.toString().trim();
    chownSync(dir, Number(ids), Number(gid));
  }
  await pgTool("initdb", [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
    "--no-sync",
    "--no-instructions",
  ]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=60`;
  const pgCtl = (args: string[]) =>
    pgTool("pg_ctl", ["-D", data, "-l", join(dir, "log"), "-o", options, "-w", "-t", "60", ...args]);
  await pgCtl(["start"]);
  const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const admin = async <T>(database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: url(database), connectionTimeoutMillis: 5_000 });
    client.on("error", () => undefined);
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  let destroyed = false;
  return {
    port,
    url,
    async createDatabase(name) {
      await admin("postgres", (c) => c.query(`create database ${pg.escapeIdentifier(name)}`));
      return url(name);
    },
    restart: () => pgCtl(["-m", "fast", "restart"]),
    stop: () => pgCtl(["-m", "fast", "stop"]),
    start: () => pgCtl(["start"]),
    terminateAll: (database) =>
      admin("postgres", async (c) => {
        const r = await c.query(
          "select count(pg_terminate_backend(pid)) as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
          [database],
        );
        return Number((r.rows[0] as { n: string }).n);
      }),
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await pgCtl(["-m", "immediate", "stop"]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
