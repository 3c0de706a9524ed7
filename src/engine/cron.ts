/**
 * Cron schedules (`on.schedules`), computed with croner. Pure: the reference
 * time is always passed in.
 *
 * Accepted forms:
 * - standard 5 fields: `minute hour day-of-month month day-of-week`
 *   (`*`, lists, ranges, steps, `JAN`-`DEC`, `SUN`-`SAT`, 0 or 7 = Sunday, `L`);
 * - 6 fields with **seconds first**: `second minute hour dom month dow`
 *   (handy for tests that cannot wait a minute);
 * - croner nicknames: `@yearly`, `@monthly`, `@weekly`, `@daily`, `@hourly`;
 * - any of these prefixed by `TZ=<IANA zone> ` or `CRON_TZ=<IANA zone> `
 *   (e.g. `TZ=Europe/Paris 0 9 * * MON-FRI`). Without a prefix times are UTC.
 * Day-of-month and day-of-week combine with OR, as in Vixie cron.
 */
import { Cron } from "croner";

/** A cron string split into its pattern and optional time zone. */
export interface CronSpec {
  pattern: string;
  timezone?: string;
}

const PREFIX = /^(?:CRON_)?TZ=(\S*)\s+/;

/**
 * Splits an optional `TZ=` / `CRON_TZ=` prefix from the pattern. Does not
 * validate either part.
 *
 * @example
 * parseCronSpec("TZ=Europe/Paris 0 9 * * *"); // { pattern: "0 9 * * *", timezone: "Europe/Paris" }
 * parseCronSpec("*\/5 * * * *"); // { pattern: "*\/5 * * * *" }
 */
export function parseCronSpec(expr: string): CronSpec {
  const trimmed = expr.trim();
  const m = PREFIX.exec(trimmed);
  if (!m) return { pattern: trimmed };
  return { pattern: trimmed.slice(m[0].length).trim(), timezone: m[1]! };
}

function isValidZone(zone: string): boolean {
  if (zone === "") return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function cronFor(spec: CronSpec): Cron {
  return new Cron(spec.pattern, { paused: true, mode: "5-or-6-parts", timezone: spec.timezone ?? "UTC" });
}

function cleanMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/^Cron(?:Pattern|Date)?:\s*/, "");
}

/** A fixed reference instant, so checking never reads the clock. */
const CHECK_FROM = new Date("2000-01-01T00:00:00Z");

/**
 * Checks a cron string; returns a readable error or `undefined`. A schedule
 * that never fires (e.g. `0 0 30 2 *`) is an error too.
 *
 * @example
 * checkCron("*\/15 * * * *"); // undefined
 * checkCron("TZ=Mars/Olympus 0 9 * * *"); // 'unknown time zone "Mars/Olympus"'
 */
export function checkCron(expr: string): string | undefined {
  const spec = parseCronSpec(expr);
  if (spec.timezone !== undefined && !isValidZone(spec.timezone)) {
    return `unknown time zone ${JSON.stringify(spec.timezone)}`;
  }
  if (spec.pattern === "") return "empty cron pattern";
  const fields = spec.pattern.split(/\s+/).length;
  if (!spec.pattern.startsWith("@") && fields !== 5 && fields !== 6) {
    return `expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got ${fields}`;
  }
  try {
    if (cronFor(spec).nextRun(CHECK_FROM) === null) return "the schedule never fires";
  } catch (err) {
    return cleanMessage(err);
  }
  return undefined;
}

/**
 * The next `count` times strictly after `after` at which the schedule fires
 * (fewer if it stops firing). Throws on an invalid cron string; check it with
 * {@link checkCron} first.
 *
 * @example
 * nextCronTimes("0 * * * *", new Date("2024-01-01T10:30:00Z"), 2);
 * // [2024-01-01T11:00:00Z, 2024-01-01T12:00:00Z]
 */
export function nextCronTimes(expr: string, after: Date, count: number): Date[] {
  const problem = checkCron(expr);
  if (problem !== undefined) throw new Error(`invalid cron ${JSON.stringify(expr)}: ${problem}`);
  if (count <= 0) return [];
  return cronFor(parseCronSpec(expr)).nextRuns(count, after);
}

/** At most this many ticks are fired one by one after a pause; beyond it, only the latest. */
export const MAX_CATCH_UP_TICKS = 100;

/**
 * The ticks a scheduler should fire now. `handledUntil` is the time up to
 * which this schedule's ticks were already handled; `undefined` (a replica
 * that just started, or a schedule it has not seen) means "unknown", and the
 * catch-up policy applies: only the latest tick at or before `now`. With a
 * known `handledUntil`, every tick in `(handledUntil, now]`, oldest first —
 * unless there are more than {@link MAX_CATCH_UP_TICKS}, then again only the
 * latest.
 *
 * @example
 * dueTicks("0 * * * *", undefined, new Date("2024-01-01T10:30:00Z")); // [2024-01-01T10:00:00Z]
 * dueTicks("0 * * * *", new Date("2024-01-01T08:30:00Z"), new Date("2024-01-01T10:30:00Z"));
 * // [09:00, 10:00]
 */
export function dueTicks(expr: string, handledUntil: Date | undefined, now: Date): Date[] {
  const problem = checkCron(expr);
  if (problem !== undefined) throw new Error(`invalid cron ${JSON.stringify(expr)}: ${problem}`);
  const cron = cronFor(parseCronSpec(expr));
  const latest = () => {
    const [t] = cron.previousRuns(1, new Date(now.getTime() + 1));
    return t !== undefined && t.getTime() <= now.getTime() ? [t] : [];
  };
  if (handledUntil === undefined) return latest();
  const ticks = cron.nextRuns(MAX_CATCH_UP_TICKS + 1, handledUntil).filter((t) => t.getTime() <= now.getTime());
  return ticks.length > MAX_CATCH_UP_TICKS ? latest() : ticks;
}

/**
 * The first tick strictly after `after`, or undefined when the schedule
 * stops firing.
 *
 * @example
 * nextTick("* * * * * *", new Date("2024-01-01T00:00:00.400Z")); // 2024-01-01T00:00:01Z
 */
export function nextTick(expr: string, after: Date): Date | undefined {
  return nextCronTimes(expr, after, 1)[0];
}
