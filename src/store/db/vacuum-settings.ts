/**
 * Whether Postgres keeps Weft's tables vacuumed and analysed: autovacuum on
 * (it needs `track_counts` too), and not switched off on one of the tables
 * that churn. Without it dead rows pile up under the claim and completion
 * scans and the planner never learns the tables' sizes
 * (docs/operations.md#autovacuum); the server says so once at start.
 */
import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";

/** The tables whose dead rows and statistics matter most. */
const CHURNING_TABLES = ["step_runs", "runs", "run_events", "webhook_deliveries"];

/** What the database says about autovacuum. */
export interface VacuumSettings {
  /** `show autovacuum`. */
  autovacuum: boolean;
  /** `show track_counts`: autovacuum does nothing without it. */
  trackCounts: boolean;
  /** Churning tables with `autovacuum_enabled = false`. */
  tablesOff: string[];
}

/**
 * Reads the settings (Postgres only: PGlite runs no autovacuum).
 *
 * @example
 * ```ts
 * const warning = vacuumWarning(await readVacuumSettings(db));
 * ```
 */
export async function readVacuumSettings(db: Kysely<Database>): Promise<VacuumSettings> {
  const { rows } = await sql<{ autovacuum: string; track_counts: string; tables_off: string[] | null }>`
    select current_setting('autovacuum') as autovacuum, current_setting('track_counts') as track_counts,
           (select array_agg(relname::text order by relname) from pg_class
             where relnamespace = to_regnamespace(current_schema())::oid
               and relname in (${sql.join(CHURNING_TABLES)})
               and 'autovacuum_enabled=false' = any(reloptions)) as tables_off
  `.execute(db);
  const row = rows[0]!;
  return {
    autovacuum: row.autovacuum === "on",
    trackCounts: row.track_counts === "on",
    tablesOff: row.tables_off ?? [],
  };
}

/**
 * The start-up warning for these settings, or undefined when autovacuum looks after every table.
 *
 * @example
 * ```ts
 * vacuumWarning({ autovacuum: false, trackCounts: true, tablesOff: [] }); // "autovacuum is off …"
 * ```
 */
export function vacuumWarning(settings: VacuumSettings | undefined): string | undefined {
  if (settings === undefined) return undefined;
  const problems: string[] = [];
  if (!settings.autovacuum) problems.push("autovacuum is off in this Postgres (set autovacuum = on)");
  if (!settings.trackCounts) problems.push("track_counts is off, so autovacuum does nothing (set track_counts = on)");
  if (settings.tablesOff.length > 0) {
    const tables = settings.tablesOff.join(", ");
    problems.push(`autovacuum is disabled on ${tables} (alter table … reset (autovacuum_enabled))`);
  }
  if (problems.length === 0) return undefined;
  return `${problems.join("; ")}: dead rows will pile up and the planner will not learn the tables' sizes, and claims and completions slow down as runs accumulate; see docs/operations.md#autovacuum`;
}
