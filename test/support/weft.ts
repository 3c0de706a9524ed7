/**
 * A control plane for end-to-end execution tests: a real server process on
 * a throwaway Postgres database (or embedded PGlite), with short lease and
 * sweep timings so fault tests finish in seconds, and an SDK client.
 *
 * @example
 * ```ts
 * const weft = await startWeft({ backend: "postgres", redisUrl: redisUrl() });
 * const { runId } = await weft.client.workflows.triggerWorkflow({ workflowId: "wf" });
 * await weft.stop();
 * ```
 */
import { randomBytes } from "node:crypto";
import { createWeftClient, type WeftClient } from "../../sdk/index.js";
import { createTestDatabase, type TestDatabase } from "./db.js";
import { redisUrl } from "./redis.js";
import { startServerProcess, tempDataDir, type ServerProcess } from "./server-process.js";

/** Short timings: leases end 1.5 s after the last heartbeat, sweeps every 200 ms. */
export const FAST_ARGS = ["--lease-ttl-ms", "1500", "--heartbeat-interval-ms", "250", "--sweep-interval-ms", "200"];

/** How long an embedded server may take to start; suites that start one give their beforeAll a little more. */
export const START_EMBEDDED_MS = 110_000;

export interface WeftOptions {
  /** "postgres" (a fresh database) or "pglite" (embedded). Default postgres. */
  backend?: "postgres" | "pglite";
  /** Redis for leases; undefined: in-process leases. */
  redisUrl?: string;
  /** Reuse this database (a second replica); it is not dropped by stop(). */
  databaseUrl?: string;
  /**
   * Redis key namespace; default: one of its own, so test servers sharing a
   * Redis do not sweep each other's leases. Replicas of one test pass the same.
   */
  leasePrefix?: string;
  /** Extra flags; FAST_ARGS come first, so these override them. */
  args?: string[];
}

export interface Weft {
  server: ServerProcess;
  url: string;
  databaseUrl: string | undefined;
  leasePrefix: string;
  client: WeftClient;
  /** Stops the server (SIGTERM) and drops the database it created. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts one control-plane process.
 *
 * @example
 * ```ts
 * const a = await startWeft({ redisUrl });
 * const b = await startWeft({ redisUrl, databaseUrl: a.databaseUrl }); // a second replica
 * ```
 */
export async function startWeft(opts: WeftOptions = {}): Promise<Weft> {
  let db: TestDatabase | undefined;
  let databaseUrl = opts.databaseUrl;
  if (!databaseUrl && (opts.backend ?? "postgres") === "postgres") {
    db = await createTestDatabase();
    databaseUrl = db.url;
  }
  const env: Record<string, string | undefined> = databaseUrl
    ? { DATABASE_URL: databaseUrl, REDIS_URL: opts.redisUrl }
    : { DATABASE_URL: undefined, WEFT_DATA_DIR: tempDataDir(), REDIS_URL: opts.redisUrl };
  const leasePrefix = opts.leasePrefix ?? `weft-test-${randomBytes(4).toString("hex")}`;
  let server: ServerProcess;
  try {
    // A fresh PGlite folder takes 15 s to initialise, far more on a loaded machine.
    server = await startServerProcess({
      env,
      args: [...FAST_ARGS, "--shutdown-grace-ms", "1000", "--lease-prefix", leasePrefix, ...(opts.args ?? [])],
      timeoutMs: databaseUrl ? 60_000 : START_EMBEDDED_MS,
    });
  } catch (err) {
    await db?.drop();
    throw err;
  }
  const client = createWeftClient(server.url);
  let stopped: Promise<void> | undefined;
  return {
    server,
    url: server.url,
    databaseUrl,
    leasePrefix,
    client,
    stop() {
      stopped ??= (async () => {
        client.close();
        await server.stop();
        await db?.drop();
      })();
      return stopped;
    },
  };
}

/**
 * The two ways to run the control plane, as `describe.each` rows: Postgres +
 * Redis (skipped locally when either is missing, failing in CI) and embedded
 * (PGlite and in-process leases; slower to start, about 15 s; `embedded:
 * false` leaves it out).
 *
 * @example
 * ```ts
 * describe.each(e2eBackends(hasPostgres, hasRedis))("on $name", ({ skip, opts }) => { ... });
 * ```
 */
export function e2eBackends(
  hasPostgres: boolean,
  hasRedis: boolean,
  opts: { embedded?: boolean } = {},
): { name: string; skip: boolean; opts: WeftOptions }[] {
  const rows: { name: string; skip: boolean; opts: WeftOptions }[] = [
    { name: "postgres + redis", skip: !hasPostgres || !hasRedis, opts: { backend: "postgres", redisUrl: redisUrl() } },
    { name: "embedded", skip: false, opts: { backend: "pglite" } },
  ];
  // Embedded start-up costs ~15 s a file: suites whose paths it does not change leave it out.
  return opts.embedded === false ? rows.slice(0, 1) : rows;
}
