/**
 * A sampling profiler for Postgres without `pg_stat_statements` (it needs a
 * server restart): every few ms, what each backend of the bench database is
 * doing (`pg_stat_activity`: state, wait event, the query's first words).
 * The share of samples is the share of backend time.
 *
 * @example
 *   const sampler = startPgSampler(pool, 10);
 *   ...
 *   console.log(sampler.stop().slice(0, 15));
 */
import type pg from "pg";

export interface SampleRow {
  what: string;
  samples: number;
  pct: number;
}

export function startPgSampler(pool: pg.Pool, everyMs: number): { stop(): SampleRow[] } {
  const counts = new Map<string, number>();
  let total = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await pool.query<{ state: string; wait: string | null; q: string }>(
        `select state, wait_event_type || ':' || wait_event as wait,
                regexp_replace(left(query, 120), '\\s+', ' ', 'g') as q
           from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'`,
      );
      for (const r of rows) {
        // Idle connections are waiting for the server (Node), not working.
        const key =
          r.state === "active" || r.state?.startsWith("idle in transaction")
            ? `${r.state} | ${r.wait ?? "CPU"} | ${r.q.slice(0, 70)}`
            : r.state;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        total++;
      }
      await new Promise((res) => setTimeout(res, everyMs));
    }
  })();
  return {
    stop() {
      running = false;
      void loop;
      return [...counts.entries()]
        .map(([what, samples]) => ({ what, samples, pct: (samples / Math.max(1, total)) * 100 }))
        .sort((a, b) => b.samples - a.samples);
    },
  };
}
