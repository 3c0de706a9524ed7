/**
 * Turns an `Authorization` header into a `Principal`, or into a refusal that
 * helps the caller and reveals nothing else (an unknown key and a wrong
 * secret for a known id read the same).
 *
 * The truth about keys is in Postgres; each replica caches what it read for
 * `ttlMs` (1 s by default, so a revoked key is refused everywhere within 2 s
 * with no signal between replicas and nothing in Redis). Lookups of one id
 * in flight together share one query. A key whose shape is wrong is refused
 * without a lookup; an address that keeps failing is throttled
 * (`throttle.ts`) before any lookup, except of a key this replica has
 * already verified (its cached entry has the same hash and is not revoked,
 * however old): a good key works from a throttled address.
 *
 * @example
 *   const auth = createAuthenticator({ lookup: (id) => store.access.findKey(id), throttle });
 *   const result = await auth.authenticate(req.header.get("authorization"), peer);
 *   if (!result.ok) throw new ConnectError(result.message, Code.Unauthenticated);
 */
import { ALL_NAMESPACES } from "../engine/namespace.js";
import { parseApiKey, sameHash, sha256 } from "./api-key.js";
import type { Principal } from "./principal.js";
import type { Role } from "./roles.js";
import type { AuthThrottle } from "./throttle.js";

/** A key as the store holds it. */
export interface StoredKey {
  id: string;
  sha256: Uint8Array;
  role: Role;
  actionPatterns: readonly string[];
  namespaces: readonly string[];
  revoked: boolean;
}

export type AuthResult =
  { ok: true; principal: Principal } | { ok: false; throttled: boolean; message: string; keyId?: string };

export interface Authenticator {
  authenticate(header: string | null, peer: string): Promise<AuthResult>;
}

export interface AuthenticatorOptions {
  lookup: (id: string) => Promise<StoredKey | undefined>;
  throttle: AuthThrottle;
  /** The bootstrap admin key (WEFT_ADMIN_KEY): accepted as `admin`, id `bootstrap`. */
  adminKey?: string;
  /** How long a looked-up key (or its absence) is trusted (default 1000 ms). */
  ttlMs?: number;
  now?: () => number;
}

/** Longest header value looked at; a longer one is refused unread. */
const MAX_HEADER = 1024;
const PRINTABLE = /^[\x20-\x7e]*$/;
const BEARER = /^Bearer +([^ ]+) *$/i;
const MAX_CACHED = 10_000;

interface Cached {
  key: StoredKey | undefined;
  at: number;
}

/**
 * @example
 *   const auth = createAuthenticator({ lookup, throttle, adminKey: process.env.WEFT_ADMIN_KEY });
 */
export function createAuthenticator(opts: AuthenticatorOptions): Authenticator {
  const ttlMs = opts.ttlMs ?? 1000;
  const now = opts.now ?? Date.now;
  const adminHash = opts.adminKey === undefined ? undefined : sha256(opts.adminKey);
  const cache = new Map<string, Cached>();
  const inFlight = new Map<string, Promise<StoredKey | undefined>>();

  const lookup = async (id: string): Promise<StoredKey | undefined> => {
    const hit = cache.get(id);
    if (hit !== undefined && now() - hit.at < ttlMs) return hit.key;
    let pending = inFlight.get(id);
    if (pending === undefined) {
      pending = opts.lookup(id).finally(() => inFlight.delete(id));
      inFlight.set(id, pending);
    }
    const key = await pending;
    cache.delete(id);
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(id, { key, at: now() });
    return key;
  };

  const refuse = (peer: string, message: string, keyId?: string): AuthResult => {
    opts.throttle.failed(peer, now());
    return { ok: false, throttled: false, message, ...(keyId === undefined ? {} : { keyId }) };
  };

  return {
    async authenticate(header, peer) {
      const token = bearerToken(header);
      if (typeof token !== "string") return refuse(peer, token.problem);
      if (adminHash !== undefined && sameHash(sha256(token), adminHash)) {
        return {
          ok: true,
          principal: { keyId: "bootstrap", role: "admin", actionPatterns: [], namespaces: [ALL_NAMESPACES] },
        };
      }
      const parsed = parseApiKey(token);
      if (parsed === undefined) return refuse(peer, "this is not a Weft API key (they look like weft_<id>_<secret>)");
      const hit = cache.get(parsed.id);
      const fresh = hit !== undefined && now() - hit.at < ttlMs;
      // A key this replica has verified (same secret, not revoked) is not held back by its address's failures
      // (another client behind the same NAT); once stale it is looked up again, so a revocation still counts.
      const knownGood = hit?.key !== undefined && !hit.key.revoked && sameHash(parsed.sha256, hit.key.sha256);
      // Charged before the lookup and refunded when the key proves good: calls in flight together share the budget.
      const charged = !fresh && !knownGood;
      if (charged) {
        const wait = opts.throttle.take(peer, now());
        if (wait > 0) {
          return {
            ok: false,
            throttled: true,
            message: `too many failed authentications from this address; try again in ${wait} s`,
          };
        }
      }
      const key = fresh ? hit.key : await lookup(parsed.id);
      const fail = (message: string, keyId: string): AuthResult =>
        charged ? { ok: false, throttled: false, message, keyId } : refuse(peer, message, keyId);
      if (key === undefined || !sameHash(parsed.sha256, key.sha256)) {
        return fail(`unknown API key ${parsed.id}`, parsed.id);
      }
      if (key.revoked) return fail(`API key ${key.id} has been revoked`, key.id);
      if (charged) opts.throttle.refund(peer, now());
      const { id: keyId, role, actionPatterns, namespaces } = key;
      return { ok: true, principal: { keyId, role, actionPatterns, namespaces } };
    },
  };
}

/** The key in an `Authorization: Bearer <key>` header, or what is wrong with the header. */
function bearerToken(header: string | null): string | { problem: string } {
  if (header === null || header === "") {
    return { problem: "this server needs an API key: send the header `Authorization: Bearer <key>`" };
  }
  if (header.length > MAX_HEADER) {
    return { problem: `the Authorization header is ${header.length} characters long; a Weft key is 61` };
  }
  if (!PRINTABLE.test(header)) return { problem: "the Authorization header holds characters outside printable ASCII" };
  const m = BEARER.exec(header);
  if (m === null) return { problem: "the Authorization header must read `Bearer <key>`" };
  return m[1]!;
}
