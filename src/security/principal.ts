/**
 * Who is calling: the key a request was authenticated with, put in connect's
 * context by the auth interceptor. Absent (the default value) when the
 * server runs without auth: then nothing is restricted.
 *
 * @example
 *   const caller = ctx.values.get(principalKey);
 *   if (caller && !allowsActions(caller, actions)) throw denied();
 */
import { createContextKey } from "@connectrpc/connect";
import type { Role } from "./roles.js";

export interface Principal {
  /** The key's public id (`bootstrap` for the key from WEFT_ADMIN_KEY). */
  keyId: string;
  role: Role;
  /** Worker keys: the actions they may serve. */
  actionPatterns: readonly string[];
}

export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "weft caller" });

/** The client's address (IPv4, IPv6, or "" when unknown), set by the HTTP layer; read on demand. */
export const peerKey = createContextKey<() => string>(() => "", { description: "weft client address" });
