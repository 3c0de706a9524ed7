/**
 * Schema migrations, listed in code (no file globbing), so they run the same
 * from `tsx`, from compiled output and from any working directory.
 *
 * Concurrency: Kysely's `Migrator` creates its bookkeeping tables with
 * `if not exists` (tolerating a racing creator), then runs all pending
 * migrations in one transaction under a session-level `pg_advisory_lock`, so
 * two processes starting at once on one Postgres apply each migration once;
 * the second waits, then finds nothing pending.
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from "kysely";
import { migration0001 } from "./0001-initial.js";
import { migration0002 } from "./0002-execution.js";
import { migration0003 } from "./0003-builtins.js";
import { migration0004 } from "./0004-lean-writes.js";
import { migration0005 } from "./0005-run-traceparent.js";
import { migration0006 } from "./0006-access.js";
import { migration0007 } from "./0007-namespaces.js";
import { migration0008 } from "./0008-table-health.js";
import { migration0009 } from "./0009-derived-inputs.js";
import { migration0010 } from "./0010-run-trigger.js";
import { migration0011 } from "./0011-retention.js";
import { migration0012 } from "./0012-compact-rows.js";
import { migration0013 } from "./0013-history-index.js";

/** Every migration, by name; names sort in the order they apply. */
const MIGRATIONS: Record<string, Migration> = {
  "0001_initial": migration0001,
  "0002_execution": migration0002,
  "0003_builtins": migration0003,
  "0004_lean_writes": migration0004,
  "0005_run_traceparent": migration0005,
  "0006_access": migration0006,
  "0007_namespaces": migration0007,
  "0008_table_health": migration0008,
  "0009_derived_inputs": migration0009,
  "0010_run_trigger": migration0010,
  "0011_retention": migration0011,
  "0012_compact_rows": migration0012,
  "0013_history_index": migration0013,
};

const provider: MigrationProvider = {
  getMigrations: () => Promise.resolve(MIGRATIONS),
};

/**
 * A `Migrator` over Weft's migrations, keeping its bookkeeping in
 * `weft_migration` / `weft_migration_lock`.
 *
 * @example
 * ```ts
 * const { results } = await createMigrator(db).migrateToLatest();
 * ```
 */
export function createMigrator(db: Kysely<unknown>): Migrator {
  return new Migrator({
    db,
    provider,
    migrationTableName: "weft_migration",
    migrationLockTableName: "weft_migration_lock",
  });
}

/**
 * Applies every pending migration; throws the migration's error if one fails.
 *
 * @example
 * ```ts
 * await migrateToLatest(db);
 * ```
 */
export async function migrateToLatest(db: Kysely<unknown>): Promise<void> {
  const { error, results } = await createMigrator(db).migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName;
    throw new Error(`migration ${failed ?? "(setup)"} failed: ${String(error)}`, { cause: error });
  }
}

/**
 * Names of migrations not yet applied (all of them on an empty database).
 *
 * @example
 * ```ts
 * const ready = (await pendingMigrations(db)).length === 0;
 * ```
 */
export async function pendingMigrations(db: Kysely<unknown>): Promise<string[]> {
  const migrations = await createMigrator(db).getMigrations();
  return migrations.filter((m) => m.executedAt === undefined).map((m) => m.name);
}
