/**
 * Request signing for webhooks (the `webhook` built-in and run webhooks):
 * `x-weft-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
 * the scheme Stripe popularised. A receiver recomputes the HMAC over the
 * timestamp it was sent and the raw body, compares in constant time, and
 * rejects old timestamps to stop replays.
 *
 * @example
 * ```ts
 * const headers = signatureHeaders(secret, body, new Date());
 * verifySignature(secret, body, headers["x-weft-signature"], new Date()); // true
 * ```
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-weft-signature";

/** The HMAC of `<t>.<body>` in hex. */
export function sign(secret: string, timestamp: number, body: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
}

/** Headers for a signed JSON POST. */
export function signatureHeaders(secret: string, body: string, now: Date): Record<string, string> {
  const t = Math.floor(now.getTime() / 1000);
  return { "content-type": "application/json", [SIGNATURE_HEADER]: `t=${t},v1=${sign(secret, t, body)}` };
}

/**
 * Checks a signature header against the body; false when it does not match
 * or its timestamp is more than `toleranceSec` away from `now`.
 */
export function verifySignature(
  secret: string,
  body: string,
  header: string | undefined,
  now: Date,
  toleranceSec = 300,
): boolean {
  const parts = Object.fromEntries((header ?? "").split(",").map((p) => p.split("=", 2) as [string, string]));
  const t = Number(parts.t);
  const v1 = parts.v1;
  if (!Number.isInteger(t) || typeof v1 !== "string" || Math.abs(now.getTime() / 1000 - t) > toleranceSec) return false;
  const expected = Buffer.from(sign(secret, t, body), "hex");
  const given = Buffer.from(v1, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
