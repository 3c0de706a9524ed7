/**
 * The store's public surface: what the other folders of `src/` use. The
 * `Store` and `ExecutionStore` interfaces with their records, the access
 * (API key and audit) records, the observer a metrics or log sink
 * implements, task ids, page tokens, telling an unreachable database
 * apart, and opening and migrating the store. The rooms behind it are the
 * store's own: `db/` (connections, dialects, the Kysely schema), `signals/`
 * (between replicas), `reads/` (queries) and `writes/` (the transactions).
 *
 * @example
 * ```ts
 * import { openStore, migrateWhenReachable, type Store } from "./store/index.js";
 * const store: Store = await openStore(config, logger);
 * ```
 */
export * from "./types.js";
export type * from "./access-types.js";
export {
  NO_STORE_OBSERVER,
  type CommitFacts,
  type FinishedRun,
  type PurgeReason,
  type StoreObserver,
  type StoreStatement,
} from "./observer.js";
export { isUuid, parseTaskId, taskIdOf } from "./task-id.js";
export { decodePageToken, encodePageToken, RUN_ID_PATTERN, WORKFLOW_ID_PATTERN } from "./reads/page-token.js";
export { isDatabaseUnavailable } from "./db/unavailable.js";
export { openStore } from "./db/open.js";
export { vacuumWarning, type VacuumSettings } from "./db/vacuum-settings.js";
export { migrateWhenReachable, type MigrateWhenReachableOptions } from "./db/migrate-when-reachable.js";
