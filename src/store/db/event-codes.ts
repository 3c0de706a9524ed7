/**
 * The one-byte codes history rows keep for their event type and statuses
 * (migration 0012): the writers encode in SQL (`weft_code`, made from this
 * list by the migration), the reads decode here (`eventName`), so a read's
 * statement costs the planner nothing more per row than `select *`.
 * Codes are forever: a new name gets a new code (and a migration that
 * redefines `weft_code`/`weft_name`); test/integration/compact-rows.test.ts
 * checks both directions agree for every name.
 */

/** [name, code]: event types in lower case, run and step statuses in upper case. */
export const EVENT_CODES: readonly (readonly [string, string])[] = [
  ["RUN_STATUS", "r"],
  ["STEP_STATUS", "s"],
  ["STALE_RESULT", "x"],
  ["WEBHOOK", "w"],
  ["PENDING", "P"],
  ["QUEUED", "Q"],
  ["RUNNING", "R"],
  ["SUCCEEDED", "S"],
  ["FAILED", "F"],
  ["SKIPPED", "K"],
  ["CANCELLED", "C"],
  ["TIMED_OUT", "T"],
];

const NAMES = new Map(EVENT_CODES.map(([name, code]) => [code, name]));

/**
 * A column's name whichever way the row keeps it: its text (rows before
 * 0012), else the name of its code.
 *
 * @example
 * ```ts
 * eventName(null, "S"); // "SUCCEEDED"
 * ```
 */
export function eventName<T extends string>(text: T | null, code: string | null): T | null {
  if (text !== null) return text;
  return code === null ? null : ((NAMES.get(code) ?? null) as T | null);
}
