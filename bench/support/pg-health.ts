/**
 * How the run tables are doing, read from Postgres's own views: sizes
 * (`pg_database_size`, `pg_total_relation_size`), live and dead rows and
 * how often autovacuum visited (`pg_stat_user_tables`), and the time of the
 * claim statement (`pg_stat_statements`, when the cluster preloads it).
 *
 * @example
 *   const health = await tableHealth(pool);
 *   const claim = await claimStatementReader(adminPool, "weft_bench_…");
 *   const { calls, meanMs } = await claim.sinceLast();
 */
import type pg from "pg";

export const RUN_TABLES = ["runs", "step_runs", "run_events", "webhook_deliveries"] as const;

export interface TableHealth {
  /** `pg_total_relation_size`: heap, indexes and TOAST. */
  bytes: number;
  liveRows: number;
  deadRows: number;
  autovacuums: number;
  autoanalyzes: number;
}

export interface DatabaseHealth {
  databaseBytes: number;
  tables: Record<string, TableHealth>;
}

/** Sizes and row counts of the run tables of the pool's database. */
export async function tableHealth(pool: pg.Pool): Promise<DatabaseHealth> {
  const { rows } = await pool.query<{
    t: string;
    db: string;
    bytes: string;
    live: string | null;
    dead: string | null;
    av: string | null;
    aa: string | null;
  }>(
    `select t, pg_database_size(current_database()) as db, pg_total_relation_size(t) as bytes,
            s.n_live_tup as live, s.n_dead_tup as dead, s.autovacuum_count as av, s.autoanalyze_count as aa
       from unnest($1::text[]) as t
       left join pg_stat_user_tables s on s.relname = t and s.schemaname = current_schema()`,
    [RUN_TABLES],
  );
  return {
    databaseBytes: Number(rows[0]?.db ?? 0),
    tables: Object.fromEntries(
      rows.map((r) => [
        r.t,
        {
          bytes: Number(r.bytes),
          liveRows: Number(r.live ?? 0),
          deadRows: Number(r.dead ?? 0),
          autovacuums: Number(r.av ?? 0),
          autoanalyzes: Number(r.aa ?? 0),
        },
      ]),
    ),
  };
}

export interface StatementTime {
  calls: number;
  /** Mean execution time of those calls; NaN without calls or without pg_stat_statements. */
  meanMs: number;
}

/**
 * The claim statement of `src/store/writes/claim-tasks.ts` as
 * pg_stat_statements normalizes it (constants become `$n`, so
 * `nextval('lease_tokens')` reads `nextval($7)`): every variant (namespace,
 * tracing) counts. `sinceLast()` gives the calls and mean time since its previous
 * call (differences of the cumulative counters; nothing is reset, so other
 * readers of the view are not disturbed).
 */
export async function claimStatementReader(
  admin: pg.Pool,
  database: string,
): Promise<{ available: boolean; sinceLast(): Promise<StatementTime> }> {
  const read = async () => {
    const { rows } = await admin.query<{ calls: string; ms: number }>(
      `select coalesce(sum(calls), 0) as calls, coalesce(sum(total_exec_time), 0)::float8 as ms
         from pg_stat_statements
        where dbid = (select oid from pg_database where datname = $1)
          and query like '%with picked as (%' and query like '%lease_token = nextval(%'`,
      [database],
    );
    return { calls: Number(rows[0]!.calls), ms: Number(rows[0]!.ms) };
  };
  let last: { calls: number; ms: number };
  const off = { available: false, sinceLast: async () => ({ calls: 0, meanMs: Number.NaN }) };
  const preloaded = await admin.query(
    "select 1 from pg_settings where name = 'shared_preload_libraries' and setting like '%pg_stat_statements%'",
  );
  if (preloaded.rowCount === 0) return off;
  try {
    await admin.query("create extension if not exists pg_stat_statements");
    last = await read();
  } catch {
    // Preloaded but the extension cannot be created here (not a superuser): no claim times.
    return off;
  }
  return {
    available: true,
    async sinceLast() {
      const now = await read();
      const calls = now.calls - last.calls;
      const meanMs = calls > 0 ? (now.ms - last.ms) / calls : Number.NaN;
      last = now;
      return { calls, meanMs };
    },
  };
}

/** The statements of `database` that took the most time so far (pg_stat_statements), first 160 characters each. */
export async function topStatements(
  admin: pg.Pool,
  database: string,
  n: number,
): Promise<{ query: string; calls: number; totalMs: number; meanMs: number }[]> {
  try {
    const { rows } = await admin.query<{ q: string; calls: string; total: number; mean: number }>(
      `select regexp_replace(left(query, 160), '\\s+', ' ', 'g') as q, calls, total_exec_time::float8 as total,
              mean_exec_time::float8 as mean
         from pg_stat_statements
        where dbid = (select oid from pg_database where datname = $1)
        order by total_exec_time desc limit $2`,
      [database, n],
    );
    return rows.map((r) => ({ query: r.q.trim(), calls: Number(r.calls), totalMs: r.total, meanMs: r.mean }));
  } catch {
    return [];
  }
}
