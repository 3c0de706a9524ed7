/**
 * Finished runs seeded with SQL, shaped exactly like a real one: every
 * column of a template run's rows in `runs`, `step_runs` and `run_events`
 * (a run the server really ran) is copied, with a fresh time-ordered id
 * (UUIDv7 layout: 48 bits of the creation time in ms, then hash bits) and
 * every timestamp shifted to the copy's creation time. The copies' creation
 * times are spread evenly over `spanMs` before `before`; their ended_at
 * follow (the template's durations). Sequence-filled columns (`run_events.id`)
 * take their defaults, so history ids keep the per-run order the server gives
 * them. The column lists are read from the database, so a column added by a
 * later migration is copied as well. No VACUUM or ANALYZE afterwards.
 *
 * @example
 *   await seedRuns(pool, { templateRunId, n: 1_000_000, before: cutoff, spanMs: 3 * 86_400_000, salt: "p1", log });
 */
import type pg from "pg";

interface Column {
  name: string;
  type: string;
}

/** The columns an INSERT … SELECT fills: every column but sequence-filled and generated ones. */
async function copyColumns(pool: pg.Pool, table: string): Promise<Column[]> {
  const { rows } = await pool.query<{ column_name: string; data_type: string }>(
    `select column_name, data_type from information_schema.columns
      where table_schema = current_schema() and table_name = $1
        and is_generated = 'NEVER' and coalesce(column_default, '') not like 'nextval(%'
      order by ordinal_position`,
    [table],
  );
  return rows.map((r) => ({ name: r.column_name, type: r.data_type }));
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The SELECT list for `table`: `idColumn` from the copy's id, timestamps shifted, the rest as in `t`. */
function selectList(columns: Column[], idColumn: string): string {
  return columns
    .map((c) => {
      if (c.name === idColumn) return "s.id";
      if (c.type === "timestamp with time zone") return `t.${quote(c.name)} + s.shift`;
      return `t.${quote(c.name)}`;
    })
    .join(", ");
}

export interface SeedOptions {
  /** A finished run whose rows are copied. */
  templateRunId: string;
  n: number;
  /** The copies' creation times end 1 minute before this, */
  before: Date;
  /** and start this long before that. */
  spanMs: number;
  /** Makes the ids of one seeding distinct from another's. */
  salt: string;
  /** Runs per statement (each chunk is one transaction of three INSERTs). */
  chunk?: number;
  log: (line: string) => void;
}

/** Seeds `n` copies of the template run; returns how many rows each table got. */
export async function seedRuns(pool: pg.Pool, o: SeedOptions): Promise<Record<string, number>> {
  const chunk = o.chunk ?? 50_000;
  const tables = [
    ["runs", "id", "t.id = $1", ""],
    ["step_runs", "run_id", "t.run_id = $1", ""],
    ["run_events", "run_id", "t.run_id = $1", "order by s.g, t.id"],
  ] as const;
  const statements = await Promise.all(
    tables.map(async ([table, idColumn, where, order]) => {
      const columns = await copyColumns(pool, table);
      // s: one row per copy, g = 0 … n-1: its id and how far its timestamps move from the template's.
      return {
        table,
        sql: `
          with s as (
            select g, (lpad(to_hex((extract(epoch from c) * 1000)::bigint), 12, '0') || '7' || substr(h, 1, 3)
                       || substr('89ab', get_byte(decode(h, 'hex'), 4) % 4 + 1, 1) || substr(h, 10, 15))::uuid as id,
                   c - (select created_at from runs where id = $1) as shift
            from (
              select g, $3::timestamptz - interval '1 minute' - ($4::bigint - g) * ($5::float8 * interval '1 millisecond') as c,
                     md5($6 || g::text) as h
              from generate_series($2::bigint, $7::bigint - 1) g
            ) x
          )
          insert into ${table} (${columns.map((c) => quote(c.name)).join(", ")})
          select ${selectList(columns, idColumn)} from s cross join ${table} t where ${where} ${order}`,
      };
    }),
  );
  const counts: Record<string, number> = Object.fromEntries(tables.map(([t]) => [t, 0]));
  const stepMs = o.spanMs / o.n;
  const client = await pool.connect();
  try {
    let lastLog = Date.now();
    for (let from = 0; from < o.n; from += chunk) {
      const to = Math.min(o.n, from + chunk);
      await client.query("begin");
      for (const s of statements) {
        const r = await client.query(s.sql, [o.templateRunId, from, o.before, o.n, stepMs, o.salt, to]);
        counts[s.table]! += r.rowCount ?? 0;
      }
      await client.query("commit");
      if (Date.now() - lastLog > 5_000 || to === o.n) {
        lastLog = Date.now();
        o.log(`seeded ${to}/${o.n} runs`);
      }
    }
  } catch (err) {
    await client.query("rollback").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
  return counts;
}
