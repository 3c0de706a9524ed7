/**
 * Friendly duration text ⇄ exact nanoseconds ⇄ proto JSON duration strings.
 *
 * Friendly forms: a number of seconds (`30`, `0.5`), a Go-style string of
 * one or more `<decimal><unit>` terms with units `ns`, `us`/`µs`, `ms`, `s`,
 * `m`, `h`, `d` (`500ms`, `1h30m`, `1.5s`), optionally signed, or a bare
 * decimal string of seconds (`"30"`). Arithmetic is done in `bigint`
 * nanoseconds, so `0.1s` stays exact.
 */
const UNIT_NANOS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  d: 86_400_000_000_000n,
};

const TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)/y;
const DECIMAL = /^(\d+)(?:\.(\d*))?$|^\.(\d+)$/;

/** `<int>.<frac>` × unit, truncated to whole nanoseconds. */
function decimalTimes(text: string, unit: bigint): bigint | undefined {
  const m = DECIMAL.exec(text);
  if (!m) return undefined;
  const whole = m[1] ?? "0";
  const frac = m[2] ?? m[3] ?? "";
  const scale = 10n ** BigInt(frac.length);
  return BigInt(whole) * unit + (BigInt(frac === "" ? "0" : frac) * unit) / scale;
}

/**
 * Parses a friendly duration into nanoseconds, or `undefined` when it is not
 * one. Numbers are seconds and must be finite.
 *
 * @example
 * parseDurationNanos("1h30m"); // 5_400_000_000_000n
 * parseDurationNanos(0.5); // 500_000_000n
 * parseDurationNanos("soon"); // undefined
 */
export function parseDurationNanos(value: unknown): bigint | undefined {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return undefined;
    const abs = decimalTimes(Math.abs(value).toFixed(9), UNIT_NANOS.s!);
    return abs === undefined ? undefined : value < 0 ? -abs : abs;
  }
  if (typeof value !== "string") return undefined;
  let text = value.trim();
  let sign = 1n;
  if (text.startsWith("-") || text.startsWith("+")) {
    if (text.startsWith("-")) sign = -1n;
    text = text.slice(1);
  }
  if (text === "") return undefined;
  const bare = decimalTimes(text, UNIT_NANOS.s!);
  if (bare !== undefined) return sign * bare;
  let total = 0n;
  TERM.lastIndex = 0;
  while (TERM.lastIndex < text.length) {
    const m = TERM.exec(text);
    if (!m) return undefined;
    total += decimalTimes(m[1]!, UNIT_NANOS[m[2]!]!)!;
  }
  return sign * total;
}

/**
 * Formats nanoseconds as a proto JSON duration: seconds with up to nine
 * fractional digits, trailing zeros dropped.
 *
 * @example
 * formatProtoDuration(500_000_000n); // "0.5s"
 * formatProtoDuration(300_000_000_000n); // "300s"
 */
export function formatProtoDuration(nanos: bigint): string {
  const negative = nanos < 0n;
  const abs = negative ? -nanos : nanos;
  const seconds = abs / 1_000_000_000n;
  const frac = (abs % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${seconds}${frac === "" ? "" : `.${frac}`}s`;
}

/**
 * Converts a friendly duration to milliseconds (a float for sub-millisecond
 * values), or `undefined` when it is not one.
 *
 * @example
 * parseDurationMs("1m"); // 60000
 * parseDurationMs("250us"); // 0.25
 */
export function parseDurationMs(value: unknown): number | undefined {
  const nanos = parseDurationNanos(value);
  return nanos === undefined ? undefined : Number(nanos) / 1e6;
}
