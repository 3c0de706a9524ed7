/**
 * The store on a real Postgres, through a `pg` connection pool.
 */
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { KyselyStore } from "../kysely-store.js";
import type { StoreObserver } from "../observer.js";
import { createPgSignalBus } from "../signals/pg-signal-bus.js";
import { preparingPool } from "./pg-prepared.js";
import type { Database } from "./schema.js";

export interface PostgresStoreOptions {
  /** A libpq-style URL, e.g. `postgres://user:pass@host:5432/weft`. */
  url: string;
  /** Largest rendered step input or run output (JSON bytes). */
  maxPayloadBytes?: number;
  /** Pool size (default 10). LISTEN/NOTIFY needs its own session connection besides these. */
  maxConnections?: number;
  /**
   * Errors of pooled connections, idle or checked out (Postgres restarted,
   * `pg_terminate_backend`, a cut network). Without a listener `pg` would
   * crash the process; the default emits a process warning. The broken
   * connection leaves the pool and a new one is made on demand.
   */
  onPoolError?: (error: Error) => void;
  /** How long opening a connection may take before the query fails (ms, default 10,000). */
  connectTimeoutMs?: number;
  /**
   * Run repeated statements as named (server-side prepared) statements
   * (default true; see `pg-prepared.ts`). Off for poolers that cannot carry them.
   */
  preparedStatements?: boolean;
  /** A lost or failed signal listener connection (default: a process warning). It reconnects by itself. */
  onSignalError?: (error: Error) => void;
  /** Told about writes (the metrics); default none. */
  observer?: StoreObserver;
}

/**
 * Opens a pool-backed store. Connections open lazily: call `migrate()` or
 * `ready()` to find out whether the database answers. Signals travel by
 * NOTIFY; the first `onSignal` opens the LISTEN connection (one per store,
 * besides the pool).
 *
 * @example
 * ```ts
 * const store = await createPostgresStore({ url: process.env.DATABASE_URL! });
 * await store.migrate();
 * ```
 */
export function createPostgresStore(options: PostgresStoreOptions): Promise<KyselyStore> {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    // A refused connection fails at once; one to a host that does not answer must fail too, not hang.
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    keepAlive: true,
  });
  const onError = options.onPoolError ?? ((error: Error) => process.emitWarning(error, "PostgresPoolWarning"));
  // The pool listens to idle connections only: a connection that breaks while checked out (between
  // the statements of a transaction, or between checkout and its first query) emits "error" on the
  // client itself, which would be unhandled. Its queries fail, and the pool drops it on release.
  pool.on("connect", (client) => {
    client.on("error", onError);
    // Weft's statements are short lookups: once statistics say a table is large, Postgres may JIT-compile some of
    // them, which costs far more than running them (docs/operations.md). Queued before the connection's first
    // statement; a server without `jit` (before 11) refuses it, harmlessly.
    client.query("set jit = off").catch(() => undefined);
  });
  pool.on("error", () => undefined);
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: options.preparedStatements === false ? pool : preparingPool(pool) }),
  });
  const signals = createPgSignalBus({
    url: options.url,
    ...(options.onSignalError ? { onError: options.onSignalError } : {}),
  });
  // db.destroy() ends the pool; close() ends the listener first.
  return Promise.resolve(
    new KyselyStore(db, () => db.destroy(), {
      signals,
      ...(options.maxPayloadBytes ? { maxPayloadBytes: options.maxPayloadBytes } : {}),
      ...(options.observer ? { observer: options.observer } : {}),
    }),
  );
}
