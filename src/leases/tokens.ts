/**
 * Checks and encodings both lease stores share: token range, TTL, the
 * `"<token>:<workerId>"` holder value.
 *
 * @example
 * ```ts
 * const want = tokenFloor(item.minToken); // 0n, or minToken + 1n
 * const value = holderValue(token, workerId); // "42:worker-7"
 * const { token, workerId } = parseHolder(value);
 * ```
 */

/**
 * Tokens stay at or below 2^53 - 1: exact as Lua numbers (doubles) in the
 * Redis scripts and as JSON numbers. At a million leases a second that
 * lasts 285 years.
 *
 * @example
 * ```ts
 * if (lastToken >= MAX_LEASE_TOKEN) throw new Error("token space exhausted");
 * ```
 */
export const MAX_LEASE_TOKEN = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The lowest token a grant may get: `minToken + 1`, at least 0. Throws
 * `RangeError` when that would pass `MAX_LEASE_TOKEN`.
 *
 * @example
 * ```ts
 * tokenFloor(undefined); // 0n
 * tokenFloor(41n); // 42n
 * ```
 */
export function tokenFloor(minToken: bigint | undefined): bigint {
  if (minToken === undefined || minToken < 0n) return 0n;
  if (minToken >= MAX_LEASE_TOKEN) throw new RangeError(`lease minToken ${minToken} is at or above ${MAX_LEASE_TOKEN}`);
  return minToken + 1n;
}

/**
 * A lease TTL as whole milliseconds (fractions round up). Throws
 * `RangeError` unless it is a finite number above zero.
 *
 * @example
 * ```ts
 * leaseTtl(1500.2); // 1501
 * ```
 */
export function leaseTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0)
    throw new RangeError(`lease ttlMs must be a positive number, got ${ttlMs}`);
  return Math.ceil(ttlMs);
}

/**
 * The value stored for a lease: token first (digits only), so the first `:`
 * splits it from the worker id, which may hold any character.
 *
 * @example
 * ```ts
 * holderValue(42n, "w-1"); // "42:w-1"
 * ```
 */
export function holderValue(token: bigint, workerId: string): string {
  return `${token}:${workerId}`;
}

/**
 * Reads a `holderValue` back.
 *
 * @example
 * ```ts
 * parseHolder("42:w:1"); // { token: 42n, workerId: "w:1" }
 * ```
 */
export function parseHolder(value: string): { token: bigint; workerId: string } {
  const colon = value.indexOf(":");
  if (colon <= 0) throw new Error(`malformed lease value ${JSON.stringify(value)}`);
  return { token: BigInt(value.slice(0, colon)), workerId: value.slice(colon + 1) };
}
