/**
 * The store on a real Postgres, through a `pg` connection pool.
 */
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { KyselyStore } from "./kysely-store.js";
import { createPgSignalBus } from "./pg-signal-bus.js";
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
   * Errors of idle pooled connections (e.g. Postgres restarted). Without a
   * listener `pg` would crash the process; the default emits a process warning.
   */
  onPoolError?: (error: Error) => void;
  /**
   * Run repeated statements as named (server-side prepared) statements
   * (default true; see `pg-prepared.ts`). Off for poolers that cannot carry them.
   */
  preparedStatements?: boolean;
  /** A lost or failed signal listener connection (default: a process warning). It reconnects by itself. */
  onSignalError?: (error: Error) => void;
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
  const pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 10 });
  const onError = options.onPoolError ?? ((error: Error) => process.emitWarning(error, "PostgresPoolWarning"));
  pool.on("error", onError);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: options.preparedStatements === false ? pool : preparingPool(pool) }) });
  const signals = createPgSignalBus({ url: options.url, ...(options.onSignalError ? { onError: options.onSignalError } : {}) });
  // db.destroy() ends the pool; close() ends the listener first.
  return Promise.resolve(new KyselyStore(db, () => db.destroy(), { signals, ...(options.maxPayloadBytes ? { maxPayloadBytes: options.maxPayloadBytes } : {}) }));
}
