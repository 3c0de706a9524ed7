/**
 * Opaque keyset page tokens: base64url of the last key of the previous page.
 *
 * Decoding is strict (canonical base64url, and the key must look like a key of
 * the listing it belongs to), so a token cannot smuggle arbitrary text into a
 * query and a mangled one is reported as `InvalidPageTokenError`.
 */
import { InvalidPageTokenError } from "../types.js";

const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Workflow ids, as in the contract. */
export const WORKFLOW_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;
/** Run ids (lower-case UUIDs, as Postgres prints them). */
export const RUN_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Encodes the last key of a page.
 *
 * @example
 * ```ts
 * const next = encodePageToken(items.at(-1)!.id);
 * ```
 */
export function encodePageToken(lastKey: string): string {
  return Buffer.from(lastKey, "utf8").toString("base64url");
}

/**
 * Decodes a token made by `encodePageToken`; `undefined` and `""` mean the first page.
 *
 * @throws InvalidPageTokenError when the token is not one we made.
 * @example
 * ```ts
 * const after = decodePageToken(opts.pageToken, RUN_ID_PATTERN);
 * if (after !== undefined) query = query.where("id", "<", after);
 * ```
 */
export function decodePageToken(token: string | undefined, keyPattern: RegExp): string | undefined {
  if (token === undefined || token === "") return undefined;
  if (!BASE64URL.test(token)) throw new InvalidPageTokenError("page token is not base64url");
  const key = Buffer.from(token, "base64url").toString("utf8");
  if (encodePageToken(key) !== token || !keyPattern.test(key)) {
    throw new InvalidPageTokenError("page token is malformed");
  }
  return key;
}

/**
 * Clamps a requested page size to 1..1000 (callers apply their own default first).
 *
 * @example
 * ```ts
 * const limit = pageLimit(opts.pageSize); // fetch limit + 1 rows to detect a next page
 * ```
 */
export function pageLimit(pageSize: number): number {
  if (!Number.isFinite(pageSize)) return 1000;
  return Math.min(1000, Math.max(1, Math.floor(pageSize)));
}
