/**
 * Chooses the store from the configuration: Postgres when a URL is given,
 * else embedded PGlite persisting under the data folder.
 *
 * @example
 *   const store = await openStore({ databaseUrl: undefined, dataDir: "./.weft/data" }, logger, metrics.store);
 */
import type { Logger } from "pino";
import type { StoreObserver } from "../observer.js";
import { createPgliteStore } from "./pglite.js";
import { createPostgresStore } from "./postgres.js";
import type { Store } from "../types.js";

export async function openStore(
  config: { databaseUrl?: string; pgPreparedStatements?: boolean; dataDir: string; maxPayloadBytes?: number },
  logger: Logger,
  observer?: StoreObserver,
): Promise<Store> {
  const limits = {
    ...(config.maxPayloadBytes ? { maxPayloadBytes: config.maxPayloadBytes } : {}),
    ...(observer ? { observer } : {}),
  };
  if (config.databaseUrl) {
    logger.info({ database: redact(config.databaseUrl) }, "using Postgres");
    return createPostgresStore({
      url: config.databaseUrl,
      ...limits,
      ...(config.pgPreparedStatements === false ? { preparedStatements: false } : {}),
      onPoolError: (err) => logger.warn({ err }, "a Postgres connection failed; it is replaced on demand"),
      onSignalError: (err) =>
        logger.warn(
          { err },
          "the LISTEN connection failed; reconnecting (wake-ups from other replicas wait until then)",
        ),
    });
  }
  logger.info({ dataDir: config.dataDir }, "using embedded PGlite (set DATABASE_URL for Postgres)");
  return createPgliteStore({ dataDir: config.dataDir, ...limits });
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString();
}
