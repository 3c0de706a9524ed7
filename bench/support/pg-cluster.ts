/**
 * A throwaway Postgres 15 cluster for the long scenarios (SOAK, PURGE):
 * `initdb` into a temp folder, Postgres's default settings (autovacuum on,
 * unlike the shared cluster on 5432) plus `pg_stat_statements`, listening on
 * 127.0.0.1 only with trust auth, on the first free port from 5433. Stopped
 * and deleted by `stop()`, and on SIGINT/SIGTERM (the scenario's own
 * `finally` does not run then).
 *
 * As root (this machine) the Postgres binaries run as the `postgres` user
 * through `runuser`; as any other user they run as that user.
 *
 * @example
 *   const cluster = await startPgCluster(log);
 *   try { ...cluster.url... } finally { await cluster.stop(); }
 */
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BIN = "/usr/lib/postgresql/15/bin";

export interface PgCluster {
  /** Admin URL (database `postgres`, user `postgres`). */
  url: string;
  port: number;
  dir: string;
  /** Also run `fn` on SIGINT/SIGTERM, before the cluster stops (e.g. kill the server using it). */
  onSignal(fn: () => void): void;
  stop(): Promise<void>;
}

/** Whether something listens on `port` of 127.0.0.1 (a bind there fails). */
function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once("error", () => res(false));
    s.listen(port, "127.0.0.1", () => s.close(() => res(true)));
  });
}

/** Runs a Postgres binary as the `postgres` user (root) or as ourselves. */
function pgBin(name: string, args: string[]): string {
  const asRoot = process.getuid?.() === 0;
  const [cmd, argv] = asRoot
    ? ["runuser", ["-u", "postgres", "--", join(BIN, name), ...args]]
    : [join(BIN, name), args];
  return execFileSync(cmd, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export async function startPgCluster(log: (line: string) => void): Promise<PgCluster> {
  for (const b of ["initdb", "pg_ctl"])
    if (!existsSync(join(BIN, b))) throw new Error(`no ${join(BIN, b)}: Postgres 15's binaries are needed`);
  let port = 5433;
  while (!(await portFree(port))) if (++port > 5499) throw new Error("no free port in 5433–5499");
  const dir = mkdtempSync(join(tmpdir(), "weft-soak-pg-"));
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
  }
  let running = false;
  const removeSync = () => {
    if (running) {
      try {
        pgBin("pg_ctl", ["-D", dir, "-m", "fast", "-w", "stop"]);
      } catch {
        // already down
      }
      running = false;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const alsoOnSignal: (() => void)[] = [];
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the throwaway Postgres in ${dir}`);
    for (const fn of alsoOnSignal) {
      try {
        fn();
      } catch {
        // going down anyway
      }
    }
    removeSync();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const stop = async () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    removeSync();
  };
  try {
    pgBin("initdb", ["-D", dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]);
    // Everything else stays at Postgres's defaults (autovacuum on, 128 MB shared_buffers, …).
    appendFileSync(
      join(dir, "postgresql.conf"),
      [
        "",
        "# weft bench (bench/support/pg-cluster.ts)",
        "listen_addresses = '127.0.0.1'",
        `port = ${port}`,
        `unix_socket_directories = '${dir}'`,
        "shared_preload_libraries = 'pg_stat_statements'",
        "logging_collector = off",
        "",
      ].join("\n"),
    );
    writeFileSync(join(dir, "pg_hba.conf"), "local all all trust\nhost all all 127.0.0.1/32 trust\n");
    pgBin("pg_ctl", ["-D", dir, "-l", join(dir, "server.log"), "-w", "-t", "60", "start"]);
    running = true;
  } catch (err) {
    await stop();
    const e = err as { stderr?: string; message?: string };
    throw new Error(`throwaway Postgres did not start: ${e.stderr || e.message}`);
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  log(`throwaway Postgres 15 on port ${port} (${dir}), default settings + pg_stat_statements`);
  return { url, port, dir, onSignal: (fn) => void alsoOnSignal.push(fn), stop };
}
