/**
 * The store on embedded Postgres (PGlite), persisted to a local folder: the
 * single-node mode with no DATABASE_URL.
 *
 * PGlite is one connection: transactions run one after another (`FOR UPDATE
 * SKIP LOCKED` never skips), and inside a transaction only the transaction
 * handle may be used. One process at a time may open a given folder.
 */
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, type KyselyPlugin } from "kysely";
import { PGliteDialect } from "kysely-pglite-dialect";
import { KyselyStore } from "../kysely-store.js";
import type { StoreObserver } from "../observer.js";
import type { Database } from "./schema.js";

export interface PgliteStoreOptions {
  /** Folder holding the database files; created (recursively) when missing. */
  dataDir: string;
  /** Largest rendered step input or run output (JSON bytes). */
  maxPayloadBytes?: number;
  /** Told about writes (the metrics); default none. */
  observer?: StoreObserver;
}

/**
 * Opens (or creates) an embedded database in `dataDir`. Opening takes a few seconds.
 *
 * @example
 * ```ts
 * const store = await createPgliteStore({ dataDir: ".weft/data" });
 * await store.migrate();
 * ```
 */
export async function createPgliteStore(options: PgliteStoreOptions): Promise<KyselyStore> {
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir);
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite), plugins: [yieldAfterEachQuery] });
  // db.destroy() closes PGlite (the dialect's driver owns it).
  return new KyselyStore(db, undefined, {
    embedded: true,
    ...(options.maxPayloadBytes ? { maxPayloadBytes: options.maxPayloadBytes } : {}),
    ...(options.observer ? { observer: options.observer } : {}),
  });
}

/**
 * PGlite runs on this thread and its queries resolve as microtasks: a chain
 * of them (a transaction, then the next claim, completion and trigger
 * batch, each started from the last one's promise) never hands the event
 * loop a turn. Under load that starved sockets and timers for seconds at a
 * time (docs/benchmarks.md#embedded-mode-pglite), so workers'
 * results and heartbeats sat unread until their leases ran out. After each
 * query the caller now resumes from a macrotask (`setImmediate`), after the
 * event loop has polled its sockets.
 */
const yieldAfterEachQuery: KyselyPlugin = {
  transformQuery: (args) => args.node,
  transformResult: async (args) => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    return args.result;
  },
};
