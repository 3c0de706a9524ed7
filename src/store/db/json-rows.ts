/**
 * Passing many rows to one statement as a single jsonb parameter.
 *
 * The hot statements read their rows with `jsonb_to_recordset(param)` (or
 * `jsonb_array_elements_text`): one bind parameter whatever the batch size
 * (no 65,535-parameter ceiling, no chunking), the same text on `pg` and on
 * PGlite (no driver-specific array encoding), and one parse on the server.
 *
 * `jsonb_to_recordset` reads a JSON `null` as SQL NULL, so a column that may
 * carry a JSON `null` value (step outputs, inputs) travels boxed as `{"v": x}`
 * and is unboxed with `-> 'v'`.
 */
import { sql, type RawBuilder } from "kysely";
import type { JsonValue } from "../../engine/model.js";

/** A boxed JSON value: `{ v: value }`, unboxed in SQL with `-> 'v'`. */
export interface Box {
  v: JsonValue;
}

/**
 * Boxes a value so JSON `null` survives `jsonb_to_recordset`.
 *
 * @example
 * ```ts
 * rows.push({ run_id, step_id, output: box(null) }); // SQL: v.output -> 'v' is jsonb 'null'
 * ```
 */
export function box(value: JsonValue): Box {
  return { v: value };
}

/**
 * The rows as one jsonb parameter (`cast($1 as jsonb)`). Values must be
 * JSON-safe: bigints as strings, no NUL characters in strings.
 *
 * @example
 * ```ts
 * await sql`select * from jsonb_to_recordset(${jsonRows(rows)}) as v(id uuid, n int)`.execute(trx);
 * ```
 */
export function jsonRows(rows: readonly object[]): RawBuilder<unknown> {
  return sql`cast(${JSON.stringify(rows)} as jsonb)`;
}

/**
 * `any(array(…))` of the given ids as `uuid`s, for `id = any(…)` with any
 * number of ids. Not `id in (select … from jsonb_array_elements_text(…))`:
 * the planner takes that function for 100 rows, and against a table of a
 * few thousand rows with stale statistics it chose a sequential scan plus a
 * hash join, so every completion read the whole `runs` and `step_runs`
 * tables, a cost growing with the table (docs/benchmarks.md#index-lookups).
 * `= any(array(subquery))` is an index scan on the
 * primary key whatever the statistics say.
 *
 * @example
 * ```ts
 * await trx.selectFrom("runs").selectAll().where("id", "=", anyUuid(ids)).execute();
 * ```
 */
export function anyUuid(ids: readonly string[]): RawBuilder<string> {
  return sql<string>`any(array(select cast(x as uuid) from jsonb_array_elements_text(cast(${JSON.stringify(ids)} as jsonb)) as t(x)))`;
}
