/**
 * API keys: `weft_<id>_<secret>`. The id (12 hex characters) is public — it
 * names the key in listings, logs and the audit trail; the secret (32 random
 * bytes, base64url) is shown once and only its SHA-256 is stored. With 256
 * bits of entropy a fast hash is as safe as a slow one and costs nothing per
 * request.
 *
 * @example
 *   const key = newApiKey();           // { id, secret: "weft_3f9a…_Qx…", sha256 }
 *   parseApiKey(key.secret)?.id;       // key.id
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const KEY_SHAPE = /^weft_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

/** A key as created: the whole secret exists only in this value. */
export interface NewApiKey {
  id: string;
  secret: string;
  sha256: Buffer;
}

/**
 * A fresh key.
 *
 * @example
 *   const { id, secret, sha256 } = newApiKey();
 */
export function newApiKey(): NewApiKey {
  const id = randomBytes(6).toString("hex");
  const secret = `weft_${id}_${randomBytes(32).toString("base64url")}`;
  return { id, secret, sha256: sha256(secret) };
}

/**
 * The id and hash of a presented key, or undefined when it does not have the
 * shape of a Weft key (then no lookup is needed to refuse it).
 *
 * @example
 *   parseApiKey("weft_0123456789ab_" + "A".repeat(43)); // { id: "0123456789ab", sha256 }
 *   parseApiKey("hunter2"); // undefined
 */
export function parseApiKey(text: string): { id: string; sha256: Buffer } | undefined {
  const m = KEY_SHAPE.exec(text);
  return m ? { id: m[1]!, sha256: sha256(text) } : undefined;
}

/** SHA-256 of a key's text. */
export function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/**
 * Compares two hashes in constant time (a length mismatch is simply false).
 *
 * @example
 *   sameHash(sha256(presented), row.secretSha256);
 */
export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
