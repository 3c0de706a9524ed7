/**
 * Server-side prepared statements for the queries a server repeats.
 *
 * node-postgres sends every unnamed query as Parse + Bind + Execute, so
 * Postgres parses, analyses and plans it on every call. For the hot paths
 * (a claim, a trigger, a completion's statements: long texts with CTEs)
 * planning was a large share of Postgres's time, about as long as running
 * them (docs/benchmarks.md#prepared-statements). A named query is parsed once per connection, and after
 * five executions Postgres keeps a generic plan for it when that plan looks
 * no dearer than the custom ones (`plan_cache_mode = auto`).
 *
 * A generic plan is made once and kept until a table it reads is analysed
 * or altered. Made while the tables are small it keeps sequential scans
 * after they have grown (a claim prepared over a near-empty table went on
 * scanning all of `step_runs` once it was large). Two rules
 * keep plans fresh:
 * - a text gets a name only after `after` unnamed executions (custom plans,
 *   made against the tables as they are), so a server's first moments,
 *   when a fresh database is empty, never fix a plan;
 * - every `replanMs`, each connection drops its prepared statements
 *   (`DEALLOCATE ALL`) the next time it is taken from the pool, and makes
 *   them again: no plan outlives that period.
 * A prepared statement whose tables changed shape (a migration run by a
 * newer replica) fails once with "cached plan must not change result type";
 * its connection then drops all its statements on its next checkout.
 * At most `max` distinct texts get a name (texts that vary, like an IN list
 * of varying length, cannot grow each backend's statement cache without
 * bound; past the cap they run unnamed). Names derive from the text, so
 * every connection agrees and a name never stands for two texts.
 *
 * Off (`--pg-prepared-statements false`) for poolers that do not carry
 * named statements across server connections (PgBouncer in transaction
 * mode before 1.21).
 */
import { createHash } from "node:crypto";
import type { PostgresCursor, PostgresPool, PostgresPoolClient } from "kysely";
import type pg from "pg";

export interface PreparedStatementOptions {
  /** Unnamed executions of a text before it gets a name (default 100). */
  after?: number;
  /** Most distinct named texts per pool (default 64). */
  max?: number;
  /** Longest a connection keeps its prepared statements, ms (default 60,000). */
  replanMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

/** Texts counted towards `after` at most; the counts start over when full. */
const MAX_COUNTED = 1_000;

/**
 * node-postgres's record of the named statements a connection has parsed
 * (not in its types): it sends a Parse only for names missing from it.
 */
function parsedStatements(client: pg.PoolClient): Record<string, string> {
  const connection = (client as unknown as { connection?: { parsedStatements?: Record<string, string> } }).connection;
  return connection?.parsedStatements ?? {};
}

interface ClientState {
  /** When the connection's statements were last dropped (or it was first seen). */
  since: number;
}

/**
 * Wraps `pool` for Kysely's `PostgresDialect` so repeated statements run as
 * named (prepared) statements.
 *
 * @example
 * ```ts
 * const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparingPool(new pg.Pool(...)) }) });
 * ```
 */
export function preparingPool(pool: pg.Pool, options: PreparedStatementOptions = {}): PostgresPool {
  const nameOf = statementNamer(options.after ?? 100, options.max ?? 64);
  const replanMs = options.replanMs ?? 60_000;
  const now = options.now ?? Date.now;
  const states = new WeakMap<pg.PoolClient, ClientState>();

  async function checkOut(): Promise<{ client: pg.PoolClient; state: ClientState }> {
    const client = await pool.connect();
    let state = states.get(client);
    const parsed = parsedStatements(client);
    if (state === undefined) {
      state = { since: now() };
      states.set(client, state);
    } else if (now() - state.since >= replanMs && Object.keys(parsed).length > 0) {
      try {
        await client.query("deallocate all");
      } catch (error) {
        client.release(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
      for (const name of Object.keys(parsed)) delete parsed[name];
      state.since = now();
    }
    return { client, state };
  }

  return {
    async connect(): Promise<PostgresPoolClient> {
      const { client, state } = await checkOut();
      return {
        query(sqlOrCursor: string | PostgresCursor<unknown>, parameters?: readonly unknown[]) {
          if (typeof sqlOrCursor !== "string") return client.query(sqlOrCursor as unknown as pg.Submittable) as unknown;
          const values = parameters === undefined ? [] : [...parameters];
          const name = nameOf(sqlOrCursor);
          if (name === undefined) return client.query(sqlOrCursor, values);
          return client.query({ name, text: sqlOrCursor, values }).catch((error: unknown) => {
            if (planChanged(error)) state.since = Number.NEGATIVE_INFINITY;
            throw error;
          });
        },
        release: () => client.release(),
      } as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}

/** Postgres refusing a prepared statement whose result columns changed (SQLSTATE 0A000). */
function planChanged(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  return (
    e.code === "0A000" && typeof e.message === "string" && e.message.includes("cached plan must not change result type")
  );
}

/**
 * The name for a text, or undefined while it should run unnamed.
 *
 * @example
 * ```ts
 * const nameOf = statementNamer(3, 64);
 * nameOf(text); nameOf(text); nameOf(text) // → "weft_…" from the third call on
 * ```
 */
export function statementNamer(after: number, max: number): (text: string) => string | undefined {
  const names = new Map<string, string>();
  const counts = new Map<string, number>();
  return (text) => {
    const known = names.get(text);
    if (known !== undefined || names.size >= max) return known;
    const seen = (counts.get(text) ?? 0) + 1;
    if (seen < after) {
      if (counts.size >= MAX_COUNTED) counts.clear();
      counts.set(text, seen);
      return undefined;
    }
    counts.delete(text);
    const name = `weft_${createHash("sha1").update(text).digest("hex").slice(0, 24)}`;
    names.set(text, name);
    return name;
  };
}
