/**
 * Writing jsonb values so that every JSON value round-trips.
 *
 * `pg` sends a JS string parameter as text, so the string `"hello"` would be
 * parsed by Postgres as the (invalid) JSON text `hello`; objects it would
 * stringify, but arrays it turns into Postgres array literals. Always sending
 * `JSON.stringify(value)` with an explicit `::jsonb` cast avoids all three
 * traps, and PGlite's json serialiser passes strings through unchanged.
 */
import { sql, type RawBuilder } from "kysely";

/**
 * A jsonb expression for any JSON value (including a bare string or `null`,
 * which becomes the JSON `null`, not SQL NULL).
 *
 * @example
 * ```ts
 * await db.insertInto("runs").values({ ..., input: jsonb("hello") }).execute();
 * ```
 */
export function jsonb<T>(value: T): RawBuilder<T> {
  return sql<T>`cast(${JSON.stringify(value)} as jsonb)`;
}

/**
 * A jsonb expression, or SQL NULL when the value is `undefined`.
 *
 * @example
 * ```ts
 * const error = optionalJsonb(failure); // NULL when failure is undefined
 * ```
 */
export function optionalJsonb<T>(value: T | undefined): RawBuilder<T> | null {
  return value === undefined ? null : jsonb(value);
}
